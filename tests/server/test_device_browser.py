"""The browser sign-in in a real browser: Debian's Chromium, headless, driven by Playwright.

``keybroker connect --url URL --no-browser`` waits in a subprocess while Chromium
signs in, enters the code it printed and approves or denies. The pages run with
JavaScript disabled (they need none). With ``KEYBROKER_SCREENSHOT_DIR`` set, the
page test writes the screenshots shown in the docs there
(``scripts/capture_device_pages.sh`` refreshes them).
"""

from __future__ import annotations

import json
import os
import re
import socket
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from playwright.sync_api import Browser, BrowserContext, Page, expect, sync_playwright

from peers.device_flow import poll, start, start_connect
from peers.keybroker_server import ADMIN_PASSWORD, RunningServer, keybroker, start_server

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking"]
USER, PASSWORD = "alice", "alice-password-for-tests"
SCREENSHOTS = os.environ.get("KEYBROKER_SCREENSHOT_DIR")


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RunningServer]:
    running = start_server(
        tmp_path_factory.mktemp("browser"),
        extra_env={"KEYBROKER_SERVER_DEVICE_POLL_INTERVAL_SECONDS": "1"},
    )
    admin = running.sign_in("admin", ADMIN_PASSWORD)
    status, _, body = running.request(
        "POST", "/api/v1/users", {"name": USER, "password": PASSWORD}, admin
    )
    assert status == 201, body
    try:
        yield running
    finally:
        running.stop()


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    if not Path(CHROMIUM).exists():
        pytest.fail(f"{CHROMIUM} is missing: install Debian's chromium (bash .ci/install-peers)")
    with sync_playwright() as playwright:
        launched = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        try:
            yield launched
        finally:
            launched.close()


@pytest.fixture
def context(browser: Browser) -> Iterator[BrowserContext]:
    """A fresh browser profile with JavaScript off: the pages must work without it."""
    created = browser.new_context(java_script_enabled=False, viewport={"width": 800, "height": 720})
    try:
        yield created
    finally:
        created.close()


def _cli_env() -> dict[str, str]:
    """The test's environment without a display: connect must not try to open a browser."""
    env = dict(os.environ)
    for name in ("DISPLAY", "WAYLAND_DISPLAY", "BROWSER"):
        env.pop(name, None)
    return env


def _sign_in(page: Page, username: str = USER, password: str = PASSWORD) -> None:
    expect(page.get_by_role("heading", name="Sign in")).to_be_visible()
    page.get_by_label("User name").fill(username)
    page.get_by_label("Password").fill(password)
    page.get_by_role("button", name="Sign in").click()


def _shoot(page: Page, name: str) -> None:
    if SCREENSHOTS:
        Path(SCREENSHOTS).mkdir(parents=True, exist_ok=True)
        page.screenshot(path=str(Path(SCREENSHOTS) / f"device-{name}.png"))


def _devices() -> list[dict[str, object]]:
    result = keybroker("authorized-device", "list", "-o", "json")
    assert result.returncode == 0, result.stderr
    return list(json.loads(result.stdout))


