"""The one JSON error shape for every failure; listening and TLS rules of ``server up``."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from peers.keybroker_server import ADMIN_PASSWORD, RunningServer, keybroker, start_server
from peers.tls import issue_server_certificate


def _assert_error(body: object, code: str) -> dict[str, object]:
    assert isinstance(body, dict)
    assert set(body) == {"error"}
    error = body["error"]
    assert set(error) == {"code", "message", "parameter", "request_id"}
    assert error["code"] == code, error
    assert isinstance(error["message"], str)
    assert error["message"]
    return error


@pytest.fixture(scope="module")
def sqlite_server(tmp_path_factory: pytest.TempPathFactory) -> RunningServer:
    running = start_server(tmp_path_factory.mktemp("errors"))
    yield running  # type: ignore[misc]
    running.stop()


@pytest.mark.parametrize(
    ("method", "path", "raw", "status", "code"),
    [
        ("POST", "/api/v1/auth/sign-in", b"{not json", 400, "invalid_json"),
        (
            "POST",
            "/api/v1/auth/sign-in",
            b'{"username": 5, "password": []}',
            422,
            "validation_error",
        ),
        ("POST", "/api/v1/auth/sign-in", b'["a", "b"]', 422, "validation_error"),
        (
            "POST",
            "/api/v1/auth/sign-in",
            b'{"username": "a", "password": "b", "x": 1}',
            422,
            "validation_error",
        ),
        ("GET", "/api/v1/nothing-here", None, 404, "not_found"),
        ("GET", "/nothing", None, 404, "not_found"),
        ("DELETE", "/health", None, 405, "method_not_allowed"),
        ("PUT", "/api/v1/auth/sign-in", b"{}", 405, "method_not_allowed"),
        ("GET", "/api/v1/users", None, 401, "not_authenticated"),
    ],
)
def test_every_failure_has_the_error_shape(
    sqlite_server: RunningServer, method: str, path: str, raw: bytes | None, status: int, code: str
) -> None:
    found, _, body = sqlite_server.request(method, path, raw=raw)
    assert found == status
    _assert_error(body, code)


def test_validation_errors_name_the_parameter(sqlite_server: RunningServer) -> None:
    token = sqlite_server.sign_in("admin", ADMIN_PASSWORD)
    cases = [
        ("/api/v1/users?limit=0", None, "limit"),
        ("/api/v1/users?limit=abc", None, "limit"),
    ]
    for path, body, parameter in cases:
        status, _, answer = sqlite_server.request("GET", path, body, token)
        assert status == 422, answer
        assert _assert_error(answer, "validation_error")["parameter"] == parameter
    for since in ("yesterday", "0.5"):
        status, _, answer = sqlite_server.request(
            "GET", f"/api/v1/audit?since={since}", None, token
        )
        assert status == 400, answer
        assert _assert_error(answer, "bad_request")["parameter"] == "since"
    status, _, answer = sqlite_server.request(
        "POST", "/api/v1/users", {"name": "x y", "password": "p" * 20}, token
    )
    assert status == 422
    assert _assert_error(answer, "validation_error")["parameter"] == "name"
    status, _, answer = sqlite_server.request(
        "PATCH", "/api/v1/users/admin", {"is_admin": "yes"}, token
    )
    assert status == 422
    status, _, answer = sqlite_server.request(
        "POST", "/api/v1/users", {"name": "shorty", "password": "short"}, token
    )
    assert status == 422
    assert _assert_error(answer, "validation_error")["parameter"] == "password"


def test_bad_tokens_are_refused_alike(sqlite_server: RunningServer) -> None:
    for header in ("Bearer kbs_" + "A" * 43, "Bearer garbage", "Basic YWRtaW46YWRtaW4=", "Bearer "):
        status, headers, body = sqlite_server.request(
            "GET", "/api/v1/auth/whoami", headers={"Authorization": header}
        )
        assert status == 401, header
        assert headers["www-authenticate"] == "Bearer"
        _assert_error(body, "not_authenticated")


def test_health_and_ready(sqlite_server: RunningServer) -> None:
    _, headers, health = sqlite_server.request("GET", "/health")
    assert health == {"status": "ok"}
    assert "strict-transport-security" not in headers  # only over TLS
    assert sqlite_server.request("GET", "/ready")[2] == {"status": "ready"}
    status, _, document = sqlite_server.request("GET", "/openapi.json")
    assert status == 200
    assert "/api/v1/users" in document["paths"]


def test_refuses_plain_http_on_a_non_loopback_address(tmp_path: Path) -> None:
    result = keybroker("server", "up", "--host", "0.0.0.0", "--data-dir", str(tmp_path / "d"))
    assert result.returncode == 2
    assert "refusing to serve plain HTTP on 0.0.0.0" in result.stderr
    assert "--insecure-listen" in result.stderr
    assert not (tmp_path / "d").exists()


def test_client_refuses_plain_http_to_a_remote_host() -> None:
    result = keybroker(
        "connect",
        "--url",
        "http://keybroker.example.com",
        "--username",
        "a",
        "--password-stdin",
        input="whatever-password\n",
    )
    assert result.returncode == 2
    assert "refusing to send credentials over plain http" in result.stderr


def test_tls_server_and_ca_file(tmp_path: Path) -> None:
    certificate = issue_server_certificate(tmp_path)
    ca_file = tmp_path / "ca.pem"
    ca_file.write_text(certificate.ca_pem)
    running = start_server(
        tmp_path,
        args=("--tls-cert", str(certificate.cert_file), "--tls-key", str(certificate.key_file)),
    )
    try:
        _wait_tls(running, ca_file)
        import ssl
        import urllib.request

        context = ssl.create_default_context(cafile=str(ca_file))
        with urllib.request.urlopen(running.url + "/health", context=context) as answer:
            assert answer.headers["Strict-Transport-Security"] == "max-age=31536000"
        untrusted = keybroker(
            "connect",
            "--url",
            running.url,
            "--username",
            "admin",
            "--password-stdin",
            input=ADMIN_PASSWORD + "\n",
        )
        assert untrusted.returncode == 1
        assert "is not trusted" in untrusted.stderr
        assert "--ca-file" in untrusted.stderr
        trusted = keybroker(
            "connect",
            "--url",
            running.url,
            "--username",
            "admin",
            "--password-stdin",
            "--ca-file",
            str(ca_file),
            input=ADMIN_PASSWORD + "\n",
        )
        assert trusted.returncode == 0, trusted.stderr
        status = keybroker("status")
        assert status.returncode == 0, status.stderr
        assert running.url in status.stdout
    finally:
        running.stop()


def test_https_goes_through_the_proxy_as_a_tunnel_the_proxy_cannot_read(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from keybroker.remote.http import ServerClient
    from peers.connect_proxy import clear_proxy_environment, recording_proxy

    certificate = issue_server_certificate(tmp_path)
    ca_file = tmp_path / "ca.pem"
    ca_file.write_text(certificate.ca_pem)
    running = start_server(
        tmp_path,
        args=("--tls-cert", str(certificate.cert_file), "--tls-key", str(certificate.key_file)),
    )
    clear_proxy_environment(monkeypatch)
    try:
        _wait_tls(running, ca_file)
        token = None
        with recording_proxy() as proxy:
            host, port = proxy.url.split("//")[1].split(":")
            monkeypatch.setenv("HTTPS_PROXY", f"http://netuser:netpass@{host}:{port}")
            with ServerClient(running.url, ca_file=str(ca_file)) as client:
                answer = client.post(
                    "/api/v1/auth/sign-in", {"username": "admin", "password": ADMIN_PASSWORD}
                )
                token = answer["token"]
            with ServerClient(running.url, token, ca_file=str(ca_file)) as client:
                assert client.get("/api/v1/auth/whoami")["name"] == "admin"
            port_of_server = running.url.rsplit(":", 1)[1]
            assert proxy.tunnels == [f"127.0.0.1:{port_of_server}"] * 2
            assert all(a and a.startswith("Basic ") for a in proxy.proxy_authorizations)
            assert proxy.plain_requests == []
            monkeypatch.setenv("NO_PROXY", "127.0.0.1")
            with ServerClient(running.url, token, ca_file=str(ca_file)) as client:
                client.get("/api/v1/auth/whoami")
            assert len(proxy.tunnels) == 2
        assert "netpass" not in running.log_text()
    finally:
        running.stop()


def _wait_tls(running: RunningServer, ca_file: Path) -> None:
    import ssl
    import time
    import urllib.request

    context = ssl.create_default_context(cafile=str(ca_file))
    deadline = time.monotonic() + 60
    while True:
        try:
            with urllib.request.urlopen(running.url + "/health", timeout=1, context=context):
                return
        except OSError:
            if running.process.poll() is not None or time.monotonic() > deadline:
                running.stop()
                pytest.fail(running.log_text())
            time.sleep(0.1)


def test_cli_does_not_import_the_server_or_an_http_client() -> None:
    code = (
        "import sys; from keybroker.cli.main import cli; "
        "bad = [m for m in ('fastapi', 'uvicorn', 'argon2', 'keybroker.server', 'http.client', "
        "'keybroker.remote.http', 'keybroker.cli.server', 'keybroker.cli.users', "
        "'sqlalchemy') if m in sys.modules]; print(bad)"
    )
    result = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True
    )
    assert result.stdout.strip() == "[]"


@pytest.mark.parametrize("workers", ["1", "2"])
@pytest.mark.parametrize(
    ("files", "reason"),
    [("garbage", "not PEM files of both"), ("mismatch", "the key is not the certificate's")],
)
def test_tls_files_the_server_cannot_use_are_refused_before_it_starts(
    tmp_path: Path, files: str, reason: str, workers: str
) -> None:
    certificate = issue_server_certificate(tmp_path / "tls")
    cert, key = certificate.cert_file, certificate.key_file
    if files == "garbage":
        cert.write_text("not a certificate\n")
    else:
        key = issue_server_certificate(tmp_path / "other").key_file
    data_dir = tmp_path / "data"
    result = keybroker(
        "server", "up", "--data-dir", str(data_dir), "--workers", workers,
        "--tls-cert", str(cert), "--tls-key", str(key),
    )  # fmt: skip
    assert result.returncode == 2, result
    [line] = result.stderr.strip().splitlines()
    assert line.startswith("Error: cannot serve TLS with --tls-cert") and reason in line, line
    assert not data_dir.exists()
