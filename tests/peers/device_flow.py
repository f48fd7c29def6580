"""Driving the device flow over plain HTTP: the OAuth endpoints (RFC 8628) as a client
sends them, and the device pages as a browser without JavaScript would (cookies, forms
and their CSRF tokens). The browser tests use real Chromium instead."""

from __future__ import annotations

import http.cookiejar
import json
import re
import subprocess
import sys
import time
import urllib.error
import urllib.parse
import urllib.request
from dataclasses import dataclass, field
from typing import Any

CLIENT_ID = "keybroker-cli"
GRANT = "urn:ietf:params:oauth:grant-type:device_code"
AUTHORIZE = "/api/v1/oauth/device-authorization"
TOKEN = "/api/v1/oauth/token"
_CSRF = re.compile(r'name="csrf_token" value="([^"]*)"')


def post_form(
    url: str, fields: dict[str, str] | list[tuple[str, str]], headers: dict[str, str] | None = None
) -> tuple[int, dict[str, str], Any]:
    """POST a form; the status, lower-case headers and decoded JSON."""
    request = urllib.request.Request(
        url, data=urllib.parse.urlencode(fields).encode(), method="POST"
    )
    request.add_header("Content-Type", "application/x-www-form-urlencoded")
    for name, value in (headers or {}).items():
        request.add_header(name, value)
    try:
        with urllib.request.urlopen(request, timeout=30) as response:
            status, found, payload = response.status, dict(response.headers), response.read()
    except urllib.error.HTTPError as error:
        status, found, payload = error.code, dict(error.headers), error.read()
    return (
        status,
        {k.lower(): v for k, v in found.items()},
        json.loads(payload) if payload else None,
    )


def start(base: str, **device: str) -> dict[str, Any]:
    """A device authorization for ``keybroker-cli``; fails the test unless it is granted."""
    status, _, body = post_form(base + AUTHORIZE, {"client_id": CLIENT_ID, **device})
    assert status == 200, body
    return dict(body)


def poll(base: str, device_code: str, client_id: str = CLIENT_ID) -> tuple[int, dict[str, Any]]:
    """One token request; the status and the JSON answer."""
    status, _, body = post_form(
        base + TOKEN, {"grant_type": GRANT, "device_code": device_code, "client_id": client_id}
    )
    return status, body


@dataclass
class PageVisitor:
    """The device pages through a cookie jar, as a browser without JavaScript uses them."""

    base: str
    jar: http.cookiejar.CookieJar = field(default_factory=http.cookiejar.CookieJar)
    last_page: str = ""

    def _open(self, request: urllib.request.Request) -> tuple[int, dict[str, str], str]:
        opener = urllib.request.build_opener(urllib.request.HTTPCookieProcessor(self.jar))
        try:
            with opener.open(request, timeout=30) as response:
                status, found, payload = response.status, dict(response.headers), response.read()
        except urllib.error.HTTPError as error:
            status, found, payload = error.code, dict(error.headers), error.read()
        self.last_page = payload.decode()
        return status, {k.lower(): v for k, v in found.items()}, self.last_page

    def get(self, path: str) -> tuple[int, dict[str, str], str]:
        """GET a page."""
        return self._open(urllib.request.Request(self.base + path))

    def post(self, path: str, fields: dict[str, str]) -> tuple[int, dict[str, str], str]:
        """POST a form (redirects are followed, as a browser would)."""
        request = urllib.request.Request(
            self.base + path, data=urllib.parse.urlencode(fields).encode(), method="POST"
        )
        request.add_header("Content-Type", "application/x-www-form-urlencoded")
        return self._open(request)

    def csrf(self) -> str:
        """The CSRF token of the last page's forms."""
        match = _CSRF.search(self.last_page)
        assert match, self.last_page[-2000:]
        return match.group(1)

    def sign_in(self, username: str, password: str, user_code: str = "") -> int:
        """Open the pages and sign in; the final status."""
        self.get("/device" + (f"?user_code={urllib.parse.quote(user_code)}" if user_code else ""))
        status, _, _ = self.post(
            "/device/sign-in",
            {
                "csrf_token": self.csrf(),
                "username": username,
                "password": password,
                "user_code": user_code,
            },
        )
        return status

    def enter_code(self, user_code: str) -> int:
        """Type a user code into the code form; the status of the answer."""
        if 'name="csrf_token"' not in self.last_page:
            self.get("/device")
        return self.post("/device", {"csrf_token": self.csrf(), "user_code": user_code})[0]

    def decide(self, user_code: str, *, approve: bool, trust: bool = False) -> int:
        """Enter a code and approve or deny it; the status of the last answer."""
        status = self.enter_code(user_code)
        if status != 200:
            return status
        fields = {
            "csrf_token": self.csrf(),
            "user_code": user_code,
            "decision": "approve" if approve else "deny",
        }
        if trust:
            fields["trust"] = "yes"
        return self.post("/device/decision", fields)[0]


