"""The remote backend against a scripted HTTP peer: what goes on the wire, what comes back.

The peer answers the REST contract's routes with canned JSON and records every
request, so these tests pin the client's half of the contract (bodies, query
strings, pages, the error shape) independently of the server. The same commands
against a real server process are in ``test_connectors_on_server.py``.
"""

from __future__ import annotations

import json
import threading
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest
from pydantic import SecretStr

from keybroker import ConnectorService
from keybroker.connector import ConnectorQuery, RegisterRequest, UpdateRequest
from keybroker.errors import (
    ConflictError,
    NotFoundError,
    PermissionDeniedError,
    PluginError,
    StaleVersionError,
    UnauthenticatedError,
)
from keybroker.operations import IssuePurpose
from keybroker.registry import PluginRegistry
from keybroker.remote.operations import RemoteOperations
from keybroker.service.local import LocalOperations
from keybroker.settings import Settings
from keybroker.views import ConnectorTypeView
from peers.cli_runner import run, run_json
from peers.http_peer import send_json

TOKEN = "kbs_" + "t" * 43
CONNECTOR_ID = uuid.UUID("11111111-2222-3333-4444-555555555555")


@dataclass
class Seen:
    """One request the peer received."""

    method: str
    path: str
    query: dict[str, list[str]]
    body: Any
    authorization: str | None


Answer = tuple[int, Any]


@dataclass
class ApiPeer:
    """A scripted keybroker API: ``routes[(method, path)]`` answers, ``seen`` records."""

    url: str = ""
    routes: dict[tuple[str, str], Answer | Callable[[Seen], Answer]] = field(default_factory=dict)
    seen: list[Seen] = field(default_factory=list)

    def answer(self, method: str, path: str, status: int, body: Any) -> None:
        self.routes[(method, path)] = (status, body)

    def last(self, method: str, path: str) -> Seen:
        return [s for s in self.seen if (s.method, s.path) == (method, path)][-1]


