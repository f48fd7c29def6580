"""A small TLS Kubernetes API server: the real peer of the kubernetes connector's tests.

It answers the discovery paths kubectl and the Python client need, /version,
and lists namespaces, checking a bearer token or basic credentials. Tokens are
accepted from ``tokens`` and, for tokens minted in another process (the kubectl
exec plugin), from the lines of ``token_file``, and by ``token_reviewer`` (as EKS
reviews its tokens with STS); ``revoked`` tokens are refused.
"""

from __future__ import annotations

import base64
import ssl
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

from peers.http_peer import send_json
from peers.tls import CertificateAuthority, issue_server_certificate

NAMESPACES = ["default", "kube-system", "team-data"]


@dataclass
class FakeKubeApi:
    """A running fake API server and the credentials it accepts."""

    server: str
    ca_pem: str
    tokens: set[str] = field(default_factory=set)
    basic: set[tuple[str, str]] = field(default_factory=set)
    revoked: set[str] = field(default_factory=set)
    client_users: set[str] = field(default_factory=set)
    authority: CertificateAuthority | None = field(default=None, repr=False)
    token_file: Path | None = None
    seen_tokens: list[str] = field(default_factory=list)
    #: asked about a bearer token it does not know, as a cluster asks its token webhook
    token_reviewer: Callable[[str], bool] | None = None

    def client_certificate(self, user: str) -> tuple[str, str]:
        """A client certificate and key for ``user``, signed by the server's CA and accepted."""
        assert self.authority is not None
        self.client_users.add(user)
        return self.authority.issue(user, server=False)

    def accepts(self, header: str | None, peer_user: str | None = None) -> bool:
        """Whether the request carries valid credentials: a header or a client certificate."""
        if not header:
            return peer_user is not None and peer_user in self.client_users
        scheme, _, value = header.partition(" ")
        if scheme == "Bearer":
            self.seen_tokens.append(value)
            minted = set()
            if self.token_file is not None and self.token_file.exists():
                minted = set(self.token_file.read_text().split())
            if value in self.revoked:
                return False
            if value in self.tokens or value in minted:
                return True
            return self.token_reviewer is not None and self.token_reviewer(value)
        if scheme == "Basic":
            user, _, password = base64.b64decode(value).decode().partition(":")
            return (user, password) in self.basic
        return False


def _namespace(name: str) -> dict[str, object]:
    return {
        "kind": "Namespace",
        "apiVersion": "v1",
        "metadata": {
            "name": name,
            "uid": f"uid-{name}",
            "creationTimestamp": "2026-01-01T00:00:00Z",
        },
        "status": {"phase": "Active"},
    }


def _responses() -> dict[str, object]:
    return {
        "/version": {
            "major": "1",
            "minor": "32",
            "gitVersion": "v1.32.0-keybroker-test",
            "gitCommit": "0" * 40,
            "gitTreeState": "clean",
            "buildDate": "2026-01-01T00:00:00Z",
            "goVersion": "go1.23.0",
            "compiler": "gc",
            "platform": "linux/amd64",
        },
        "/api": {
            "kind": "APIVersions",
            "versions": ["v1"],
            "serverAddressByClientCIDRs": [
                {"clientCIDR": "0.0.0.0/0", "serverAddress": "127.0.0.1"}
            ],
        },
        "/apis": {"kind": "APIGroupList", "apiVersion": "v1", "groups": []},
        "/api/v1": {
            "kind": "APIResourceList",
            "groupVersion": "v1",
            "resources": [
                {
                    "name": "namespaces",
                    "singularName": "namespace",
                    "namespaced": False,
                    "kind": "Namespace",
                    "verbs": ["get", "list"],
                    "shortNames": ["ns"],
                }
            ],
        },
        "/api/v1/namespaces": {
            "kind": "NamespaceList",
            "apiVersion": "v1",
            "metadata": {"resourceVersion": "1"},
            "items": [_namespace(n) for n in NAMESPACES],
        },
    }


@contextmanager
def fake_kube_api(directory: Path) -> Iterator[FakeKubeApi]:
    """Serve the fake API on 127.0.0.1 over TLS with a fresh CA."""
    certificate = issue_server_certificate(directory)
    responses = _responses()
    state = FakeKubeApi(server="", ca_pem=certificate.ca_pem, authority=certificate.authority)

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            path = self.path.split("?", 1)[0].rstrip("/") or "/"
            if not state.accepts(self.headers.get("Authorization"), self._peer_user()):
                self._send(
                    401,
                    {
                        "kind": "Status",
                        "apiVersion": "v1",
                        "status": "Failure",
                        "reason": "Unauthorized",
                        "code": 401,
                    },
                )
                return
            if path in responses:
                self._send(200, responses[path])
            elif path.startswith("/api/v1/namespaces/") and path.rsplit("/", 1)[1] in NAMESPACES:
                self._send(200, _namespace(path.rsplit("/", 1)[1]))
            else:
                self._send(
                    404,
                    {
                        "kind": "Status",
                        "apiVersion": "v1",
                        "status": "Failure",
                        "reason": "NotFound",
                        "code": 404,
                    },
                )

        def _peer_user(self) -> str | None:
            peer = self.connection.getpeercert()  # type: ignore[attr-defined]
            for attributes in (peer or {}).get("subject", ()):
                for key, value in attributes:
                    if key == "commonName":
                        return str(value)
            return None

        def _send(self, status: int, body: object) -> None:
            send_json(self, status, body)

        def log_message(self, *args: object) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(certificate.cert_file, certificate.key_file)
    context.verify_mode = ssl.CERT_OPTIONAL  # client certificates of the test CA log users in
    context.load_verify_locations(cadata=certificate.ca_pem)
    server.socket = context.wrap_socket(server.socket, server_side=True)
    state.server = f"https://127.0.0.1:{server.server_address[1]}"
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield state
    finally:
        server.shutdown()
        server.server_close()
