"""Authorized devices: everyone sees and manages their own, admins everyone's."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query, Response

from keybroker.errors import PermissionDeniedError
from keybroker.server.dependencies import ClientIP, Context, CurrentPrincipal
from keybroker.server.device_models import DeviceInfo, DeviceUpdate
from keybroker.server.models import Page
from keybroker.server.pagination import (
    CURSOR_PATTERN,
    DEFAULT_LIMIT,
    MAX_LIMIT,
    decode_cursor,
    page_response,
)

router = APIRouter(prefix="/devices", tags=["devices"])

DeviceId = Annotated[str, "the device's id (a UUID)"]


@router.get("", response_model=Page[DeviceInfo], summary="List authorized devices")
def list_devices(
    principal: CurrentPrincipal,
    context: Context,
    user: Annotated[str | None, Query(max_length=128, description="admins: whose")] = None,
    limit: Annotated[int, Query(ge=1, le=MAX_LIMIT)] = DEFAULT_LIMIT,
    cursor: Annotated[str | None, Query(pattern=CURSOR_PATTERN)] = None,
) -> Response:
    """The caller's devices (an admin: everyone's, or ``user``'s), oldest first."""
    if user is not None and not principal.is_admin and user != principal.name:
        raise PermissionDeniedError("only an admin may list other users' devices")
    after = decode_cursor(cursor, "k", str)
    items, last = context.devices.list(principal, limit, after, user)
    return page_response(items, {"k": last} if last else None)


@router.get("/{device_id}", response_model=DeviceInfo, summary="Describe a device")
def get_device(device_id: DeviceId, principal: CurrentPrincipal, context: Context) -> DeviceInfo:
    """One device the caller may see (another user's is 'not found' to a non-admin)."""
    return context.devices.get(principal, device_id)


@router.patch("/{device_id}", response_model=DeviceInfo, summary="Lock or unlock a device")
def update_device(
    device_id: DeviceId,
    body: DeviceUpdate,
    principal: CurrentPrincipal,
    context: Context,
    address: ClientIP,
) -> DeviceInfo:
    """A locked device's token is refused from its next request on, on every replica."""
    return context.devices.set_locked(principal, device_id, body.locked, address)


@router.delete("/{device_id}", status_code=204, summary="Delete a device and its token")
def delete_device(
    device_id: DeviceId, principal: CurrentPrincipal, context: Context, address: ClientIP
) -> Response:
    """The device's token stops working at once."""
    context.devices.delete(principal, device_id, address)
    return Response(status_code=204)
