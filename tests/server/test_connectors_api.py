"""Connectors through a real server process over HTTP, on SQLite, PostgreSQL and MariaDB.

The connectors are of the example ``httpbasic`` type, verified against a real
basic-auth service. Every answer is kept, so the last test can show that the
service's password never travelled anywhere but to its owner's explicit
``show_secrets`` and in issued clients, nor reached the server log or the
SQLite database file.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

import pytest

from peers.basic_auth_server import BasicAuthService, basic_auth_service
from peers.keybroker_server import ADMIN_PASSWORD, RunningServer

PASSWORD = "connector-user-password-1"
SERVICE_PASSWORD = "svc-Pa55word-that-must-not-leak"
API = "/api/v1"


@dataclass
class Session:
    """A signed-in user of the server, recording every answer it got."""

    server: RunningServer
    token: str
    answers: list[tuple[str, str, Any]] = field(default_factory=list)

    def call(self, method: str, path: str, body: Any = None) -> tuple[int, Any]:
        status, _, payload = self.server.request(method, API + path, body, self.token)
        self.answers.append((method, path, payload))
        return status, payload


@dataclass
class Team:
    admin: Session
    alice: Session
    bob: Session
    web: BasicAuthService

    def sessions(self) -> list[Session]:
        return [self.admin, self.alice, self.bob]


@pytest.fixture(scope="module")
def team(server: RunningServer) -> Iterator[Team]:
    admin = Session(server, server.sign_in("admin", ADMIN_PASSWORD))
    for name in ("alice", "bob"):
        status, body = admin.call("POST", "/users", {"name": name, "password": PASSWORD})
        assert status == 201, body
    with basic_auth_service("svc", SERVICE_PASSWORD) as web:
        yield Team(
            admin,
            Session(server, server.sign_in("alice", PASSWORD)),
            Session(server, server.sign_in("bob", PASSWORD)),
            web,
        )


def _register(session: Session, team: Team, name: str, **extra: Any) -> tuple[int, Any]:
    body = {
        "name": name,
        "connector_type": "httpbasic",
        "attributes": {
            "url": team.web.url,
            "username": team.web.username,
            "password": team.web.password,
        },
        **extra,
    }
    return session.call("POST", "/connectors", body)


def _names(page: Any) -> list[str]:
    return [item["name"] for item in page["items"]]


def test_connector_types_are_the_servers(team: Team) -> None:
    status, page = team.bob.call("GET", "/connector-types?resource_type=http-endpoint")
    assert status == 200, page
    assert [t["connector_type"] for t in page["items"]] == ["httpbasic"]
    assert page["next_cursor"] is None
    status, described = team.bob.call("GET", "/connector-types/httpbasic")
    assert status == 200 and described["auth_methods"][0]["auth_method"] == "password"
    status, error = team.bob.call("GET", "/connector-types/nosuchtype")
    assert status == 404 and error["error"]["code"] == "not_found"


def test_register_describe_verify_issue_update_delete(team: Team) -> None:
    alice = team.alice
    status, registered = _register(alice, team, "web", labels={"env": "test"})
    assert status == 201, registered
    assert registered["owner"] == "alice" and registered["shared"] is False
    assert registered["secrets"] == {"password": "[HIDDEN]"}
    assert registered["verification"]["resources"], registered
    assert registered["version"] == 1

    status, shown = alice.call("GET", "/connectors/web")
    assert status == 200 and shown["secrets"] == {"password": "[HIDDEN]"}
    status, listed = alice.call("GET", "/connectors?name=web")
    assert status == 200 and [c["description"] for c in listed["items"]] == [""]
    status, shown = alice.call("GET", "/connectors/web?show_secrets=true")
    assert status == 200 and shown["secrets"] == {"password": SERVICE_PASSWORD}

    status, report = alice.call(
        "POST", "/connectors/web/verify", {"resource_type": "http-endpoint"}
    )
    assert status == 200, report
    (entry,) = report["resources"]
    assert sorted(entry["resource_ids"]) == ["/metrics", "/reports"]

    status, resources = alice.call("GET", "/resources?resource_type=http-endpoint")
    assert status == 200 and [r["connector_name"] for r in resources["items"]] == ["web"]

    status, issued = alice.call(
        "POST",
        "/connectors/web/clients",
        {"resource_type": "http-endpoint", "resource_id": "/reports", "purpose": "client"},
    )
    assert status == 201, issued
    assert issued["connector_name"] == "web" and issued["resource_id"] == "/reports"
    assert issued["client"]["secrets"] == {"password": SERVICE_PASSWORD}

    status, updated = alice.call(
        "PATCH", "/connectors/web", {"description": "the reports service", "version": 1}
    )
    assert status == 200, updated
    assert (updated["description"], updated["version"]) == ("the reports service", 2)
    status, listed = alice.call("GET", "/connectors?name=web")  # the list renders it afresh
    assert status == 200
    assert [(c["description"], c["version"]) for c in listed["items"]] == [
        ("the reports service", 2)
    ]
    status, stale = alice.call("PATCH", "/connectors/web", {"description": "lost", "version": 1})
    assert status == 409 and stale["error"]["code"] == "stale_version", stale
    status, again = _register(alice, team, "web")
    assert status == 409 and again["error"]["code"] == "conflict", again
    assert again["error"]["parameter"] == "name"

    status, deleted = alice.call("DELETE", "/connectors/web")
    assert status == 200 and deleted["name"] == "web"
    status, gone = alice.call("GET", "/connectors/web")
    assert status == 404 and gone["error"]["code"] == "not_found"


def test_a_failed_verification_stores_nothing(team: Team) -> None:
    body = {
        "name": "wrong-password",
        "connector_type": "httpbasic",
        "attributes": {"url": team.web.url, "username": "svc", "password": "not-it"},
    }
    status, error = team.alice.call("POST", "/connectors", body)
    assert status == 422 and error["error"]["code"] == "credentials_refused", error
    assert team.alice.call("GET", "/connectors/wrong-password")[0] == 404


@pytest.mark.parametrize(
    ("body", "parameter"),
    [
        ({"name": "bad name", "connector_type": "httpbasic"}, "name"),
        ({"name": "x", "connector_type": "nosuchtype"}, "connector_type"),
        ({"name": "x", "connector_type": "httpbasic", "auto_configure": True}, "auto_configure"),
        ({"name": "x", "connector_type": "httpbasic", "attributes": {"url": 3}}, "attributes"),
        # the server's own cloud credentials are not for its users (unless its admin says so)
        ({"name": "x", "connector_type": "aws", "auth_method": "implicit"}, "auth_method"),
    ],
)
def test_bad_registrations_are_4xx_naming_the_field(
    team: Team, body: dict[str, Any], parameter: str
) -> None:
    status, error = team.alice.call("POST", "/connectors", body)
    assert 400 <= status < 500, error
    assert error["error"]["parameter"] == parameter, error
    assert team.alice.call("GET", "/connectors/x")[0] == 404


def test_bad_list_filters_are_400(team: Team) -> None:
    status, error = team.alice.call("GET", "/connectors?cursor=bm90LWEtY3Vyc29y")
    assert status == 400 and error["error"]["parameter"] == "cursor"
    status, error = team.alice.call("GET", "/connectors?label=%3Dvalue")
    assert status == 400 and error["error"]["parameter"] == "label"
    status, error = team.alice.call("GET", "/connectors?resource_id=x")
    assert status == 400 and error["error"]["parameter"] == "resource_type"


def _audit(team: Team, user: str) -> list[dict[str, Any]]:
    status, page = team.admin.call("GET", f"/audit?user={user}&limit=200")
    assert status == 200, page
    return list(page["items"])


def test_authorization_matrix_with_two_users_and_an_admin(team: Team) -> None:
    alice, bob, admin = team.alice, team.bob, team.admin
    assert _register(alice, team, "alice-private")[0] == 201
    assert _register(alice, team, "alice-shared", shared=True)[0] == 201
    status, private = alice.call("GET", "/connectors/alice-private")
    private_id = private["id"]

    status, page = bob.call("GET", "/connectors")
    assert status == 200 and "alice-private" not in _names(page)
    assert "alice-shared" in _names(page)
    status, resources = bob.call("GET", "/resources")
    assert "alice-private" not in [r["connector_name"] for r in resources["items"]]

    target = {"resource_type": "http-endpoint", "resource_id": "/reports"}
    refusals = [
        ("GET", "/connectors/alice-private", None, 404),
        ("GET", f"/connectors/{private_id}?show_secrets=true", None, 404),
        ("POST", "/connectors/alice-private/verify", {}, 404),
        ("POST", "/connectors/alice-private/clients", target, 404),
        ("PATCH", "/connectors/alice-private", {"shared": True}, 404),
        ("DELETE", "/connectors/alice-private", None, 404),
        ("GET", "/connectors/alice-shared?show_secrets=true", None, 403),
        ("PATCH", "/connectors/alice-shared", {"description": "bob's now"}, 403),
        ("DELETE", "/connectors/alice-shared", None, 403),
        # an httpbasic client is the connector itself: its long-lived password is the owner's
        ("POST", "/connectors/alice-shared/clients", target, 403),
    ]
    for method, path, body, expected in refusals:
        status, answer = bob.call(method, path, body)
        assert status == expected, (method, path, answer)
        if private_id not in path:
            assert private_id not in json.dumps(answer)

    # a shared connector is usable by others, without its secrets
    assert bob.call("GET", "/connectors/alice-shared")[1]["secrets"] == {"password": "[HIDDEN]"}
    assert bob.call("POST", "/connectors/alice-shared/verify", {})[0] == 200
    status, reports = bob.call("GET", "/resources?resource_type=http-endpoint")
    assert "alice-shared" in [r["connector_name"] for r in reports["items"]]

    # an admin sees and manages everything, but never reads another's secrets
    assert admin.call("GET", "/connectors/alice-private")[0] == 200
    status, answer = admin.call("GET", "/connectors/alice-private?show_secrets=true")
    assert status == 403 and answer["error"]["code"] == "forbidden"
    # nor sends them elsewhere: pointing the connector at another host needs new secrets
    redirect = {"attributes": {"url": "http://127.0.0.1:9/collect"}}
    status, answer = admin.call("PATCH", "/connectors/alice-private", redirect)
    assert status == 403 and answer["error"]["parameter"] == "attributes", answer

    denied = [
        (e["action"], e["connector_name"]) for e in _audit(team, "bob") if e["outcome"] == "denied"
    ]
    assert sorted(denied) == sorted(
        [
            ("connector.get", "alice-private"),
            ("connector.show-secrets", private_id),
            ("connector.verify", "alice-private"),
            ("connector.issue", "alice-private"),
            ("connector.update", "alice-private"),
            ("connector.delete", "alice-private"),
            ("connector.show-secrets", "alice-shared"),
            ("connector.update", "alice-shared"),
            ("connector.delete", "alice-shared"),
            ("connector.issue", "alice-shared"),
        ]
    )
    # bob's own view of the audit log tells nothing of alice's private connector
    status, own = bob.call("GET", "/audit?limit=200&action=connector.get")
    assert status == 200 and own["items"][0]["outcome"] == "denied"
    assert all(e["connector_id"] is None for e in own["items"] if e["outcome"] == "denied")

    issues = [e for e in _audit(team, "alice") if e["action"] == "connector.issue"]
    assert [(e["connector_name"], e["resource_id"], e["outcome"]) for e in issues] == [
        ("web", "/reports", "success")
    ]
    verified = [e for e in _audit(team, "bob") if e["action"] == "connector.verify"]
    assert [e["outcome"] for e in verified if e["connector_name"] == "alice-shared"] == ["success"]
    admin_entries = _audit(team, "admin")
    admin_denied = [
        (e["action"], e["connector_name"]) for e in admin_entries if e["outcome"] == "denied"
    ]
    assert admin_denied == [
        ("connector.update", "alice-private"),
        ("connector.show-secrets", "alice-private"),
    ]

    # the owner shares and unshares; the admin deletes
    assert alice.call("PATCH", "/connectors/alice-private", {"shared": True})[0] == 200
    assert bob.call("GET", "/connectors/alice-private")[0] == 200
    assert alice.call("PATCH", "/connectors/alice-private", {"shared": False})[0] == 200
    assert bob.call("GET", "/connectors/alice-private")[0] == 404
    assert admin.call("DELETE", "/connectors/alice-private")[0] == 200
    assert alice.call("GET", "/connectors/alice-private")[0] == 404


def test_pages_cover_every_visible_connector_once_in_name_order(team: Team) -> None:
    names = [f"page-{i:03d}" for i in range(120)]
    for index, name in enumerate(names):
        status, body = _register(team.bob, team, name, verify=False, shared=index % 3 == 0)
        assert status == 201, body
    seen: list[str] = []
    cursor = ""
    pages = 0
    while True:
        status, page = team.bob.call("GET", f"/connectors?name=page-&limit=50{cursor}")
        assert status == 200, page
        seen += _names(page)
        pages += 1
        if page["next_cursor"] is None:
            break
        cursor = f"&cursor={page['next_cursor']}"
    assert (seen, pages) == (names, 3)
    status, page = team.alice.call("GET", "/connectors?name=page-&limit=200")
    assert _names(page) == names[::3]  # alice sees only the shared ones
    status, page = team.bob.call("GET", "/connectors?label=env&limit=5")
    assert status == 200 and page["items"] == []


def test_the_service_password_never_leaks(team: Team, server: RunningServer) -> None:
    for session in team.sessions():
        for method, path, payload in session.answers:
            allowed = "show_secrets=true" in path or path.endswith("/clients")
            if not allowed:
                assert SERVICE_PASSWORD not in json.dumps(payload), (method, path)
    assert SERVICE_PASSWORD not in server.log_text()
    database = server.data_dir / "server.db"
    if server.database_url.startswith("sqlite"):
        for path in server.data_dir.iterdir():
            assert SERVICE_PASSWORD.encode() not in path.read_bytes(), path
        assert database.exists()


def test_names_sort_and_page_by_code_point_on_every_database(team: Team) -> None:
    names = ["b-2", "B-2", "b.2", "b_2", "b2", "Zb", "0b", "bb"]
    for name in names:
        status, body = _register(team.alice, team, name, verify=False, labels={"order": "x"})
        assert status == 201, body
    seen: list[str] = []
    cursor = ""
    while True:
        status, page = team.alice.call("GET", f"/connectors?label=order%3Dx&limit=3{cursor}")
        assert status == 200, page
        seen += _names(page)
        if page["next_cursor"] is None:
            break
        cursor = f"&cursor={page['next_cursor']}"
    assert seen == sorted(names)  # "0b", "B-2", "Zb", "b-2", "b.2", "b2", "b_2", "bb"
    status, page = team.alice.call("GET", "/connectors?name=B&limit=50")
    assert _names(page) == ["B-2"]  # a name filter compares case and all


def test_an_account_owning_connectors_is_not_deleted_so_its_name_inherits_nothing(
    team: Team, server: RunningServer
) -> None:
    admin = team.admin
    assert admin.call("POST", "/users", {"name": "carol", "password": PASSWORD})[0] == 201
    carol = Session(server, server.sign_in("carol", PASSWORD))
    assert _register(carol, team, "carol-web")[0] == 201
    status, refused = admin.call("DELETE", "/users/carol")
    assert status == 409
    assert "owns 1 connector(s); delete them first" in refused["error"]["message"]
    assert carol.call("GET", "/connectors/carol-web")[0] == 200  # nothing was deleted
    # once her connector is gone the account goes, and a new 'carol' starts with nothing
    assert admin.call("DELETE", "/connectors/carol-web")[0] == 200
    assert admin.call("DELETE", "/users/carol")[0] == 204
    assert admin.call("POST", "/users", {"name": "carol", "password": PASSWORD})[0] == 201
    again = Session(server, server.sign_in("carol", PASSWORD))
    status, page = again.call("GET", "/connectors?name=carol")
    assert status == 200 and page["items"] == []