def approve(
    base: str, username: str, password: str, user_code: str, *, trust: bool = False
) -> None:
    """Sign in on the pages and approve ``user_code``; fails the test otherwise."""
    visitor = PageVisitor(base)
    assert visitor.sign_in(username, password) == 200, visitor.last_page[-1500:]
    assert visitor.decide(user_code, approve=True, trust=trust) == 200, visitor.last_page[-1500:]
    assert "Device approved" in visitor.last_page


def device_token(
    base: str, username: str, password: str, *, trust: bool = False, **device: str
) -> str:
    """A device token of ``username`` through the whole flow over HTTP."""
    started = start(base, **device)
    approve(base, username, password, started["user_code"], trust=trust)
    status, body = poll(base, started["device_code"])
    assert status == 200, body
    return str(body["access_token"])


@dataclass
class WaitingConnect:
    """``keybroker connect --url URL --no-browser`` running, waiting for an approval."""

    process: subprocess.Popen[str]
    user_code: str
    verification_uri: str
    verification_uri_complete: str
    output: list[str]

    def finish(self, timeout: float = 60) -> tuple[int, str, str]:
        """Wait for the command; its exit code, stdout and everything it printed on stderr."""
        out, err = self.process.communicate(timeout=timeout)
        return self.process.returncode, out, "".join(self.output) + err

    def stop(self) -> None:
        """End the command if it still runs."""
        if self.process.poll() is None:
            self.process.kill()
            self.process.communicate(timeout=10)


def start_connect(
    url: str, env: dict[str, str], *extra: str, browser: bool = False
) -> WaitingConnect:
    """Start ``keybroker connect`` (``--no-browser`` unless ``browser``) and read the code it
    shows from its stderr."""
    flags = [] if browser else ["--no-browser"]
    process = subprocess.Popen(
        [sys.executable, "-m", "keybroker", "connect", "--url", url, *flags, *extra],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        stdin=subprocess.DEVNULL,
        text=True,
        env=env,
    )
    assert process.stderr is not None
    lines: list[str] = []
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        text = process.stderr.readline()
        if not text:
            break
        lines.append(text)
        if text.startswith("Waiting for the approval"):
            break
    shown = "".join(lines)
    code = re.search(r"^\s{4}([A-Z]{4}-[A-Z]{4})$", shown, re.M)
    uri = re.search(r"^\s{4}(http\S+)$", shown, re.M)
    complete = re.search(r"(?:Or open|Opened) (http\S+?user_code=[A-Z]{4}-[A-Z]{4})", shown)
    if not (code and uri and complete):
        process.kill()
        out, err = process.communicate(timeout=10)
        raise AssertionError(f"connect showed no code:\n{shown}{err}\n{out}")
    return WaitingConnect(process, code.group(1), uri.group(1), complete.group(1), lines)
