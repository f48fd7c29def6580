"""Audit events: every operation, with the caller as actor and never a secret."""

from __future__ import annotations

from pathlib import Path

from keybroker.caller import Caller
from keybroker.connector import UpdateRequest
from keybroker.events import AuditEvent
from keybroker.hookspecs import hookimpl
from keybroker.service import ConnectorService, LocalOperations
from keybroker.settings import Settings
from keybroker.store.memory import MemoryConnectorStore
from peers.fake_plugins import register


class Listener:
    def __init__(self) -> None:
        self.seen: list[AuditEvent] = []

    @hookimpl
    def audit_event(self, event: AuditEvent) -> None:
        self.seen.append(event)


def test_audit_listeners_see_operations_without_secrets(service: ConnectorService) -> None:
    listener = Listener()
    service.registry.register_open_plugin(listener)
    register(service, "c", resource_type="fake-bucket")
    service.verify("c")
    service.get("c", show_secrets=True)
    service.issue_client("c", resource_id="a")
    service.update("c", UpdateRequest(description="changed"))
    service.delete("c")
    assert [(e.action, e.connector_name) for e in listener.seen] == [
        ("register", "c"),
        ("verify", "c"),
        ("show-secrets", "c"),
        ("issue", "c"),
        ("update", "c"),
        ("delete", "c"),
    ]
    issued = listener.seen[3]
    assert (issued.resource_type, issued.resource_id) == ("fake-bucket", "fake://a")
    assert all("k3y-value" not in e.model_dump_json() for e in listener.seen)


def test_the_actor_is_the_caller_not_the_connector_owner(
    fake_plugins: Path, tmp_path: Path
) -> None:
    store = MemoryConnectorStore()
    settings = Settings(config_dir=tmp_path / "kb", timeout_seconds=2.0)
    seen: list[AuditEvent] = []

    def as_user(name: str) -> ConnectorService:
        backend = LocalOperations(
            store=store, settings=settings, caller=Caller(name=name), audit_sinks=[seen.append]
        )
        return ConnectorService(settings=settings, backend=backend)

    connector, _ = register(as_user("alice"), "team-bucket", shared=True)
    assert connector.owner == "alice"
    as_user("bob").verify("team-bucket")
    assert [(e.action, e.actor) for e in seen] == [("register", "alice"), ("verify", "bob")]


def test_by_default_the_caller_is_the_local_user(service: ConnectorService) -> None:
    connector, _ = register(service, "mine")
    assert connector.owner == Caller.local().name
