"""The example httpbasic plugin sends its connector's credentials, and only to its service."""

from __future__ import annotations

import base64
import os
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest
from click.testing import Result

from peers.basic_auth_server import BasicAuthService, basic_auth_service
from peers.cli_runner import run
from peers.connect_proxy import clear_proxy_environment, recording_proxy


@pytest.fixture(autouse=True)
def no_machine_proxies(monkeypatch: pytest.MonkeyPatch) -> None:
    clear_proxy_environment(monkeypatch)


@pytest.fixture
def service() -> Iterator[BasicAuthService]:
    with basic_auth_service() as running:
        yield running


def register(name: str, url: str, username: str, password: str) -> Result:
    return run(
        "connector",
        "register",
        name,
        "-t",
        "httpbasic",
        f"url={url}",
        f"username={username}",
        f"password={password}",
    )


def test_the_netrc_that_login_wrote_never_verifies_a_wrong_password(
    service: BasicAuthService,
) -> None:
    assert register("good", service.url, service.username, service.password).exit_code == 0
    login = run("connector", "login", "good", "-r", "http-server")
    assert login.exit_code == 0, login.output
    assert service.password in Path(os.environ["NETRC"]).read_text()
    (Path(os.environ["HOME"]) / ".netrc").write_text(Path(os.environ["NETRC"]).read_text())
    bad = register("bad", service.url, service.username, "wrong-password")
    assert bad.exit_code == 1
    assert "refused the credentials (HTTP 401)" in bad.output


def test_plain_http_never_goes_through_a_proxy(
    service: BasicAuthService, monkeypatch: pytest.MonkeyPatch
) -> None:
    with recording_proxy() as proxy:
        for name in ("HTTP_PROXY", "http_proxy", "ALL_PROXY", "HTTPS_PROXY"):
            monkeypatch.setenv(name, proxy.url)
        result = register("svc", service.url, service.username, service.password)
        assert result.exit_code == 0, result.output
    assert proxy.plain_requests == [] and proxy.tunnels == []


@pytest.fixture
def redirecting() -> Iterator[tuple[str, list[str | None]]]:
    """A service whose /index redirects elsewhere (another port), /sub/index to itself.

    Yields its URL and the Authorization headers the other origin received.
    """
    expected = "Basic " + base64.b64encode(b"alice:correct-horse").decode()
    elsewhere_saw: list[str | None] = []

    class Elsewhere(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            elsewhere_saw.append(self.headers.get("Authorization"))
            self.send_response(401)
            self.end_headers()

        def log_message(self, *args: object) -> None:
            pass

    other = ThreadingHTTPServer(("127.0.0.1", 0), Elsewhere)

    class Redirecting(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            if self.headers.get("Authorization") != expected:
                self.send_response(401)
                self.end_headers()
                return
            if self.path == "/index":
                target = f"http://127.0.0.1:{other.server_address[1]}/index"
            elif self.path == "/sub/index":
                target = "/sub/index-here"
            else:
                body = b'["/reports"]'
                self.send_response(200)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)
                return
            self.send_response(302)
            self.send_header("Location", target)
            self.send_header("Content-Length", "0")
            self.end_headers()

        def log_message(self, *args: object) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Redirecting)
    for running in (other, server):
        threading.Thread(target=running.serve_forever, daemon=True).start()
    yield f"http://127.0.0.1:{server.server_address[1]}", elsewhere_saw
    for running in (other, server):
        running.shutdown()
        running.server_close()


def test_a_redirect_to_another_origin_gets_no_credentials(
    redirecting: tuple[str, list[str | None]],
) -> None:
    url, elsewhere_saw = redirecting
    result = register("svc", url, "alice", "correct-horse")
    assert result.exit_code == 1
    assert elsewhere_saw == [None]
    # a redirect within the service keeps them: /sub/index -> /sub/index-here
    within = register("within", f"{url}/sub", "alice", "correct-horse")
    assert within.exit_code == 0, within.output


def test_a_password_that_would_add_netrc_entries_is_never_written() -> None:
    """A netrc token ends at whitespace: 'x default login a password b' would add an entry
    that hands credentials to every host curl reaches."""
    netrc = Path(os.environ["NETRC"])
    netrc.write_text("machine other.example login me password mine\n")
    registered = run(
        "connector", "register", "shared", "-t", "httpbasic", "url=http://127.0.0.1:9",
        "username=alice", "password=x default login a password b", "--no-verify",
    )  # fmt: skip
    assert registered.exit_code == 0, registered.output
    login = run("connector", "login", "shared", "-r", "http-server")
    assert login.exit_code == 1
    assert "the password contains spaces or quotes, which a netrc file cannot hold" in (
        login.output
    )
    assert "default login" not in login.output
    assert netrc.read_text() == "machine other.example login me password mine\n"
