"""Audit events: what was done to which connector, by whom.

:class:`AuditTrail` builds one :class:`~keybroker.events.AuditEvent` per
successful operation, with the *caller* as the actor (not the connector's
owner), and hands it to every sink. Locally the only sink is the plugins'
``audit_event`` open hook; a team server adds a persistent one.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence

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
    ) -> None:
        """Send one event about ``connector`` to every sink."""
        event = AuditEvent(
            action=action,
            connector_id=connector.id,
            connector_name=connector.name,
            connector_type=connector.connector_type,
            resource_type=resource_type,
            resource_id=resource_id,
            actor=self.caller.name,
        )
        for sink in self.sinks:
            sink(event)
