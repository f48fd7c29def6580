"""The HTTP client of the server API: error classes, no ambient proxy, timeouts, odd peers."""

from __future__ import annotations

import http.server
import socket
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest

from keybroker.errors import (
    ConflictError,
    ConnectionFailure,
    NotFoundError,
    OperationError,
    UnauthenticatedError,
    UsageError,
)
from keybroker.remote.http import ServerClient
from peers.http_peer import free_port
from peers.keybroker_server import ADMIN_PASSWORD, RunningServer, start_server


@pytest.fixture(scope="module")
def running(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RunningServer]:
    server = start_server(tmp_path_factory.mktemp("client"))
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture
def admin(running: RunningServer) -> Iterator[ServerClient]:
    with ServerClient(running.url, running.sign_in("admin", ADMIN_PASSWORD)) as client:
        yield client


def test_errors_become_keybroker_errors(running: RunningServer, admin: ServerClient) -> None:
    with pytest.raises(NotFoundError, match="no user named 'nobody'"):
        admin.get("/api/v1/users/nobody")
    admin.post("/api/v1/users", {"name": "kim", "password": "kim-password-12"})
    with pytest.raises(ConflictError, match="already exists"):
        admin.post("/api/v1/users", {"name": "kim", "password": "kim-password-12"})
    with pytest.raises(UsageError, match="limit") as refused:
        admin.get("/api/v1/users", {"limit": 0})
    assert refused.value.parameter == "limit"
    with (
        ServerClient(running.url, "kbs_" + "x" * 43) as stranger,
        pytest.raises(UnauthenticatedError, match="not valid"),
    ):
        stranger.get("/api/v1/auth/whoami")
    assert "kbs_" not in repr(admin)


def test_pages_follow_the_cursor(admin: ServerClient) -> None:
    for index in range(5):
        admin.post("/api/v1/users", {"name": f"pager{index}", "password": "pager-password-1"})
    names = [u["name"] for u in admin.pages("/api/v1/users", {"limit": 2})]
    assert [n for n in names if n.startswith("pager")] == [f"pager{i}" for i in range(5)]
    assert len(list(admin.pages("/api/v1/users", {"limit": 2}, limit=3))) == 3


def test_plain_http_never_goes_through_a_proxy(
    running: RunningServer, admin: ServerClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    dead = f"http://127.0.0.1:{free_port()}"
    for name in ("HTTP_PROXY", "HTTPS_PROXY", "ALL_PROXY", "http_proxy", "https_proxy"):
        monkeypatch.setenv(name, dead)
    monkeypatch.delenv("NO_PROXY", raising=False)
    monkeypatch.delenv("no_proxy", raising=False)
    assert admin.get("/api/v1/auth/whoami")["name"] == "admin"


def test_an_unreachable_server_is_a_connection_failure() -> None:
    with (
        ServerClient(f"http://127.0.0.1:{free_port()}") as client,
        pytest.raises(ConnectionFailure, match="cannot reach the server"),
    ):
        client.get("/health")


def test_a_silent_server_times_out() -> None:
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen(1)
    port = listener.getsockname()[1]
    try:
        with (
            ServerClient(f"http://127.0.0.1:{port}", timeout=0.5) as client,
            pytest.raises(ConnectionFailure, match=r"did not answer within 0.5 s"),
        ):
            client.get("/health")
    finally:
        listener.close()


def test_a_server_that_is_not_keybroker(tmp_path: Path) -> None:
    class Handler(http.server.BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            self.send_response(404)
            self.send_header("Content-Type", "text/html")
            self.end_headers()
            self.wfile.write(b"<html>nope</html>")

        def log_message(self, *args: object) -> None:
            pass

    peer = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=peer.serve_forever, daemon=True)
    thread.start()
    try:
        with (
            ServerClient(f"http://127.0.0.1:{peer.server_address[1]}") as client,
            pytest.raises(OperationError, match="is the URL a keybroker server"),
        ):
            client.get("/api/v1/auth/whoami")
    finally:
        peer.shutdown()
        peer.server_close()


@pytest.mark.parametrize(
    ("url", "message"),
    [
        ("ftp://example.com", "is not a server URL"),
        ("https://user:pw@example.com", "must not contain a user name or password"),
        ("https://example.com/?a=1", "must not contain a query"),
        ("http://example.com", "refusing to send credentials over plain http"),
        ("https://example.com:99999", "invalid port"),
    ],
)
def test_bad_urls_are_refused_before_any_traffic(url: str, message: str) -> None:
    with pytest.raises(UsageError, match=message):
        ServerClient(url)
