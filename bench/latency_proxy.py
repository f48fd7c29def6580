"""A reverse proxy that adds a fixed delay to every request, to stand in for a distant AWS."""

from __future__ import annotations

import http.client
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import urlsplit

HOP_BY_HOP = {"connection", "keep-alive", "transfer-encoding", "proxy-connection", "upgrade"}


@contextmanager
def latency_proxy(target: str, delay_seconds: float) -> Iterator[str]:
    """Serve on a free loopback port, forwarding to ``target`` after ``delay_seconds``."""
    parts = urlsplit(target)
    if parts.hostname is None or parts.port is None:
        raise ValueError(f"target {target!r} needs a host and a port")

    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def _forward(self) -> None:
            time.sleep(delay_seconds)
            length = int(self.headers.get("Content-Length") or 0)
            body = self.rfile.read(length) if length else None
            headers = {k: v for k, v in self.headers.items() if k.lower() not in HOP_BY_HOP}
            upstream = http.client.HTTPConnection(parts.hostname, parts.port, timeout=60)
            upstream.request(self.command, self.path, body=body, headers=headers)
            response = upstream.getresponse()
            data = response.read()
            self.send_response(response.status)
            for key, value in response.getheaders():
                if key.lower() not in HOP_BY_HOP and key.lower() != "content-length":
                    self.send_header(key, value)
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)
            upstream.close()

        do_GET = do_POST = do_PUT = do_DELETE = do_HEAD = _forward

        def log_message(self, *args: object) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    server.daemon_threads = True
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()


def main() -> None:
    """``python bench/latency_proxy.py TARGET_URL DELAY_SECONDS``: print the URL, serve."""
    import sys

    target, delay = sys.argv[1], float(sys.argv[2])
    with latency_proxy(target, delay) as url:
        print(url, flush=True)
        threading.Event().wait()


if __name__ == "__main__":
    main()
