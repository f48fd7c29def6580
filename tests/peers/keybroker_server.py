"""The keybroker server as a real process (``keybroker server up``) for tests."""

from __future__ import annotations

import base64
import json
import os
import subprocess
import sys
import time
import urllib.error
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

from peers.http_peer import free_port

ADMIN_PASSWORD = "admin-password-for-tests-7Qx"


def new_encryption_key() -> str:
    """A random server encryption key (urlsafe base64 of 32 bytes)."""
    return base64.urlsafe_b64encode(os.urandom(32)).decode()


@dataclass
class RunningServer:
    """One ``keybroker server up`` process and what it was started with."""

    url: str
    process: subprocess.Popen[bytes]
    log: Path
    database_url: str
    data_dir: Path
    env: dict[str, str] = field(repr=False)

    def log_text(self) -> str:
        """Everything the process printed (stdout and stderr) so far."""
        return self.log.read_text(errors="replace")

    def stop(self) -> None:
        """Stop the process (SIGTERM, then SIGKILL)."""
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(timeout=10)

    def request(
        self,
        method: str,
        path: str,
        body: Any = None,
        token: str | None = None,
        raw: bytes | None = None,
        headers: dict[str, str] | None = None,
    ) -> tuple[int, dict[str, str], Any]:
        """Send one request; return status, headers (lower-case names) and decoded JSON."""
        data = raw if raw is not None else (json.dumps(body).encode() if body is not None else None)
        request = urllib.request.Request(self.url + path, data=data, method=method)
        if data is not None:
            request.add_header("Content-Type", "application/json")
        if token:
            request.add_header("Authorization", f"Bearer {token}")
        for name, value in (headers or {}).items():
            request.add_header(name, value)
        try:
            with urllib.request.urlopen(request, timeout=30) as response:
                status, found, payload = response.status, dict(response.headers), response.read()
        except urllib.error.HTTPError as error:
            status, found, payload = error.code, dict(error.headers), error.read()
        decoded = json.loads(payload) if payload else None
        return status, {k.lower(): v for k, v in found.items()}, decoded

    def sign_in(self, username: str, password: str) -> str:
        """A session token, or a test failure."""
        status, _, body = self.request(
            "POST", "/api/v1/auth/sign-in", {"username": username, "password": password}
        )
        assert status == 200, body
        return str(body["token"])


def start_server(
    directory: Path,
    database_url: str | None = None,
    *,
    encryption_key: str | None = None,
    admin_password: str | None = ADMIN_PASSWORD,
    extra_env: dict[str, str] | None = None,
    args: tuple[str, ...] = (),
    name: str = "server",
    data_dir: Path | None = None,
) -> RunningServer:
    """Start ``keybroker server up`` on a free loopback port and wait until /health answers.

    Another process may take the free port first: then it starts again on another.
    """
    for _ in range(3):
        server = _start_once(
            directory, database_url, encryption_key, admin_password, extra_env, args, name, data_dir
        )
        if server is not None:
            return server
    pytest.fail("the keybroker server found no free port three times")


def _start_once(
    directory: Path,
    database_url: str | None,
    encryption_key: str | None,
    admin_password: str | None,
    extra_env: dict[str, str] | None,
    args: tuple[str, ...],
    name: str,
    data_dir: Path | None,
) -> RunningServer | None:
    port = free_port()
    data_dir = data_dir or directory / f"{name}-data"
    log = directory / f"{name}.log"
    env = {k: v for k, v in os.environ.items() if not k.startswith("KEYBROKER_SERVER_")}
    env.pop("KEYBROKER_ADMIN_PASSWORD", None)
    env["KEYBROKER_SERVER_DATA_DIR"] = str(data_dir)
    env["PYTHONUNBUFFERED"] = "1"
    if database_url:
        env["KEYBROKER_SERVER_DATABASE_URL"] = database_url
    if encryption_key:
        env["KEYBROKER_SERVER_ENCRYPTION_KEY"] = encryption_key
    if admin_password:
        env["KEYBROKER_ADMIN_PASSWORD"] = admin_password
    env.update(extra_env or {})
    with open(log, "wb") as handle:
        process = subprocess.Popen(
            [sys.executable, "-m", "keybroker", "server", "up", "--port", str(port), *args],
            stdout=handle,
            stderr=subprocess.STDOUT,
            env=env,
        )
    scheme = "https" if "--tls-cert" in args else "http"
    server = RunningServer(
        url=f"{scheme}://127.0.0.1:{port}",
        process=process,
        log=log,
        database_url=database_url or f"sqlite:///{data_dir / 'server.db'}",
        data_dir=data_dir,
        env=env,
    )
    if scheme == "http" and not _wait_healthy(server):
        return None
    return server


def _wait_healthy(server: RunningServer, seconds: float = 90) -> bool:
    """Whether the server came up; False when its port was taken; a failure otherwise."""
    deadline = time.monotonic() + seconds
    while True:
        try:
            with urllib.request.urlopen(server.url + "/health", timeout=1) as response:
                if response.status == 200:
                    return True
        except OSError:
            pass
        if server.process.poll() is not None or time.monotonic() > deadline:
            server.stop()
            log = server.log_text()
            if "address already in use" in log.lower():
                return False
            pytest.fail(f"the keybroker server did not start:\n{log}")
        time.sleep(0.1)


def keybroker(*args: str, input: str | None = None) -> subprocess.CompletedProcess[str]:
    """The real CLI in a subprocess, with the test's isolated config directory."""
    return subprocess.run(
        [sys.executable, "-m", "keybroker", *args],
        input=input,
        capture_output=True,
        text=True,
        env=dict(os.environ),
        timeout=60,
    )


def keybroker_json(*args: str) -> Any:
    """Run a command with ``-o json`` and decode what it printed."""
    result = keybroker(*args, "-o", "json")
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout)


def connect(server: RunningServer, username: str, password: str) -> None:
    """``keybroker connect`` this test's CLI to ``server``."""
    result = keybroker(
        "connect",
        "--url",
        server.url,
        "--username",
        username,
        "--password-stdin",
        input=password + "\n",
    )
    assert result.returncode == 0, result.stderr
