"""A small HTTP service with basic auth: the real peer of the example ``httpbasic`` plugin."""

from __future__ import annotations

import base64
import json
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer


@dataclass
class BasicAuthService:
    """A running service; ``requests`` records the paths asked for."""

    url: str
    username: str
    password: str
    endpoints: list[str]
    requests: list[str] = field(default_factory=list)


@contextmanager
def basic_auth_service(
    username: str = "alice", password: str = "correct-horse", endpoints: list[str] | None = None
) -> Iterator[BasicAuthService]:
    """Serve ``/index`` (a JSON list of endpoints) and each endpoint, behind basic auth."""
    paths = endpoints if endpoints is not None else ["/reports", "/metrics"]
    expected = "Basic " + base64.b64encode(f"{username}:{password}".encode()).decode()
    state = BasicAuthService("", username, password, paths)

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            state.requests.append(self.path)
            if self.headers.get("Authorization") != expected:
                self.send_response(401)
                self.send_header("WWW-Authenticate", 'Basic realm="test"')
                self.end_headers()
                return
            if self.path == "/index":
                body = json.dumps(paths).encode()
            elif self.path in paths:
                body = f"content of {self.path}".encode()
            else:
                self.send_response(404)
                self.end_headers()
                return
            self.send_response(200)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args: object) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    state.url = f"http://127.0.0.1:{server.server_address[1]}"
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield state
    finally:
        server.shutdown()
        server.server_close()
