"""The audit log: who did what, to which connector or account, with which outcome.

:class:`AuditLog` appends and queries. The connector service's events come in
through :meth:`AuditLog.sink` (one per request, an ``AuditSink`` of
:mod:`keybroker.service.audit`) or :meth:`AuditLog.record`, with the calling
principal (not the connector's owner) as the actor.
"""

from __future__ import annotations

import contextlib
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum
from typing import TYPE_CHECKING, Any

from keybroker.server.database import aware, naive, reader, utcnow
from keybroker.server.models import AuditRecord

if TYPE_CHECKING:
    from sqlalchemy.engine import Engine, Row

    from keybroker.events import AuditEvent
    from keybroker.server.principal import Principal
    from keybroker.service.audit import AuditSink


class Outcome(StrEnum):
    """How an audited action ended."""

    SUCCESS = "success"
    DENIED = "denied"
    FAILED = "failed"


@dataclass(frozen=True)
class AuditQuery:
    """Filters of an audit log listing; all given filters must match."""

    actor: str | None = None
    connector: str | None = None
    action: str | None = None
    since: datetime | None = None


def _cut(value: str | None, length: int) -> str | None:
    """``value`` shortened to its column's length (an entry is never refused for length)."""
    return value if value is None or len(value) <= length else value[: length - 1] + "…"


def _record(row: Row[Any]) -> AuditRecord:
    data = dict(row._mapping)
    data["at"] = aware(naive(data["at"]))
    data["expires_at"] = aware(naive(data["expires_at"]))
    return AuditRecord(**data)


class AuditLog:
    """Appends to and reads the ``audit_log`` table."""

    def __init__(self, engine: Engine) -> None:
        from keybroker.store.sql import sqlite_file
        from keybroker.store.writer_turns import WriterTurns

        self._engine = engine
        self._reader = reader(engine)
        # appends are the server's most frequent write: on SQLite they queue for it
        sqlite = engine.dialect.name == "sqlite"
        url = engine.url.render_as_string(hide_password=False)
        self._turns = WriterTurns(sqlite_file(url)) if sqlite else None

    def append(
        self,
        action: str,
        *,
        principal: Principal | None,
        outcome: Outcome = Outcome.SUCCESS,
        actor: str | None = None,
        connector_id: str | None = None,
        connector_name: str | None = None,
        resource_type: str | None = None,
        resource_id: str | None = None,
        target: str | None = None,
        expires_at: datetime | None = None,
        client_ip: str | None = None,
        detail: str | None = None,
    ) -> None:
        """Write one entry; ``actor`` names an unauthenticated caller (e.g. a sign-in name)."""
        from sqlalchemy import insert

        from keybroker.server.schema import audit_log

        values = {
            "at": utcnow(),
            "actor": principal.name if principal else _cut(actor or "anonymous", 128),
            "actor_kind": principal.kind.value if principal else "anonymous",
            "credential_kind": principal.credential_kind.value if principal else None,
            "action": action,
            "outcome": outcome.value,
            "connector_id": _cut(connector_id, 36),
            "connector_name": _cut(connector_name, 128),
            "resource_type": _cut(resource_type, 64),
            "resource_id": _cut(resource_id, 512),
            "target": _cut(target, 255),
            "expires_at": naive(expires_at),
            "client_ip": _cut(client_ip, 64),
            "detail": detail,
        }
        turn = self._turns.turn() if self._turns else contextlib.nullcontext()
        with turn, self._engine.begin() as connection:
            connection.execute(insert(audit_log).values(**values))

    def close(self) -> None:
        """Release what appends hold open between writes."""
        if self._turns is not None:
            self._turns.close()

    def record(
        self,
        event: AuditEvent,
        principal: Principal,
        *,
        outcome: Outcome = Outcome.SUCCESS,
        expires_at: datetime | None = None,
        client_ip: str | None = None,
    ) -> None:
        """The sink for the connector service's events: ``connector.<action>`` by ``principal``."""
        self.append(
            f"connector.{event.action}",
            principal=principal,
            outcome=outcome,
            connector_id=str(event.connector_id) if event.connector_id else None,
            connector_name=event.connector_name,
            resource_type=event.resource_type,
            resource_id=event.resource_id,
            expires_at=expires_at,
            client_ip=client_ip,
        )

    def sink(self, principal: Principal, client_ip: str | None = None) -> AuditSink:
        """An audit sink for the connector service (``keybroker.service.audit.AuditSink``)
        serving one request: its events are written with ``principal`` as the actor.

        Errors propagate: an operation whose audit entry cannot be written fails.
        """

        def write(event: AuditEvent) -> None:
            self.record(
                event,
                principal,
                outcome=Outcome(event.outcome),
                expires_at=event.expires_at,
                client_ip=client_ip,
            )

        return write

    def query(
        self, query: AuditQuery, limit: int, before_id: int | None = None
    ) -> tuple[list[AuditRecord], int | None]:
        """Entries matching ``query``, newest first, older than ``before_id``.

        Returns the page and the id to continue before (None on the last page).
        """
        from sqlalchemy import select

        from keybroker.server.schema import audit_log

        statement = select(audit_log).order_by(audit_log.c.id.desc()).limit(limit + 1)
        if query.actor is not None:
            statement = statement.where(audit_log.c.actor == query.actor)
        if query.connector is not None:
            statement = statement.where(
                (audit_log.c.connector_name == query.connector)
                | (audit_log.c.connector_id == query.connector)
            )
        if query.action is not None:
            statement = statement.where(audit_log.c.action == query.action)
        if query.since is not None:
            statement = statement.where(audit_log.c.at >= naive(query.since))
        if before_id is not None:
            statement = statement.where(audit_log.c.id < before_id)
        with self._reader.connect() as connection:
            rows = connection.execute(statement).all()
        page = [_record(row) for row in rows[:limit]]
        return page, (page[-1].id if len(rows) > limit else None)
