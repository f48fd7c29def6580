"""The audit log: admins see everything, everyone else their own actions."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

from fastapi import APIRouter, Query

from keybroker.server.audit import AuditQuery
from keybroker.server.dependencies import Context, CurrentPrincipal
from keybroker.server.errors import Forbidden
from keybroker.server.models import AuditRecord, Page
from keybroker.server.pagination import DEFAULT_LIMIT, MAX_LIMIT, decode_cursor, encode_cursor

router = APIRouter(prefix="/audit", tags=["audit"])


@router.get("", response_model=Page[AuditRecord], summary="List audit entries, newest first")
def list_audit(
    principal: CurrentPrincipal,
    context: Context,
    user: Annotated[str | None, Query(max_length=128, description="who acted")] = None,
    connector: Annotated[str | None, Query(max_length=128, description="name or id")] = None,
    action: Annotated[str | None, Query(max_length=64, description="e.g. auth.sign_in")] = None,
    since: Annotated[datetime | None, Query(description="ISO 8601 time")] = None,
    limit: Annotated[int, Query(ge=1, le=MAX_LIMIT)] = DEFAULT_LIMIT,
    cursor: Annotated[str | None, Query(max_length=512)] = None,
) -> Page[AuditRecord]:
    """Filtered entries. A non-admin sees only entries where they are the actor."""
    before = decode_cursor(cursor, "i", int)
    if not principal.is_admin:
        if user not in (None, principal.name):
            raise Forbidden("only an admin may see other users' audit entries")
        user = principal.name
    query = AuditQuery(actor=user, connector=connector, action=action, since=since)
    items, last = context.audit.query(query, limit, before)
    return Page[AuditRecord](
        items=items, next_cursor=encode_cursor({"i": last}) if last is not None else None
    )
