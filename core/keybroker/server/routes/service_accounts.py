"""Service accounts and their API keys: owners and admins manage them, machines nothing."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Body, Query, Response

from keybroker.server.dependencies import ClientIP, Context, CurrentPrincipal
from keybroker.server.lanes import database_lane
from keybroker.server.models import Page
from keybroker.server.pagination import (
    CURSOR_PATTERN,
    DEFAULT_LIMIT,
    MAX_LIMIT,
    decode_cursor,
    page_response,
)
from keybroker.server.service_account_models import (
    ApiKeyCreate,
    ApiKeyInfo,
    ApiKeyIssued,
    ApiKeyRotate,
    ApiKeyUpdate,
    ServiceAccountCreate,
    ServiceAccountCreated,
    ServiceAccountInfo,
    ServiceAccountUpdate,
)

router = APIRouter(prefix="/service-accounts", tags=["service accounts"])

Limit = Annotated[int, Query(ge=1, le=MAX_LIMIT, description="items per page")]
Cursor = Annotated[
    str | None, Query(pattern=CURSOR_PATTERN, description="next_cursor of the previous page")
]
AccountName = Annotated[str, "the service account's name (case-sensitive)"]
KeyName = Annotated[str, "the API key's name (case-sensitive)"]


def _no_store(response: Response) -> None:
    """Answers carrying a key value must not be kept by any cache."""
    response.headers["Cache-Control"] = "no-store"


@router.get("", response_model=Page[ServiceAccountInfo], summary="List service accounts")
@database_lane
def list_service_accounts(
    principal: CurrentPrincipal,
    context: Context,
    limit: Limit = DEFAULT_LIMIT,
    cursor: Cursor = None,
) -> Response:
    """The service accounts the caller owns (an admin: all), by name."""
    after = decode_cursor(cursor, "n", str)
    items, last = context.service_accounts.list(principal, limit, after)
    return page_response(items, {"n": last} if last else None)


@router.post(
    "",
    response_model=ServiceAccountCreated,
    status_code=201,
    summary="Create a service account and its first API key",
)
def create_service_account(
    body: ServiceAccountCreate,
    principal: CurrentPrincipal,
    context: Context,
    address: ClientIP,
    response: Response,
) -> ServiceAccountCreated:
    """Owned by the caller, never admin. The key's value is in this answer only."""
    _no_store(response)
    return context.service_accounts.create(
        principal,
        body.name,
        description=body.description,
        api_key_name=body.api_key_name,
        client_ip=address,
    )


@router.get("/{name}", response_model=ServiceAccountInfo, summary="Describe a service account")
def get_service_account(
    name: AccountName, principal: CurrentPrincipal, context: Context
) -> ServiceAccountInfo:
    """One service account the caller manages (others are 'not found')."""
    return context.service_accounts.get(principal, name)


@router.patch("/{name}", response_model=ServiceAccountInfo, summary="Update a service account")
def update_service_account(
    name: AccountName,
    body: ServiceAccountUpdate,
    principal: CurrentPrincipal,
    context: Context,
    address: ClientIP,
) -> ServiceAccountInfo:
    """Deactivating refuses every key of the account from the next request on."""
    return context.service_accounts.update(
        principal, name, active=body.active, description=body.description, client_ip=address
    )


@router.delete("/{name}", status_code=204, summary="Delete a service account and its keys")
def delete_service_account(
    name: AccountName, principal: CurrentPrincipal, context: Context, address: ClientIP
) -> Response:
    """Its keys stop working at once."""
    context.service_accounts.delete(principal, name, address)
    return Response(status_code=204)


@router.get(
    "/{name}/api-keys", response_model=Page[ApiKeyInfo], summary="List a service account's keys"
)
def list_api_keys(
    name: AccountName,
    principal: CurrentPrincipal,
    context: Context,
    limit: Limit = DEFAULT_LIMIT,
    cursor: Cursor = None,
) -> Response:
    """The keys, by name; never their values."""
    after = decode_cursor(cursor, "n", str)
    items, last = context.api_keys.list(principal, name, limit, after)
    return page_response(items, {"n": last} if last else None)


@router.post(
    "/{name}/api-keys",
    response_model=ApiKeyIssued,
    status_code=201,
    summary="Create an API key",
)
def create_api_key(
    name: AccountName,
    body: ApiKeyCreate,
    principal: CurrentPrincipal,
    context: Context,
    address: ClientIP,
    response: Response,
) -> ApiKeyIssued:
    """A new key; its value is in this answer only."""
    _no_store(response)
    return context.api_keys.create(
        principal, name, body.name, description=body.description, client_ip=address
    )


@router.get("/{name}/api-keys/{key}", response_model=ApiKeyInfo, summary="Describe an API key")
def get_api_key(
    name: AccountName, key: KeyName, principal: CurrentPrincipal, context: Context
) -> ApiKeyInfo:
    """When the key was created, rotated and last used; never its value."""
    return context.api_keys.get(principal, name, key)


@router.post(
    "/{name}/api-keys/{key}/rotate", response_model=ApiKeyIssued, summary="Rotate an API key"
)
def rotate_api_key(
    name: AccountName,
    key: KeyName,
    principal: CurrentPrincipal,
    context: Context,
    address: ClientIP,
    response: Response,
    body: Annotated[ApiKeyRotate | None, Body()] = None,
) -> ApiKeyIssued:
    """A new value (in this answer only); the old one is refused at once or after the
    retention period."""
    _no_store(response)
    retain = body.retain_seconds if body is not None else 0
    return context.api_keys.rotate(principal, name, key, retain_seconds=retain, client_ip=address)


@router.patch("/{name}/api-keys/{key}", response_model=ApiKeyInfo, summary="Update an API key")
def update_api_key(
    name: AccountName,
    key: KeyName,
    body: ApiKeyUpdate,
    principal: CurrentPrincipal,
    context: Context,
    address: ClientIP,
) -> ApiKeyInfo:
    """Deactivating refuses the key from the next request on, on every replica."""
    return context.api_keys.update(
        principal, name, key, active=body.active, description=body.description, client_ip=address
    )


@router.delete("/{name}/api-keys/{key}", status_code=204, summary="Delete an API key")
def delete_api_key(
    name: AccountName,
    key: KeyName,
    principal: CurrentPrincipal,
    context: Context,
    address: ClientIP,
) -> Response:
    """The key stops working at once."""
    context.api_keys.delete(principal, name, key, address)
    return Response(status_code=204)
