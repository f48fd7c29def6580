"""A Docker Engine API stand-in on TCP: enough for the docker SDK to connect and log in.

No container engine runs on this machine, so this peer answers ``/_ping``,
``/version`` and ``/auth`` (the login the SDK sends) and records the logins.
"""

from __future__ import annotations

import json
import re
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from peers.http_peer import send_json

API_VERSION = "1.45"
VERSIONED = re.compile(r"^/v[0-9.]+")


@dataclass
class FakeDockerDaemon:
    """A running stand-in; ``logins`` holds the bodies of the /auth requests."""

    host: str
    logins: list[dict[str, Any]] = field(default_factory=list)


@contextmanager
def fake_docker_daemon() -> Iterator[FakeDockerDaemon]:
    """Serve the stand-in on a free loopback port (use ``DOCKER_HOST=tcp://...``)."""
    state = FakeDockerDaemon(host="")

    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def _path(self) -> str:
            return VERSIONED.sub("", self.path.split("?", 1)[0])

        def do_GET(self) -> None:
            path = self._path()
            if path == "/_ping":
                data = b"OK"
                self.send_response(200)
                self.send_header("Content-Type", "text/plain")
                self.send_header("Api-Version", API_VERSION)
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)
            elif path == "/version":
                send_json(
                    self,
                    200,
                    {
                        "ApiVersion": API_VERSION,
                        "Version": "27.0.0-test",
                        "MinAPIVersion": "1.24",
                        "Os": "linux",
                    },
                )
            else:
                send_json(self, 404, {"message": f"page not found: {path}"})

        def do_HEAD(self) -> None:
            self.do_GET()

        def do_POST(self) -> None:
            length = int(self.headers.get("Content-Length") or 0)
            body = json.loads(self.rfile.read(length) or b"{}")
            if self._path() == "/auth":
                state.logins.append(body)
                send_json(self, 200, {"Status": "Login Succeeded", "IdentityToken": ""})
            else:
                send_json(self, 404, {"message": "not implemented by the test daemon"})

        def log_message(self, *args: object) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    state.host = f"tcp://127.0.0.1:{server.server_address[1]}"
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        yield state
    finally:
        server.shutdown()
        server.server_close()
