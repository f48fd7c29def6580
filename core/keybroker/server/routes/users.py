"""User accounts (admins only)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Query, Response

from keybroker.server.audit import Outcome
from keybroker.server.dependencies import ClientIP, Context, require_admin
from keybroker.server.lanes import database_lane
from keybroker.server.models import Page, UserCreate, UserInfo, UserUpdate
from keybroker.server.pagination import (
    CURSOR_PATTERN,
    DEFAULT_LIMIT,
    MAX_LIMIT,
    decode_cursor,
    page_response,
)
from keybroker.server.principal import Principal

router = APIRouter(prefix="/users", tags=["users"])

Limit = Annotated[int, Query(ge=1, le=MAX_LIMIT, description="items per page")]
Cursor = Annotated[
    str | None, Query(pattern=CURSOR_PATTERN, description="next_cursor of the previous page")
]
UserName = Annotated[str, "the user's name (case-sensitive)"]


@router.get("", response_model=Page[UserInfo], summary="List users, by name")
@database_lane
def list_users(
    _admin: Annotated[Principal, Depends(require_admin("user.list"))],
    context: Context,
    limit: Limit = DEFAULT_LIMIT,
    cursor: Cursor = None,
) -> Response:
    """One page of users ordered by name."""
    after = decode_cursor(cursor, "n", str)
    items, last = context.users.list(limit, after)
    return page_response(items, {"n": last} if last else None)


@router.post("", response_model=UserInfo, status_code=201, summary="Create a user")
def create_user(
    body: UserCreate,
    admin: Annotated[Principal, Depends(require_admin("user.create"))],
    context: Context,
    address: ClientIP,
) -> UserInfo:
    """A new account that signs in with ``password``."""
    created = context.users.create(
        body.name, body.password, is_admin=body.is_admin, description=body.description
    )
    context.audit.append(
        "user.create", principal=admin, target=f"user:{created.name}", client_ip=address
    )
    return created


@router.get("/{name}", response_model=UserInfo, summary="Describe a user")
def get_user(
    name: UserName,
    _admin: Annotated[Principal, Depends(require_admin("user.describe"))],
    context: Context,
) -> UserInfo:
    """One user by name."""
    return context.users.get(name)


@router.patch("/{name}", response_model=UserInfo, summary="Update a user")
def update_user(
    name: UserName,
    body: UserUpdate,
    admin: Annotated[Principal, Depends(require_admin("user.update"))],
    context: Context,
    address: ClientIP,
) -> UserInfo:
    """Change the password, admin flag, active flag or description."""
    changes = body.model_dump(exclude_none=True)
    try:
        updated = context.users.update(name, admin, **changes)
    except Exception:
        context.audit.append(
            "user.update",
            principal=admin,
            outcome=Outcome.FAILED,
            target=f"user:{name[:64]}",
            client_ip=address,
        )
        raise
    shown = sorted(k for k in changes if k != "password") + (
        ["password"] if "password" in changes else []
    )
    context.audit.append(
        "user.update",
        principal=admin,
        target=f"user:{name}",
        client_ip=address,
        detail="changed: " + ", ".join(shown),
    )
    return updated


@router.delete("/{name}", status_code=204, summary="Delete a user")
def delete_user(
    name: UserName,
    admin: Annotated[Principal, Depends(require_admin("user.delete"))],
    context: Context,
    address: ClientIP,
) -> Response:
    """Delete the account and all its credentials."""
    context.users.delete(name, admin)
    context.audit.append("user.delete", principal=admin, target=f"user:{name}", client_ip=address)
    return Response(status_code=204)