def test_a_trusted_device_connects_and_locking_it_ends_its_access(
    server: RunningServer, context: BrowserContext
) -> None:
    waiting = start_connect(server.url, _cli_env())
    try:
        page = context.new_page()
        page.goto(waiting.verification_uri_complete)
        _sign_in(page)
        # the code from the link is filled in; the person checks it and goes on
        expect(page.get_by_label("Code")).to_have_value(waiting.user_code)
        page.get_by_role("button", name="Continue").click()
        expect(page.get_by_role("heading", name="Approve this device?")).to_be_visible()
        details = page.locator("dl").inner_text()
        assert socket.gethostname() in details
        assert "127.0.0.1" in details
        assert "keybroker-cli 0.1.0" in details
        expect(page.locator(".code")).to_have_text(waiting.user_code)
        page.get_by_label("Trust this device").check()
        page.get_by_role("button", name="Approve").click()
        expect(page.get_by_role("heading", name="Device approved")).to_be_visible()
        expect(page.get_by_role("status")).to_contain_text("for 30 days (a trusted device)")
        code, out, err = waiting.finish()
    finally:
        waiting.stop()
    assert code == 0, err
    assert f"Connected to {server.url} as {USER} from a trusted device" in out
    assert "in 29d23h" in out

    [device] = _devices()
    assert device["user"] == USER
    assert device["trusted"] is True
    assert device["locked"] is False
    assert device["current"] is True
    expires = datetime.fromisoformat(str(device["expires_at"]))
    assert abs(expires - (datetime.now(UTC) + timedelta(days=30))) < timedelta(minutes=2)
    table = keybroker("authorized-device", "list").stdout
    assert "29d23h" in table and "(this device)" in table
    status = keybroker("status")
    assert status.returncode == 0, status.stderr
    assert re.search(r"^Device:\s+\S+ \(trusted; id ", status.stdout, re.M), status.stdout

    locked = keybroker("authorized-device", "lock", str(device["id"]))
    assert locked.returncode == 0, locked.stderr
    refused = keybroker("authorized-device", "list")
    assert refused.returncode == 1
    assert refused.stderr.strip() == (
        f"Error: this device was locked on {server.url}; run 'keybroker connect --url "
        f"{server.url}' to authorize it again"
    )


def test_a_denied_request_connects_nothing(server: RunningServer, context: BrowserContext) -> None:
    waiting = start_connect(server.url, _cli_env())
    try:
        page = context.new_page()
        page.goto(waiting.verification_uri)  # the plain URL: the code is typed in
        _sign_in(page)
        page.get_by_label("Code").fill(waiting.user_code.lower().replace("-", ""))
        page.get_by_role("button", name="Continue").click()
        page.get_by_role("button", name="Deny").click()
        expect(page.get_by_role("heading", name="Request denied")).to_be_visible()
        code, _out, err = waiting.finish()
    finally:
        waiting.stop()
    assert code == 1
    assert "Error: the request was denied in the browser; this device was not connected" in err
    assert not (Path(os.environ["KEYBROKER_CONFIG_DIR"]) / "server-session.json").exists()


def test_an_untrusted_device_gets_a_day(server: RunningServer, context: BrowserContext) -> None:
    waiting = start_connect(server.url, _cli_env())
    try:
        page = context.new_page()
        page.goto(waiting.verification_uri_complete)
        _sign_in(page)
        page.get_by_role("button", name="Continue").click()
        expect(page.get_by_label("Trust this device")).not_to_be_checked()
        page.get_by_role("button", name="Approve").click()
        expect(page.get_by_role("status")).to_contain_text("for 24 hours.")
        code, out, err = waiting.finish()
    finally:
        waiting.stop()
    assert code == 0, err
    assert "from a device; access expires" in out
    [device] = [d for d in _devices() if d["current"]]
    assert device["trusted"] is False
    expires = datetime.fromisoformat(str(device["expires_at"]))
    assert abs(expires - (datetime.now(UTC) + timedelta(hours=24))) < timedelta(minutes=2)


def test_forms_without_the_sessions_csrf_token_are_refused(
    server: RunningServer, context: BrowserContext, browser: Browser
) -> None:
    started = start(server.url, hostname="victim")
    page = context.new_page()
    page.goto(server.url + "/device")
    _sign_in(page)
    expect(page.get_by_role("heading", name="Connect a device")).to_be_visible()
    decision = {"user_code": started["user_code"], "decision": "approve", "trust": "yes"}
    # the signed-in browser's own cookies, but no token or a wrong one
    for extra in ({}, {"csrf_token": "A" * 43}):
        answer = page.request.post(server.url + "/device/decision", form={**decision, **extra})
        assert answer.status == 403
        assert "This form has expired or did not come from this site" in answer.text()
    # a page of another site posting the form through the browser
    evil = context.new_page()
    evil.set_content(
        f'<form method="post" action="{server.url}/device/decision">'
        + "".join(f'<input type="hidden" name="{k}" value="{v}">' for k, v in decision.items())
        + '<button id="go">win a prize</button></form>'
    )
    evil.click("#go")
    expect(evil.get_by_role("heading", name="Form expired")).to_be_visible()
    # nothing was approved: the device still waits, and the real form still works
    status, body = poll(server.url, started["device_code"])
    assert (status, body["error"]) == (400, "authorization_pending")
    page.get_by_label("Code").fill(started["user_code"])
    page.get_by_role("button", name="Continue").click()
    page.get_by_role("button", name="Deny").click()
    expect(page.get_by_role("heading", name="Request denied")).to_be_visible()


