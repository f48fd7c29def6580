"""Connectors, connector types and connector clients: the next phase mounts them here.

They will call the connector operations (``keybroker.operations``) with the
request's :class:`~keybroker.server.principal.Principal`, write audit events
through :meth:`keybroker.server.audit.AuditLog.record`, and list with the same
cursor pages as users (:mod:`keybroker.server.pagination`).
"""

from __future__ import annotations

from fastapi import APIRouter

router = APIRouter(tags=["connectors"])
