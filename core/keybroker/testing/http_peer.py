"""A tiny HTTP service on loopback that checks credentials: a real peer for plugin tests.

It serves fixed JSON (or text) answers by path behind bearer-token or basic
authentication, records what was asked, and answers 401 to wrong credentials,
so a plugin's verification talks to a real socket and a real refusal.
"""

from __future__ import annotations

import base64
import hmac
import json
import threading
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any


@dataclass
class HttpPeer:
    """A running peer: its base URL and the requests it received (method, path)."""

    url: str
    requests: list[tuple[str, str]] = field(default_factory=list)

    @property
    def paths(self) -> list[str]:
        """The paths asked for, in order."""
        return [path for _, path in self.requests]


def _expected_header(bearer_token: str | None, basic_auth: tuple[str, str] | None) -> str | None:
    if bearer_token is not None:
        return f"Bearer {bearer_token}"
    if basic_auth is not None:
        pair = f"{basic_auth[0]}:{basic_auth[1]}".encode()
        return "Basic " + base64.b64encode(pair).decode()
    return None


@contextmanager
def http_peer(
    routes: Mapping[str, Any],
    *,
    bearer_token: str | None = None,
    basic_auth: tuple[str, str] | None = None,
    port: int = 0,
) -> Iterator[HttpPeer]:
    """Serve ``routes`` (path -> body) on ``127.0.0.1`` until the block ends.

    A body that is a ``str`` is sent as text, anything else as JSON; a
    ``(status, body)`` tuple sets the status too. Unknown paths answer 404.
    With ``bearer_token`` or ``basic_auth``, a request without exactly those
    credentials answers 401 and reaches no route. ``port`` 0 picks a free one.
    """
    expected = _expected_header(bearer_token, basic_auth)
    scheme = "Bearer" if bearer_token is not None else "Basic"
    peer = HttpPeer(url="")

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            peer.requests.append(("GET", self.path))
            given = self.headers.get("Authorization") or ""
            if expected is not None and not hmac.compare_digest(given, expected):
                self._send(
                    401, {"error": "unauthorized"}, {"WWW-Authenticate": f'{scheme} realm="peer"'}
                )
                return
            path = self.path.split("?", 1)[0]
            if path not in routes:
                self._send(404, {"error": f"no such path: {path}"})
                return
            answer = routes[path]
            status, body = answer if isinstance(answer, tuple) else (200, answer)
            self._send(status, body)

        def _send(self, status: int, body: Any, headers: dict[str, str] | None = None) -> None:
            if isinstance(body, str):
                data, kind = body.encode(), "text/plain; charset=utf-8"
            else:
                data, kind = json.dumps(body).encode(), "application/json"
            self.send_response(status)
            self.send_header("Content-Type", kind)
            self.send_header("Content-Length", str(len(data)))
            for key, value in (headers or {}).items():
                self.send_header(key, value)
            self.end_headers()
            self.wfile.write(data)

        def log_message(self, *args: object) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", port), Handler)
    peer.url = f"http://127.0.0.1:{server.server_address[1]}"
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield peer
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=5)