def test_the_pages_escape_what_the_device_says_and_keep_their_focus_order(
    server: RunningServer, browser: Browser
) -> None:
    """Also the screenshots of the docs (KEYBROKER_SCREENSHOT_DIR)."""
    started = start(
        server.url, hostname="alice-laptop", os="macOS 15.1 arm64", client_version="0.1.0"
    )
    context = browser.new_context(viewport={"width": 800, "height": 720})
    try:
        page = context.new_page()
        violations: list[str] = []
        page.on("console", lambda message: violations.append(message.text))
        page.goto(started["verification_uri_complete"])
        assert page.evaluate("document.activeElement.id") == "username"
        _shoot(page, "sign-in")
        page.get_by_label("User name").fill(USER)
        page.keyboard.press("Tab")
        assert page.evaluate("document.activeElement.id") == "password"
        page.keyboard.type(PASSWORD)
        page.keyboard.press("Enter")
        expect(page.get_by_role("heading", name="Connect a device")).to_be_visible()
        assert page.evaluate("document.activeElement.id") == "user_code"
        _shoot(page, "code")
        page.keyboard.press("Enter")
        expect(page.get_by_role("heading", name="Approve this device?")).to_be_visible()
        expect(page.locator("dl dd").first).to_have_text("alice-laptop")
        _shoot(page, "confirm")
        # keyboard order: trust, approve, deny, then sign out
        order = []
        for _ in range(4):
            page.keyboard.press("Tab")
            order.append(
                page.evaluate("document.activeElement.id || document.activeElement.textContent")
            )
        assert order == ["trust", "Approve", "Deny", "Sign out"]
        page.get_by_label("Trust this device").check()
        page.get_by_role("button", name="Approve").click()
        expect(page.get_by_role("heading", name="Device approved")).to_be_visible()
        _shoot(page, "approved")

        # what a device says about itself is text, never markup
        hostile = '<img src=x onerror="document.title=1">evil-box'
        other = start(server.url, hostname=hostile, os="<b>Linux</b>")
        page.goto(other["verification_uri_complete"])
        page.get_by_role("button", name="Continue").click()
        expect(page.locator("dl dd").first).to_have_text(hostile)
        expect(page.locator("dl dd").nth(1)).to_have_text("<b>Linux</b>")
        assert page.locator("dl img, dl b").count() == 0
        assert page.title() == "Approve this device? - keybroker"
        page.get_by_role("button", name="Deny").click()
        expect(page.get_by_role("heading", name="Request denied")).to_be_visible()
        _shoot(page, "denied")
        assert not [v for v in violations if "Content Security Policy" in v], violations

        response = page.goto(server.url + "/device")
        assert response is not None
        headers = response.headers
        assert "frame-ancestors 'none'" in headers["content-security-policy"]
        assert headers["x-frame-options"] == "DENY"
        cookie = next(c for c in context.cookies() if c["name"] == "keybroker_device")
        assert cookie["httpOnly"] is True
        assert cookie["sameSite"] == "Lax"
        page.get_by_role("button", name="Sign out").click()
        expect(page.get_by_role("heading", name="Sign in")).to_be_visible()
        expect(page.get_by_role("status")).to_have_text("You are signed out.")
    finally:
        context.close()


def test_screenshots_are_in_the_docs() -> None:
    """The docs page shows the screenshots this module takes."""
    docs = Path(__file__).resolve().parents[2] / "docs" / "user-guide"
    page = (docs / "connecting.md").read_text()
    for name in ("sign-in", "code", "confirm", "approved", "denied"):
        assert f"img/device-{name}.png" in page
        assert (docs / "img" / f"device-{name}.png").stat().st_size > 5000
