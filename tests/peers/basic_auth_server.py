"""A small HTTP service with basic auth: the real peer of the example ``httpbasic`` plugin."""

from __future__ import annotations

import base64
import json
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import quote, quote_plus


@dataclass
class BasicAuthService:
    """A running service; ``requests`` records the paths asked for."""

    url: str
    username: str
    password: str
    endpoints: list[str]
    requests: list[str] = field(default_factory=list)


def echoed_credentials(header: str) -> str:
    """A careless server's 401 body: the credentials it got, in every common encoding."""
    token = header.removeprefix("Basic ")
    try:
        _user, _, password = base64.b64decode(token).decode().partition(":")
    except ValueError:
        return f"bad header {header}"
    raw = password.encode()
    forms = [
        f"raw={password}",
        f"upper={password.upper()}",
        f"url={quote(password, safe='')}",
        f"form={quote_plus(password)}",
        f"b64={base64.b64encode(raw).decode()}",
        f"b64url={base64.urlsafe_b64encode(raw).decode().rstrip('=')}",
        f"header={header}",
        f"json={json.dumps({'password': password})}",
    ]
    return "rejected " + " ".join(forms)


@contextmanager
def basic_auth_service(
    username: str = "alice",
    password: str = "correct-horse",
    endpoints: list[str] | None = None,
    echo_credentials: bool = False,
) -> Iterator[BasicAuthService]:
    """Serve ``/index`` (a JSON list of endpoints) and each endpoint, behind basic auth.

    With ``echo_credentials`` a refused request gets a body repeating the
    credentials it carried, encoded in every common way (see :func:`echoed_credentials`).
    """
    paths = endpoints if endpoints is not None else ["/reports", "/metrics"]
    expected = "Basic " + base64.b64encode(f"{username}:{password}".encode()).decode()
    state = BasicAuthService("", username, password, paths)

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            state.requests.append(self.path)
            received = self.headers.get("Authorization") or ""
            if received != expected:
                body = echoed_credentials(received).encode() if echo_credentials else b""
                self.send_response(401)
                self.send_header("WWW-Authenticate", 'Basic realm="test"')
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)
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
