"""The audit log: admins see everything, everyone else their own actions."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated

from fastapi import APIRouter, Query, Response

from keybroker.errors import PermissionDeniedError, UsageError
from keybroker.server.audit import AuditQuery
from keybroker.server.dependencies import Context, CurrentPrincipal
from keybroker.server.lanes import database_lane
from keybroker.server.models import AuditRecord, Page
from keybroker.server.pagination import (
    CURSOR_PATTERN,
    DEFAULT_LIMIT,
    MAX_LIMIT,
    decode_cursor,
    page_response,
)

router = APIRouter(prefix="/audit", tags=["audit"])


def _parse_time(value: str | None) -> datetime | None:
    """An ISO 8601 time (UTC when it has no zone); numbers are not times here."""
    if value is None:
        return None
    try:
        parsed = datetime.fromisoformat(value)
    except ValueError:
        raise UsageError(
            f"since must be an ISO 8601 time like 2026-01-31T12:00:00Z, not '{value[:64]}'",
            parameter="since",
        ) from None
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)


@router.get("", response_model=Page[AuditRecord], summary="List audit entries, newest first")
@database_lane
def list_audit(
    principal: CurrentPrincipal,
    context: Context,
    user: Annotated[str | None, Query(max_length=128, description="who acted")] = None,
    connector: Annotated[str | None, Query(max_length=128, description="name or id")] = None,
    action: Annotated[str | None, Query(max_length=64, description="e.g. auth.sign_in")] = None,
    since: Annotated[
        str | None,
        Query(
            max_length=64, description="ISO 8601 time", json_schema_extra={"format": "date-time"}
        ),
    ] = None,
    limit: Annotated[int, Query(ge=1, le=MAX_LIMIT)] = DEFAULT_LIMIT,
    cursor: Annotated[str | None, Query(pattern=CURSOR_PATTERN)] = None,
) -> Response:
    """Filtered entries. A non-admin sees only entries where they are the actor."""
    before = decode_cursor(cursor, "i", int)
    since_time = _parse_time(since)
    if not principal.is_admin:
        if user not in (None, principal.name):
            raise PermissionDeniedError("only an admin may see other users' audit entries")
        user = principal.name
    query = AuditQuery(actor=user, connector=connector, action=action, since=since_time)
    items, last = context.audit.query(query, limit, before)
    return page_response(items, {"i": last} if last is not None else None)
