"""Every ``keybroker connector`` command and the Python API, unchanged, against a real server.

The real CLI in its own processes signs in with ``connect --username
--password-stdin`` and then runs the same commands a user runs on the embedded
store; a real server process (SQLite, PostgreSQL, MariaDB) holds the
connectors and runs verification with its plugins, against a real basic-auth
service. ``disconnect`` brings the embedded store back.
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterator
from pathlib import Path

import pytest

import keybroker
from keybroker import ConnectorService
from keybroker.connector import UpdateRequest
from keybroker.errors import StaleVersionError
from keybroker.remote.operations import RemoteOperations
from peers.basic_auth_server import BasicAuthService, basic_auth_service
from peers.keybroker_server import ADMIN_PASSWORD, RunningServer, connect, keybroker_json
from peers.keybroker_server import keybroker as cli

PASSWORD = "remote-cli-user-password-1"
SERVICE_PASSWORD = "svc-remote-Pa55-never-in-files"


@pytest.fixture(scope="module")
def web() -> Iterator[BasicAuthService]:
    with basic_auth_service("svc", SERVICE_PASSWORD) as running:
        yield running


@pytest.fixture(scope="module")
def users(server: RunningServer) -> list[str]:
    token = server.sign_in("admin", ADMIN_PASSWORD)
    for name in ("carol", "dave"):
        status, _, body = server.request(
            "POST", "/api/v1/users", {"name": name, "password": PASSWORD}, token
        )
        assert status == 201, body
    return ["carol", "dave"]


def ok(result: object) -> str:
    assert result.returncode == 0, (result.stdout, result.stderr)  # type: ignore[attr-defined]
    return str(result.stdout)  # type: ignore[attr-defined]


def register_web(name: str, web: BasicAuthService, *extra: str) -> str:
    return ok(
        cli(
            "connector",
            "register",
            name,
            "-t",
            "httpbasic",
            f"url={web.url}",
            f"username={web.username}",
            f"password={web.password}",
            *extra,
        )
    )


def test_every_connector_command_runs_on_the_server_and_disconnect_brings_the_store_back(
    server: RunningServer, users: list[str], web: BasicAuthService
) -> None:
    register_web("laptop-only", web)  # in the embedded store, before connecting
    connect(server, "carol", PASSWORD)
    assert "Server:  " + server.url in ok(cli("status"))

    registered = register_web("team-web", web, "-l", "team=web", "-d", "the web service")
    assert "Connector 'team-web' (" in registered and "verified and registered" in registered
    listed = keybroker_json("connector", "list")
    assert [(c["name"], c["owner"], c["shared"]) for c in listed] == [("team-web", "carol", False)]
    assert keybroker_json("connector", "list", "-l", "team=web")[0]["name"] == "team-web"
    assert keybroker_json("connector", "list", "-l", "team=db") == []

    described = keybroker_json("connector", "describe", "team-web")
    assert described["secrets"] == {"password": "[HIDDEN]"}
    assert keybroker_json("connector", "describe", "team-web", "-x")["secrets"] == {
        "password": SERVICE_PASSWORD
    }
    table = ok(cli("connector", "describe", "team-web"))
    assert SERVICE_PASSWORD not in table and "team-web" in table

    updated = keybroker_json("connector", "update", "team-web", "-d", "changed", "--share")
    assert (updated["description"], updated["shared"]) == ("changed", True)
    assert updated["version"] == described["version"] + 1
    assert updated["verification"]["connector_name"] == "team-web"

    assert "correctly configured with valid credentials" in ok(
        cli("connector", "verify", "team-web")
    )
    (report,) = keybroker_json("connector", "list-resources", "-r", "http-endpoint")
    assert report["connector_name"] == "team-web"
    assert report["resources"][0]["resource_ids"] == ["/metrics", "/reports"]

    login = cli("connector", "login", "team-web", "-r", "http-server")
    ok(login)
    assert web.url.removeprefix("http://").split(":")[0] in Path(os.environ["NETRC"]).read_text()

    python_api = cli_python(
        "import keybroker\n"
        "client = keybroker.get_client('team-web', 'http-server')\n"
        "print(client.get('/reports').decode())"
    )
    assert python_api == "content of /reports"

    ok(cli("connector", "delete", "team-web", "--yes"))
    assert keybroker_json("connector", "list") == []
    missing = cli("connector", "describe", "team-web")
    assert missing.returncode == 2 and missing.stderr.count("\n") == 1
    assert "team-web" in missing.stderr

    ok(cli("disconnect"))
    assert [c["name"] for c in keybroker_json("connector", "list")] == ["laptop-only"]
    assert "Not connected" in ok(cli("status"))


def cli_python(code: str) -> str:
    """Run Python in another process with the test's environment (the same sign-in)."""
    import subprocess
    import sys

    result = subprocess.run(
        [sys.executable, "-c", code],
        capture_output=True,
        text=True,
        env=dict(os.environ),
        timeout=60,
    )
    assert result.returncode == 0, result.stderr
    return result.stdout.strip()


def test_the_python_api_uses_the_server_and_its_rules(
    server: RunningServer,
    users: list[str],
    web: BasicAuthService,
    monkeypatch: pytest.MonkeyPatch,
    tmp_path: Path,
) -> None:
    connect(server, "carol", PASSWORD)
    register_web("carol-private", web)
    service = ConnectorService()
    assert isinstance(service.backend, RemoteOperations)
    current = service.get("carol-private")
    assert current.owner == "carol" and current.secrets == {}
    client = keybroker.get_client("carol-private", "http-endpoint", "/metrics")
    assert client.get("/metrics") == b"content of /metrics"
    service.update("carol-private", UpdateRequest(description="one", version=current.version))
    with pytest.raises(StaleVersionError):  # a second writer of the same version loses
        service.update("carol-private", UpdateRequest(description="two", version=current.version))
    assert service.get("carol-private").description == "one"

    # another user (another machine: its own config directory) sees nothing of it
    monkeypatch.setenv("KEYBROKER_CONFIG_DIR", str(tmp_path / "dave"))
    connect(server, "dave", PASSWORD)
    assert keybroker_json("connector", "list") == []
    for args in (["describe", "carol-private"], ["login", "carol-private"]):
        refused = cli("connector", *args)
        assert refused.returncode == 2, refused.stderr
        assert "carol-private" in refused.stderr and SERVICE_PASSWORD not in refused.stderr
    types = {t["connector_type"]: t for t in keybroker_json("connector", "list-types")}
    assert types["httpbasic"]["local"] is True and types["httpbasic"]["remote"] is True
    assert json.dumps(types).count(SERVICE_PASSWORD) == 0


def test_auto_configuration_reads_this_machines_credentials_not_the_servers(
    server: RunningServer,
    users: list[str],
    web: BasicAuthService,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    connect(server, "carol", PASSWORD)
    monkeypatch.setenv("HTTPBASIC_URL", web.url)
    monkeypatch.setenv("HTTPBASIC_USERNAME", web.username)
    monkeypatch.setenv("HTTPBASIC_PASSWORD", web.password)
    registered = keybroker_json(
        "connector", "register", "auto-web", "-t", "httpbasic", "--auto-configure"
    )
    assert registered["owner"] == "carol"
    assert registered["configuration"] == {"url": web.url, "username": web.username}
    assert registered["verification"]["connector_name"] == "auto-web"  # verified on the server
    assert "HTTPBASIC_PASSWORD" not in server.env  # the server had nothing to find
    ok(cli("connector", "delete", "auto-web", "--yes"))
