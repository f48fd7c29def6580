"""The stored session of ``keybroker connect`` and the environment that overrides it."""

from __future__ import annotations

import json
import os
import stat
from collections.abc import Iterator
from pathlib import Path

import pytest

from peers.keybroker_server import (
    ADMIN_PASSWORD,
    RunningServer,
    connect,
    keybroker,
    keybroker_json,
    start_server,
)


@pytest.fixture(scope="module")
def running(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RunningServer]:
    server = start_server(tmp_path_factory.mktemp("session"))
    try:
        yield server
    finally:
        server.stop()


def _session_file() -> Path:
    return Path(os.environ["KEYBROKER_CONFIG_DIR"]) / "server-session.json"


def test_session_file_is_private_and_complete(running: RunningServer) -> None:
    connect(running, "admin", ADMIN_PASSWORD)
    path = _session_file()
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    data = json.loads(path.read_text())
    assert data["url"] == running.url
    assert data["username"] == "admin"
    assert data["token"].startswith("kbs_")
    assert data["expires_at"]

    path.chmod(0o644)
    refused = keybroker("status")
    assert refused.returncode == 2
    assert "readable by other users" in refused.stderr


def test_wrong_password_keeps_no_session(running: RunningServer) -> None:
    result = keybroker(
        "connect",
        "--url",
        running.url,
        "--username",
        "admin",
        "--password-stdin",
        input="not-the-admin-password\n",
    )
    assert result.returncode == 1
    assert "wrong user name or password" in result.stderr
    assert not _session_file().exists()


def test_store_url_with_a_token_file(
    running: RunningServer, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("KEYBROKER_STORE_URL", running.url)
    missing = keybroker("status")
    assert missing.returncode == 2
    assert "there is no session for it" in missing.stderr

    token_file = tmp_path / "token"
    token_file.write_text(running.sign_in("admin", ADMIN_PASSWORD) + "\n")
    monkeypatch.setenv("KEYBROKER_STORE_TOKEN_FILE", str(token_file))
    status = keybroker_json("status")
    assert status["user"] == "admin"
    assert status["url"] == running.url
    assert not _session_file().exists()


def test_disconnect_signs_out_on_the_server(running: RunningServer) -> None:
    connect(running, "admin", ADMIN_PASSWORD)
    token = json.loads(_session_file().read_text())["token"]
    result = keybroker("disconnect")
    assert result.returncode == 0
    assert "Signed out" in result.stdout
    assert not _session_file().exists()
    assert running.request("GET", "/api/v1/auth/whoami", token=token)[0] == 401
    assert "Not connected" in keybroker("disconnect").stdout


def test_reconnecting_revokes_the_previous_session(running: RunningServer) -> None:
    connect(running, "admin", ADMIN_PASSWORD)
    first = json.loads(_session_file().read_text())["token"]
    connect(running, "admin", ADMIN_PASSWORD)
    assert running.request("GET", "/api/v1/auth/whoami", token=first)[0] == 401
    assert keybroker("status").returncode == 0
