"""A forward proxy that records what passes through it: the peer of the proxy-rule tests.

It relays ``CONNECT`` tunnels (how https goes through a proxy) byte for byte
and records each target and ``Proxy-Authorization`` header. A plain-http
request sent to it (how ``HTTP_PROXY`` would be used) is recorded with its
headers and refused with 502: the tests assert there are none.
"""

from __future__ import annotations

import select
import socket
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest


@dataclass
class RecordingProxy:
    """A running proxy and what it saw."""

    url: str
    tunnels: list[str] = field(default_factory=list)
    proxy_authorizations: list[str | None] = field(default_factory=list)
    plain_requests: list[tuple[str, dict[str, str]]] = field(default_factory=list)

    @property
    def address(self) -> str:
        """``host:port`` of the proxy."""
        return self.url.split("://", 1)[1]


def _relay(client: socket.socket, upstream: socket.socket) -> None:
    sockets = [client, upstream]
    while True:
        readable, _, broken = select.select(sockets, [], sockets, 30)
        if broken or not readable:
            return
        for source in readable:
            data = source.recv(65536)
            if not data:
                return
            (upstream if source is client else client).sendall(data)


@contextmanager
def recording_proxy() -> Iterator[RecordingProxy]:
    """Serve on a free loopback port until the block ends."""
    state = RecordingProxy("")

    class Handler(BaseHTTPRequestHandler):
        def do_CONNECT(self) -> None:
            state.tunnels.append(self.path)
            state.proxy_authorizations.append(self.headers.get("Proxy-Authorization"))
            host, _, port = self.path.rpartition(":")
            try:
                upstream = socket.create_connection((host.strip("[]"), int(port)), timeout=10)
            except OSError:
                self.send_error(502)
                return
            self.send_response(200, "Connection established")
            self.end_headers()
            with upstream:
                _relay(self.connection, upstream)
            self.close_connection = True

        def _plain(self) -> None:
            state.plain_requests.append((self.path, dict(self.headers.items())))
            self.send_error(502, "this test proxy relays CONNECT only")

        do_GET = do_POST = do_PUT = do_HEAD = do_DELETE = _plain

        def log_message(self, *args: object) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    server.daemon_threads = True
    state.url = f"http://127.0.0.1:{server.server_address[1]}"
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        yield state
    finally:
        server.shutdown()
        server.server_close()


PROXY_VARIABLES = [
    name
    for base in ("HTTP_PROXY", "HTTPS_PROXY", "ALL_PROXY", "NO_PROXY")
    for name in (base, base.lower())
]


def clear_proxy_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    """Start a test without any proxy variable of the machine that runs it."""
    for name in PROXY_VARIABLES:
        monkeypatch.delenv(name, raising=False)
