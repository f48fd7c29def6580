"""Cursor pagination, the same for every list of the API.

A list answers ``{"items": [...], "next_cursor": "..." | null}``. Items come in a
fixed order (by name for accounts and connectors, newest first for the audit log);
``next_cursor`` is an opaque token holding the sort key of the last item, passed
back as ``?cursor=`` with the same ``limit`` and filters. Keyset pages stay correct
while rows are added or removed, and cost one indexed range scan however deep.
"""

from __future__ import annotations

import base64
import binascii
import json
from typing import TYPE_CHECKING, Any

from keybroker.errors import UsageError

if TYPE_CHECKING:
    from collections.abc import Sequence

    from fastapi import Response
    from pydantic import BaseModel

DEFAULT_LIMIT = 50
MAX_LIMIT = 200
CURSOR_PATTERN = r"^[A-Za-z0-9_-]{1,400}$"


def encode_cursor(position: dict[str, Any]) -> str:
    """The opaque cursor for ``position`` (the sort key of the last item of a page)."""
    raw = json.dumps(position, separators=(",", ":"), sort_keys=True).encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def decode_cursor(cursor: str | None, key: str, kind: type) -> Any:
    """The ``key`` of a cursor made by :func:`encode_cursor`; 400 for anything else."""
    if cursor is None:
        return None
    try:
        data = json.loads(base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)))
        value = data[key]
    except (binascii.Error, ValueError, TypeError, KeyError, UnicodeDecodeError):
        value = None
    if not isinstance(value, kind) or isinstance(value, bool):
        raise UsageError(
            "cursor is not valid here; pass the next_cursor of the previous page unchanged",
            parameter="cursor",
        )
    return value


def page_response(items: Sequence[BaseModel], next_position: dict[str, Any] | None) -> Response:
    """A page as a ready JSON answer: the items are already valid models, so FastAPI's
    second validation of the whole page is skipped (the route still declares ``Page[...]``).
    """
    return page_json_response(
        [item.__pydantic_serializer__.to_json(item) for item in items], next_position
    )


def page_json_response(items: Sequence[bytes], next_position: dict[str, Any] | None) -> Response:
    """A page of items already rendered as JSON, as a ready JSON answer."""
    from fastapi import Response

    cursor = encode_cursor(next_position) if next_position else None
    body = b'{"items":[' + b",".join(items) + b'],"next_cursor":' + json.dumps(cursor).encode()
    return Response(content=body + b"}", media_type="application/json")
