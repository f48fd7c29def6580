"""Who may see, use, change and read the secrets of a connector (the service layer's rules).

Own and shared connectors are visible and usable; another user's private one is
not found; only the owner or an admin changes or deletes one; only the owner
reads its secrets, admins included. Every refusal is audited as denied.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from keybroker.caller import Caller, CallerKind
from keybroker.connector import ConnectorQuery, UpdateRequest
from keybroker.errors import NotFoundError, PermissionDeniedError, StaleVersionError
from keybroker.events import AuditEvent
from keybroker.service import ConnectorService, LocalOperations
from keybroker.settings import Settings
from keybroker.store.memory import MemoryConnectorStore
from keybroker.store.sql import SQLConnectorStore
from peers.fake_plugins import register

SECRET = "k3y-value"


class Team:
    """Several callers over one store, every audit event collected."""

    def __init__(self, store: object, settings: Settings) -> None:
        self.store = store
        self.settings = settings
        self.events: list[AuditEvent] = []

    def as_(self, name: str, *, admin: bool = False, kind: CallerKind = CallerKind.USER) -> Any:
        backend = LocalOperations(
            store=self.store,  # type: ignore[arg-type]
            settings=self.settings,
            caller=Caller(name=name, admin=admin, kind=kind),
            audit_sinks=[self.events.append],
        )
        return ConnectorService(settings=self.settings, backend=backend)

    def denied(self) -> list[tuple[str, str, str]]:
        return [(e.actor, e.action, e.connector_name) for e in self.events if e.outcome == "denied"]


@pytest.fixture(params=["memory", "sqlite"])
def team(request: pytest.FixtureRequest, fake_plugins: Path, tmp_path: Path) -> Any:
    settings = Settings(config_dir=tmp_path / "kb", timeout_seconds=2.0)
    if request.param == "memory":
        store: object = MemoryConnectorStore()
    else:
        from keybroker.store.crypto import SecretBox

        store = SQLConnectorStore(f"sqlite:///{tmp_path / 'team.db'}", SecretBox(b"k" * 32))
    team = Team(store, settings)
    alice = team.as_("alice")
    register(alice, "alice-private", resource_type="fake-bucket")
    register(alice, "alice-shared", resource_type="fake-bucket", shared=True)
    register(alice, "alice-kube", resource_type="kubernetes-cluster", shared=True)
    register(team.as_("bob"), "bob-own", resource_type="fake-bucket")
    team.events.clear()
    return team


def test_register_records_the_caller_as_owner_and_the_sharing_asked_for(team: Team) -> None:
    alice = team.as_("alice")
    assert alice.get("alice-private").owner == "alice"
    assert alice.get("alice-private").shared is False
    assert alice.get("alice-shared").shared is True


def test_a_user_lists_own_and_shared_connectors_only(team: Team) -> None:
    names = [c.name for c in team.as_("bob").list()]
    assert names == ["alice-kube", "alice-shared", "bob-own"]
    assert [c.name for c in team.as_("carol").list()] == ["alice-kube", "alice-shared"]
    everything = ["alice-kube", "alice-private", "alice-shared", "bob-own"]
    assert [c.name for c in team.as_("root", admin=True).list()] == everything
    assert team.denied() == []  # a filtered list refuses nothing


def test_a_page_holds_only_visible_connectors_and_continues_after_the_last_name(
    team: Team,
) -> None:
    bob = team.as_("bob").backend
    page, after = bob.page(ConnectorQuery(), None, 2)
    names = [c.connector.name for c in page]
    assert names == ["alice-kube", "alice-shared"] and after == "alice-shared"
    page, after = bob.page(ConnectorQuery(), after, 2)
    assert [c.connector.name for c in page] == ["bob-own"] and after is None


def test_another_users_private_connector_is_not_found_and_each_attempt_is_audited(
    team: Team,
) -> None:
    bob = team.as_("bob")
    connector_id = str(team.as_("alice").get("alice-private").id)
    attempts = [
        lambda: bob.get("alice-private"),
        lambda: bob.get(connector_id, show_secrets=True),
        lambda: bob.verify("alice-private"),
        lambda: bob.issue_client("alice-private", resource_id="a"),
        lambda: bob.update("alice-private", UpdateRequest(description="mine now")),
        lambda: bob.delete("alice-private"),
    ]
    for attempt in attempts:
        with pytest.raises(NotFoundError) as caught:
            attempt()
        assert "alice" not in caught.value.message.replace("alice-private", "")
    assert [(a, action) for a, action, _ in team.denied()] == [
        ("bob", "get"),
        ("bob", "show-secrets"),
        ("bob", "verify"),
        ("bob", "issue"),
        ("bob", "update"),
        ("bob", "delete"),
    ]
    # a refusal names what was asked for, never the hidden connector's id
    assert all(e.connector_id is None for e in team.events if e.outcome == "denied")
    assert team.as_("alice").get("alice-private").description == ""


def test_a_shared_connector_is_used_by_others_but_its_secrets_stay_with_the_owner(
    team: Team,
) -> None:
    bob = team.as_("bob")
    assert bob.get("alice-shared").secrets == {}
    assert bob.verify("alice-shared").ok
    issued = bob.issue_client("alice-kube", resource_id="one-cluster")
    assert issued.client.connector_type == "fakekube" and issued.client.secrets == {}
    with pytest.raises(PermissionDeniedError, match="long-lived secrets"):
        bob.issue_client("alice-shared", resource_id="a")  # the client would be the connector
    with pytest.raises(PermissionDeniedError, match="only the owner"):
        bob.get("alice-shared", show_secrets=True)
    with pytest.raises(PermissionDeniedError, match="only its owner or an admin may update"):
        bob.update("alice-shared", UpdateRequest(description="mine now"))
    with pytest.raises(PermissionDeniedError, match="only its owner or an admin may delete"):
        bob.delete("alice-shared")
    assert team.denied() == [
        ("bob", "issue", "alice-shared"),
        ("bob", "show-secrets", "alice-shared"),
        ("bob", "update", "alice-shared"),
        ("bob", "delete", "alice-shared"),
    ]
    assert all(SECRET not in e.model_dump_json() for e in team.events)
    assert team.as_("alice").get("alice-shared").description == ""


def test_an_admin_manages_everything_but_never_reads_anothers_secrets(team: Team) -> None:
    root = team.as_("root", admin=True)
    assert root.verify("alice-private").ok
    updated = root.update("alice-private", UpdateRequest(description="checked by root"))
    assert updated.connector.owner == "alice"  # an admin's change keeps the owner
    with pytest.raises(PermissionDeniedError):
        root.get("alice-private", show_secrets=True)
    assert team.denied() == [("root", "show-secrets", "alice-private")]
    root.delete("bob-own")
    assert [c.name for c in root.list()] == ["alice-kube", "alice-private", "alice-shared"]


def test_an_admin_cannot_redirect_anothers_secrets_by_changing_attributes(team: Team) -> None:
    root = team.as_("root", admin=True)
    with pytest.raises(PermissionDeniedError, match="give every secret attribute anew"):
        root.update("alice-private", UpdateRequest(attributes={"account": "attacker"}))
    assert team.denied() == [("root", "update", "alice-private")]
    assert team.as_("alice").get("alice-private").configuration["account"] == "acct1"
    # with secrets of their own, the admin may change the attributes
    root.update("alice-private", UpdateRequest(attributes={"account": "new", "key": "k3y-2"}))
    assert team.as_("alice").get("alice-private").configuration["account"] == "new"


def test_a_service_account_is_never_an_admin(team: Team) -> None:
    robot = team.as_("robot", admin=True, kind=CallerKind.SERVICE_ACCOUNT)
    assert [c.name for c in robot.list()] == ["alice-kube", "alice-shared"]
    with pytest.raises(PermissionDeniedError):
        robot.delete("alice-shared")


def test_the_owner_reads_secrets_and_shares_or_unshares(team: Team) -> None:
    alice = team.as_("alice")
    shown = alice.get("alice-private", show_secrets=True)
    assert shown.secret_values() == [SECRET]
    alice.update("alice-private", UpdateRequest(shared=True))
    assert "alice-private" in [c.name for c in team.as_("bob").list()]
    alice.update("alice-private", UpdateRequest(shared=False))
    assert "alice-private" not in [c.name for c in team.as_("bob").list()]


def test_list_resources_covers_only_visible_connectors(team: Team) -> None:
    reports = team.as_("carol").list_resources(resource_type="fake-bucket")
    assert [r.connector_name for r in reports] == ["alice-shared"]


def test_an_update_based_on_an_old_version_is_refused(team: Team) -> None:
    alice = team.as_("alice")
    read = alice.get("alice-private")
    alice.update("alice-private", UpdateRequest(description="first", version=read.version))
    with pytest.raises(StaleVersionError):
        alice.update("alice-private", UpdateRequest(description="second", version=read.version))
    assert alice.get("alice-private").description == "first"


def test_issuing_is_audited_with_the_caller_and_the_resource(team: Team) -> None:
    issued = team.as_("bob").issue_client("alice-kube", resource_id="one-cluster")
    (event,) = team.events
    assert (event.action, event.actor, event.outcome) == ("issue", "bob", "success")
    assert (event.resource_id, event.expires_at) == ("one-cluster", issued.client.expires_at)
    owned = team.as_("alice").issue_client("alice-shared", resource_id="a")
    assert owned.client.secret_values() == [SECRET]  # the owner may take its own secrets


def test_the_local_caller_owns_everything_in_its_store(team: Team) -> None:
    local = team.as_("somebody-else", admin=True, kind=CallerKind.LOCAL)
    assert local.get("alice-private", show_secrets=True).secret_values() == [SECRET]


def test_a_server_refuses_auth_methods_that_use_its_own_environment(tmp_path: Path) -> None:
    from keybroker.connector import RegisterRequest

    settings = Settings(config_dir=tmp_path / "kb", timeout_seconds=2.0)
    store = MemoryConnectorStore()
    server = LocalOperations(
        store=store, settings=settings, caller=Caller(name="alice"), environment_credentials=False
    )
    ambient = RegisterRequest(
        name="ambient", connector_type="aws", auth_method="implicit", verify=False
    )
    with pytest.raises(PermissionDeniedError, match="environment of the server") as caught:
        server.register(ambient)
    assert caught.value.parameter == "auth_method"
    assert store.list() == []
    # one registered where it was allowed is not used where it is not
    LocalOperations(store=store, settings=settings, caller=Caller(name="alice")).register(
        ambient.model_copy(update={"attributes": {"region": "eu-west-1"}})
    )
    with pytest.raises(PermissionDeniedError, match="environment of the server"):
        server.issue_client("ambient", resource_type="s3-bucket", resource_id="s3://b")
