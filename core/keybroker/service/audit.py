"""Audit events: what was done to which connector, by whom.

:class:`AuditTrail` builds one :class:`~keybroker.events.AuditEvent` per
successful operation and per refused one (outcome ``denied``), with the
*caller* as the actor (not the connector's owner), and hands it to every sink.
Locally the only sink is the plugins' ``audit_event`` open hook; a team server
adds a persistent one.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from datetime import datetime

from keybroker.caller import Caller
from keybroker.connector import Connector
from keybroker.events import AuditEvent
from keybroker.registry import PluginRegistry

log = logging.getLogger(__name__)

#: receives every audit event; a sink that must not lose events lets its errors propagate
AuditSink = Callable[[AuditEvent], None]


def open_hook_sink(registry: PluginRegistry) -> AuditSink:
    """A sink calling every plugin's ``audit_event`` hook; a failing listener is only logged."""

    def sink(event: AuditEvent) -> None:
        try:
            registry.open_hooks().audit_event(event=event)
        except Exception:  # an audit listener never breaks an operation
            log.warning("audit listener failed for %s", event.action, exc_info=True)

    return sink


class AuditTrail:
    """Records operations on connectors for one caller."""

    def __init__(self, caller: Caller, sinks: Sequence[AuditSink]) -> None:
        self.caller = caller
        self.sinks = list(sinks)

    def record(
        self,
        action: str,
        connector: Connector,
        resource_type: str | None = None,
        resource_id: str | None = None,
        expires_at: datetime | None = None,
    ) -> None:
        """Send one event about ``connector`` to every sink."""
        self._send(
            AuditEvent(
                action=action,
                connector_id=connector.id,
                connector_name=connector.name,
                connector_type=connector.connector_type,
                resource_type=resource_type,
                resource_id=resource_id,
                actor=self.caller.name,
                expires_at=expires_at,
            )
        )

    def deny(
        self,
        action: str,
        connector: Connector | None,
        asked_for: str,
        resource_type: str | None = None,
        resource_id: str | None = None,
    ) -> None:
        """Record a refused ``action``: on ``connector``, or on ``asked_for`` (a name or id
        naming no connector the caller may see; no id then, so a refusal tells nothing
        of another user's private connector)."""
        self._send(
            AuditEvent(
                action=action,
                connector_id=connector.id if connector else None,
                connector_name=connector.name if connector else asked_for[:128],
                connector_type=connector.connector_type if connector else "",
                resource_type=resource_type,
                resource_id=resource_id,
                actor=self.caller.name,
                outcome="denied",
            )
        )

    def _send(self, event: AuditEvent) -> None:
        for sink in self.sinks:
            sink(event)
