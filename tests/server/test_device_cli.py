"""``keybroker connect --url`` (browser sign-in) and ``keybroker authorized-device`` as a user
runs them: real CLI processes against a real server; the person's side over plain HTTP."""

from __future__ import annotations

import json
import os
import signal
import stat
from collections.abc import Iterator
from pathlib import Path

import pytest

from peers.device_flow import PageVisitor, approve, device_token, start_connect
from peers.keybroker_server import (
    ADMIN_PASSWORD,
    RunningServer,
    connect,
    keybroker,
    keybroker_json,
    start_server,
)

PASSWORD = "device-cli-user-password"


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RunningServer]:
    running = start_server(
        tmp_path_factory.mktemp("device-cli"),
        extra_env={
            "KEYBROKER_SERVER_DEVICE_POLL_INTERVAL_SECONDS": "1",
            "KEYBROKER_SERVER_DEVICE_CODE_SECONDS": "20",
        },
    )
    admin = running.sign_in("admin", ADMIN_PASSWORD)
    for name in ("bob", "carol"):
        status, _, body = running.request(
            "POST", "/api/v1/users", {"name": name, "password": PASSWORD}, admin
        )
        assert status == 201, body
    try:
        yield running
    finally:
        running.stop()


def _env(**extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k not in ("DISPLAY", "WAYLAND_DISPLAY")}
    env.pop("BROWSER", None)
    env.update(extra)
    return env


def _session() -> dict[str, object]:
    path = Path(os.environ["KEYBROKER_CONFIG_DIR"]) / "server-session.json"
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    return dict(json.loads(path.read_text()))


def _connect_as(server: RunningServer, name: str, *, trust: bool = False) -> None:
    waiting = start_connect(server.url, _env())
    try:
        approve(server.url, name, PASSWORD, waiting.user_code, trust=trust)
        code, _out, err = waiting.finish()
    finally:
        waiting.stop()
    assert code == 0, err


def test_connect_stores_a_device_session(server: RunningServer) -> None:
    waiting = start_connect(server.url, _env())
    try:
        assert waiting.verification_uri == server.url + "/device"
        assert waiting.verification_uri_complete.endswith(f"?user_code={waiting.user_code}")
        assert "expires in 20s" in "".join(waiting.output)
        approve(server.url, "bob", PASSWORD, waiting.user_code)
        code, out, err = waiting.finish()
    finally:
        waiting.stop()
    assert code == 0, err
    assert out.startswith(f"Connected to {server.url} as bob from a device; access expires ")
    session = _session()
    assert session["url"] == server.url
    assert session["username"] == "bob"
    assert str(session["token"]).startswith("kbd_")
    assert session["expires_at"]
    status = keybroker_json("status")
    assert status["credential"] == "device"
    assert status["device"]["trusted"] is False
    assert status["device"]["current"] is True