@pytest.fixture
def peer(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Iterator[ApiPeer]:
    state = ApiPeer()

    class Handler(BaseHTTPRequestHandler):
        def _handle(self) -> None:
            parts = urlsplit(self.path)
            length = int(self.headers.get("Content-Length") or 0)
            raw = self.rfile.read(length) if length else b""
            seen = Seen(
                self.command,
                parts.path,
                parse_qs(parts.query),
                json.loads(raw) if raw else None,
                self.headers.get("Authorization"),
            )
            state.seen.append(seen)
            route = state.routes.get((self.command, parts.path))
            if route is None:
                status, body = 404, error("not_found", f"no route {parts.path}")
            else:
                status, body = route(seen) if callable(route) else route
            send_json(self, status, body)

        do_GET = do_POST = do_PATCH = do_DELETE = _handle

        def log_message(self, *args: object) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    state.url = f"http://127.0.0.1:{server.server_address[1]}"
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    token_file = tmp_path / "token"
    token_file.write_text(TOKEN + "\n")
    monkeypatch.setenv("KEYBROKER_STORE_URL", state.url)
    monkeypatch.setenv("KEYBROKER_STORE_TOKEN_FILE", str(token_file))
    try:
        yield state
    finally:
        server.shutdown()
        server.server_close()


def error(code: str, message: str, parameter: str | None = None) -> dict[str, Any]:
    return {"error": {"code": code, "message": message, "parameter": parameter, "request_id": "r1"}}


def connector_json(name: str = "web", **changes: Any) -> dict[str, Any]:
    view = {
        "id": str(CONNECTOR_ID),
        "name": name,
        "connector_type": "httpbasic",
        "auth_method": "password",
        "resource_types": ["http-endpoint"],
        "resource_type": "http-endpoint",
        "resource_id": "http://127.0.0.1:1/",
        "configuration": {"username": "ann", "url": "http://127.0.0.1:1/"},
        "secrets": {"password": "[HIDDEN]"},
        "labels": {"team": "web"},
        "description": "",
        "owner": "ann",
        "shared": True,
        "version": 3,
    }
    view.update(changes)
    return view


def report_json(name: str = "web") -> dict[str, Any]:
    return {
        "connector_id": str(CONNECTOR_ID),
        "connector_name": name,
        "connector_type": "httpbasic",
        "resources": [{"resource_type": "http-endpoint", "resource_ids": ["http://127.0.0.1:1/"]}],
    }


def test_the_backend_is_the_server_when_the_settings_name_one(peer: ApiPeer) -> None:
    service = ConnectorService()
    assert isinstance(service.backend, RemoteOperations)
    assert service.backend.url == peer.url


def test_a_stored_session_selects_the_server_and_a_database_url_overrides_it(
    peer: ApiPeer, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    from keybroker.remote.session import ServerSession, save_session

    monkeypatch.delenv("KEYBROKER_STORE_URL")
    monkeypatch.delenv("KEYBROKER_STORE_TOKEN_FILE")
    assert isinstance(ConnectorService().backend, LocalOperations)  # not connected
    save_session(Settings.from_env(), ServerSession(url=peer.url, token=TOKEN))
    assert isinstance(ConnectorService().backend, RemoteOperations)
    monkeypatch.setenv("KEYBROKER_STORE_URL", f"sqlite:///{tmp_path / 'team.db'}")
    assert isinstance(ConnectorService().backend, LocalOperations)  # the advanced mode


def test_register_sends_the_secrets_in_clear_once_and_parses_the_registration(
    peer: ApiPeer,
) -> None:
    peer.answer(
        "POST", "/api/v1/connectors", 201, {**connector_json(), "verification": report_json()}
    )
    request = RegisterRequest(
        name="web",
        connector_type="httpbasic",
        attributes={"username": "ann", "password": SecretStr("pw-from-python-api")},
        labels={"team": "web"},
    )
    registration = ConnectorService().register(request)
    sent = peer.last("POST", "/api/v1/connectors")
    assert sent.authorization == f"Bearer {TOKEN}"
    assert sent.body["attributes"] == {"username": "ann", "password": "pw-from-python-api"}
    assert sent.body["name"] == "web" and sent.body["verify"] is True
    assert registration.connector.id == CONNECTOR_ID
    assert registration.connector.secret_names == ["password"]
    assert registration.connector.secrets == {}
    assert registration.verification is not None
    assert registration.verification.resources[0].resource_ids == ["http://127.0.0.1:1/"]


def test_list_follows_every_page_with_the_filters(peer: ApiPeer) -> None:
    def pages(seen: Seen) -> Answer:
        if "cursor" not in seen.query:
            return 200, {"items": [connector_json("a")], "next_cursor": "c2"}
        return 200, {"items": [connector_json("b")], "next_cursor": None}

    peer.routes[("GET", "/api/v1/connectors")] = pages
    found = ConnectorService().list(
        ConnectorQuery(
            name="web", connector_type="httpbasic", labels={"team": "web", "critical": None}
        )
    )
    assert [c.name for c in found] == ["a", "b"]
    first, second = [s for s in peer.seen if s.path == "/api/v1/connectors"]
    assert first.query == {
        "name": ["web"],
        "connector_type": ["httpbasic"],
        "label": ["team=web", "critical"],
    }
    assert second.query["cursor"] == ["c2"]


def test_describe_asks_for_secrets_only_when_told(peer: ApiPeer) -> None:
    def describe(seen: Seen) -> Answer:
        shown = seen.query["show_secrets"] == ["true"]
        return 200, connector_json(secrets={"password": "pw-1" if shown else "[HIDDEN]"})

    peer.routes[("GET", "/api/v1/connectors/team%2Fweb")] = describe
    service = ConnectorService()
    assert service.get("team/web").secrets == {}
    shown = service.get("team/web", show_secrets=True)
    assert shown.secrets["password"].get_secret_value() == "pw-1"
    data = run_json("connector", "describe", "team/web")
    assert data["secrets"] == {"password": "[HIDDEN]"} and data["owner"] == "ann"


def test_update_delete_verify_and_resources_reach_their_routes(peer: ApiPeer) -> None:
    peer.answer("PATCH", "/api/v1/connectors/web", 200, {**connector_json(), "verification": None})
    peer.answer("DELETE", "/api/v1/connectors/web", 200, connector_json())
    peer.answer("POST", "/api/v1/connectors/web/verify", 200, report_json())
    reports = {"items": [report_json(), report_json()], "next_cursor": None}
    peer.answer("GET", "/api/v1/resources", 200, reports)
    service = ConnectorService()
    updated = service.update(
        "web", UpdateRequest(attributes={"password": SecretStr("pw-2")}, verify=False)
    )
    assert peer.last("PATCH", "/api/v1/connectors/web").body["attributes"] == {"password": "pw-2"}
    assert updated.verification is None and updated.connector.version == 3
    assert service.delete("web").name == "web"
    report = service.verify("web", "http-endpoint", "http://127.0.0.1:1/")
    assert report.ok
    assert peer.last("POST", "/api/v1/connectors/web/verify").body == {
        "resource_type": "http-endpoint",
        "resource_id": "http://127.0.0.1:1/",
    }
    assert len(service.list_resources(resource_type="http-endpoint")) == 2
    assert peer.last("GET", "/api/v1/resources").query == {"resource_type": ["http-endpoint"]}


@pytest.mark.parametrize(
    ("status", "code", "expected", "exit_code"),
    [
        (404, "not_found", NotFoundError, 2),
        (403, "forbidden", PermissionDeniedError, 1),
        (409, "conflict", ConflictError, 2),
        (409, "stale_version", StaleVersionError, 1),
        (401, "not_authenticated", UnauthenticatedError, 1),
    ],
)
def test_the_servers_errors_are_the_same_classes_and_exit_codes(
    peer: ApiPeer, status: int, code: str, expected: type[Exception], exit_code: int
) -> None:
    peer.answer(
        "POST",
        "/api/v1/connectors/web/verify",
        status,
        error(code, "the server's own words", "resource_type"),
    )
    with pytest.raises(expected) as raised:
        ConnectorService().verify("web")
    assert raised.value.parameter == "resource_type"  # type: ignore[attr-defined]
    result = run("connector", "verify", "web")
    assert result.exit_code == exit_code
    assert "Error: -r/--resource-type: the server's own words" in result.output


def _type_json(connector_type: str, base: str = "httpbasic") -> dict[str, Any]:
    view = ConnectorTypeView.from_availability(PluginRegistry().availability(base))
    return view.model_copy(update={"connector_type": connector_type}).model_dump(mode="json")


def test_list_types_merges_local_plugins_and_the_servers_types(peer: ApiPeer) -> None:
    peer.answer(
        "GET",
        "/api/v1/connector-types",
        200,
        {"items": [_type_json("aws", "aws"), _type_json("mainframe")], "next_cursor": None},
    )
    peer.answer("GET", "/api/v1/connector-types/mainframe", 200, _type_json("mainframe"))
    types = {t["connector_type"]: t for t in run_json("connector", "list-types")}
    assert (types["aws"]["local"], types["aws"]["remote"]) == (True, True)
    assert (types["kubernetes"]["local"], types["kubernetes"]["remote"]) == (True, False)
    assert (types["mainframe"]["local"], types["mainframe"]["remote"]) == (False, True)
    assert types["mainframe"]["local_problem"] == "keybroker-mainframe is not installed here"
    table = run("connector", "list-types")
    assert table.exit_code == 0, table.output
    assert "mainframe" in table.output and "LOCAL" in table.output and "REMOTE" in table.output
    described = run("connector", "describe-type", "mainframe")
    assert described.exit_code == 0, described.output
    assert "not usable here: keybroker-mainframe is not installed here" in described.output


def test_a_type_neither_side_has_says_what_to_install_where(peer: ApiPeer) -> None:
    result = run("connector", "describe-type", "zos")
    assert result.exit_code == 2
    assert f"nor the server at {peer.url} has it" in result.output
    assert "install keybroker-zos on the server" in result.output
    peer.answer(
        "POST",
        "/api/v1/connectors",
        404,
        error("not_found", "unknown connector type 'gcp'; known types: aws", "connector_type"),
    )
    refused = run("connector", "register", "g", "-t", "gcp", "--no-verify")
    assert refused.exit_code == 2
    assert f"the server at {peer.url} lacks keybroker-gcp" in refused.output


def test_a_client_issued_for_a_type_not_installed_here_names_the_package(peer: ApiPeer) -> None:
    issued = {
        "connector_id": str(CONNECTOR_ID),
        "connector_name": "mf",
        "resource_type": "mainframe-lpar",
        "resource_id": "lpar1",
        "client": {
            "name": "mf-client",
            "connector_type": "mainframe",
            "auth_method": "token",
            "secrets": {"token": "short-lived-9"},
        },
    }
    peer.answer("POST", "/api/v1/connectors/mf/clients", 201, issued)
    result = run("connector", "login", "mf")
    assert result.exit_code == 1
    assert "install keybroker-mainframe here" in result.output
    assert "short-lived-9" not in result.output
    assert peer.last("POST", "/api/v1/connectors/mf/clients").body["purpose"] == "login"
    with pytest.raises(PluginError, match="install keybroker-mainframe here"):
        ConnectorService().get_client("mf")
    assert peer.last("POST", "/api/v1/connectors/mf/clients").body["purpose"] == str(
        IssuePurpose.CLIENT
    )


def test_interactive_registration_of_a_type_only_the_server_has_says_what_to_install(
    peer: ApiPeer,
) -> None:
    peer.answer("GET", "/api/v1/connector-types/mainframe", 200, _type_json("mainframe"))
    result = run("connector", "register", "mf", "-t", "mainframe", "-i")
    assert result.exit_code == 2
    assert "install keybroker-mainframe here, or register without -i" in result.output
    assert not [s for s in peer.seen if s.method == "POST"]


def test_status_names_a_database_store_url_without_its_password(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.setenv("KEYBROKER_STORE_URL", "postgresql+psycopg://kb:db-pw-77@db/keybroker")
    result = run("status")
    assert result.exit_code == 0, result.output
    assert "KEYBROKER_STORE_URL names the database postgresql+psycopg://kb@db/keybroker" in (
        result.output
    )
    assert "db-pw-77" not in result.output