def test_users_see_their_own_devices_and_admins_everyones(
    server: RunningServer, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    _connect_as(server, "carol", trust=True)
    [mine] = keybroker_json("authorized-device", "list")
    assert mine["user"] == "carol"
    assert mine["trusted"] is True
    assert mine["client_version"] == "0.1.0"
    assert mine["ip_address"] == "127.0.0.1"
    assert keybroker_json("authorized-device", "describe", mine["id"])["id"] == mine["id"]
    yaml_text = keybroker("authorized-device", "describe", mine["id"], "-o", "yaml").stdout
    assert f"id: {mine['id']}" in yaml_text
    # bob's device is not carol's to see, lock or delete: "not found", as if it did not exist
    bob_token = device_token(server.url, "bob", PASSWORD)
    _status, _, bob_device = server.request("GET", "/api/v1/auth/whoami", token=bob_token)
    bob_device_id = bob_device["device_id"]
    for args in (("describe",), ("lock",), ("delete",)):
        result = keybroker("authorized-device", *args, bob_device_id)
        assert result.returncode == 2, result.stderr
        assert "no device with the id" in result.stderr
    refused = keybroker("authorized-device", "list", "--user", "bob")
    assert refused.returncode == 1
    assert "only an admin may list other users' devices" in refused.stderr
    # the admin (another client configuration: connecting would sign carol's device out)
    # sees both, and may filter
    monkeypatch.setenv("KEYBROKER_CONFIG_DIR", str(tmp_path / "admin-config"))
    connect(server, "admin", ADMIN_PASSWORD)
    users = {d["user"] for d in keybroker_json("authorized-device", "list")}
    assert {"bob", "carol"} <= users
    only_bob = keybroker_json("authorized-device", "list", "--user", "bob")
    assert {d["user"] for d in only_bob} == {"bob"}
    table = keybroker("authorized-device", "list").stdout
    for column in ("ID", "USER", "HOSTNAME", "TRUSTED", "LOCKED", "EXPIRES IN", "LAST USED"):
        assert column in table


def test_lock_unlock_and_delete(server: RunningServer) -> None:
    token = device_token(server.url, "bob", PASSWORD, hostname="bobs-box")
    device_id = server.request("GET", "/api/v1/auth/whoami", token=token)[2]["device_id"]
    _connect_as(server, "bob")  # another device of bob's manages this one
    locked = keybroker("authorized-device", "lock", device_id)
    assert locked.returncode == 0, locked.stderr
    assert f"Locked the device {device_id} (bobs-box)" in locked.stdout
    status, _, body = server.request("GET", "/api/v1/auth/whoami", token=token)
    assert (status, body["error"]["code"]) == (401, "device_locked")
    assert keybroker_json("authorized-device", "describe", device_id)["locked"] is True
    unlocked = keybroker("authorized-device", "unlock", device_id)
    assert unlocked.returncode == 0, unlocked.stderr
    assert server.request("GET", "/api/v1/auth/whoami", token=token)[0] == 200
    described = keybroker_json("authorized-device", "describe", device_id)
    assert described["last_used"] is not None
    deleted = keybroker("authorized-device", "delete", device_id)
    assert deleted.returncode == 0, deleted.stderr
    assert server.request("GET", "/api/v1/auth/whoami", token=token)[0] == 401
    missing = keybroker("authorized-device", "describe", device_id)
    assert missing.returncode == 2
    malformed = keybroker("authorized-device", "lock", "../../users/admin")
    assert malformed.returncode == 2
    assert malformed.stderr == (
        "Error: '../../users/admin' is not a device id; 'keybroker authorized-device list' "
        "shows them\n"
    )


def test_disconnect_forgets_the_device_and_reconnecting_replaces_it(
    server: RunningServer,
) -> None:
    _connect_as(server, "carol")
    first = keybroker_json("status")["device"]["id"]
    _connect_as(server, "carol")
    second = keybroker_json("status")["device"]["id"]
    ids = {d["id"] for d in keybroker_json("authorized-device", "list")}
    assert second in ids
    assert first not in ids  # the previous token was signed out, its device forgotten
    assert keybroker("disconnect").returncode == 0
    connect(server, "admin", ADMIN_PASSWORD)
    everyone = {d["id"] for d in keybroker_json("authorized-device", "list", "--user", "carol")}
    assert second not in everyone


def test_every_step_is_in_the_audit_log(server: RunningServer) -> None:
    _connect_as(server, "carol")
    device_id = keybroker_json("status")["device"]["id"]
    keybroker("authorized-device", "lock", device_id)
    connect(server, "admin", ADMIN_PASSWORD)
    assert keybroker("authorized-device", "unlock", device_id).returncode == 0
    assert keybroker("authorized-device", "delete", device_id).returncode == 0
    visitor = PageVisitor(server.url)
    assert visitor.sign_in("carol", "not-her-password") == 400
    entries = keybroker_json("audit", "list", "--limit", "200")
    actions = {(e["action"], e["outcome"], e["actor"]) for e in entries}
    for expected in [
        ("device.authorization_request", "success", "anonymous"),
        ("auth.web_sign_in", "success", "carol"),
        ("auth.web_sign_in", "failed", "carol"),
        ("device.approve", "success", "carol"),
        ("auth.device_token", "success", "carol"),
        ("device.lock", "success", "carol"),
        ("device.unlock", "success", "admin"),
        ("device.delete", "success", "admin"),
    ]:
        assert expected in actions, expected
    approval = next(e for e in entries if e["action"] == "device.approve")
    assert approval["credential_kind"] == "web"
    assert "host '" in approval["detail"]


def test_outcomes_are_worded_for_people(server: RunningServer, tmp_path: Path) -> None:
    # denied
    waiting = start_connect(server.url, _env())
    try:
        visitor = PageVisitor(server.url)
        assert visitor.sign_in("bob", PASSWORD) == 200
        assert visitor.decide(waiting.user_code, approve=False) == 200
        code, _out, err = waiting.finish()
    finally:
        waiting.stop()
    assert code == 1
    assert err.endswith(
        "Error: the request was denied in the browser; this device was not connected\n"
    )
    # Ctrl-C while waiting
    waiting = start_connect(server.url, _env())
    try:
        waiting.process.send_signal(signal.SIGINT)
        code, _out, err = waiting.finish()
    finally:
        waiting.stop()
    assert code == 130
    assert "Stopped waiting: this device was not connected." in err
    assert "Traceback" not in err
    # --password-stdin without --username
    bad = keybroker("connect", "--url", server.url, "--password-stdin")
    assert bad.returncode == 2
    assert "--password-stdin needs --username" in bad.stderr


def test_an_unapproved_code_expires(tmp_path_factory: pytest.TempPathFactory) -> None:
    short = start_server(
        tmp_path_factory.mktemp("short"),
        extra_env={
            "KEYBROKER_SERVER_DEVICE_POLL_INTERVAL_SECONDS": "1",
            "KEYBROKER_SERVER_DEVICE_CODE_SECONDS": "2",
        },
    )
    try:
        waiting = start_connect(short.url, _env())
        try:
            code, _out, err = waiting.finish()
        finally:
            waiting.stop()
    finally:
        short.stop()
    assert code == 1
    assert "Error: the code expired before the request was approved; run 'keybroker connect' " in (
        err
    )


def test_the_browser_opens_only_where_there_is_a_display(
    server: RunningServer, tmp_path: Path
) -> None:
    opened = tmp_path / "opened.txt"
    fake_browser = tmp_path / "fake-browser"
    fake_browser.write_text(f'#!/bin/sh\necho "$1" >> {opened}\n')
    fake_browser.chmod(0o755)
    # no display: never tried (a text browser would take over the terminal), even with
    # a BROWSER configured
    waiting = start_connect(server.url, _env(BROWSER=str(fake_browser)), browser=True)
    waiting.stop()
    assert "Or open " in "".join(waiting.output)
    assert not opened.exists()
    # a display: the verification URL with the code opens
    waiting = start_connect(
        server.url, _env(BROWSER=str(fake_browser), DISPLAY=":99"), browser=True
    )
    waiting.stop()
    assert "Opened " in "".join(waiting.output)
    assert opened.read_text().strip() == waiting.verification_uri_complete


def test_a_browser_session_ends_with_a_new_password_or_a_deactivation(
    server: RunningServer,
) -> None:
    admin = server.sign_in("admin", ADMIN_PASSWORD)
    assert (
        server.request("POST", "/api/v1/users", {"name": "erin", "password": PASSWORD}, admin)[0]
        == 201
    )
    visitor = PageVisitor(server.url)
    assert visitor.sign_in("erin", PASSWORD) == 200
    assert "Signed in as <strong>erin</strong>" in visitor.get("/device")[2]
    new_password = {"password": PASSWORD + "-new"}
    assert server.request("PATCH", "/api/v1/users/erin", new_password, admin)[0] == 200
    assert "<h1>Sign in</h1>" in visitor.get("/device")[2]
    assert visitor.sign_in("erin", PASSWORD + "-new") == 200
    assert server.request("PATCH", "/api/v1/users/erin", {"active": False}, admin)[0] == 200
    assert "<h1>Sign in</h1>" in visitor.get("/device")[2]
