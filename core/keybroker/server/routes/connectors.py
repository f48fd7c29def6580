"""Connectors, connector types, resources and connector clients.

Handlers only parse and answer: each request runs the connector operations
(:class:`~keybroker.service.LocalOperations`) for its principal, which decide
what the principal may see and do and audit it (``keybroker.server.connectors``).
Secrets travel in answers only to a connector's owner asking explicitly
(``show_secrets=true``) and in an issued connector client.
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Body, Depends, Path, Query, Response
from fastapi.responses import JSONResponse
from pydantic import BaseModel, ConfigDict, Field

from keybroker.connector import ConnectorQuery, RegisterRequest, UpdateRequest
from keybroker.errors import UsageError
from keybroker.operations import IssuedClient, IssuePurpose
from keybroker.server.connectors import RequestConnectors
from keybroker.server.dependencies import ClientIP, Context, CurrentPrincipal
from keybroker.server.lanes import database_lane
from keybroker.server.models import Page
from keybroker.server.pagination import (
    CURSOR_PATTERN,
    DEFAULT_LIMIT,
    MAX_LIMIT,
    decode_cursor,
    page_json_response,
    page_response,
)
from keybroker.views import ConnectorTypeView, ConnectorView, RegistrationView, ResourceReport

router = APIRouter(tags=["connectors"])

#: how long a name, type or id given in a query or path may be (longer ones match nothing)
_SHORT = 128
_RESOURCE_ID = 512


async def connector_service(
    context: Context, principal: CurrentPrincipal, address: ClientIP
) -> RequestConnectors:
    """The connector operations of this request, for its principal.

    ``async``: building them does no I/O, so FastAPI need not hop to a worker thread.
    """
    return context.connectors.for_request(principal, address)


Connectors = Annotated[RequestConnectors, Depends(connector_service)]
NameOrId = Annotated[
    str,
    Path(min_length=1, max_length=_SHORT, description="the connector's name, id or id prefix"),
]
ResourceTypeQuery = Annotated[str | None, Query(max_length=_SHORT, description="resource type")]
ResourceIdQuery = Annotated[
    str | None, Query(max_length=_RESOURCE_ID, description="resource id (needs resource_type)")
]
ConnectorTypeQuery = Annotated[str | None, Query(max_length=_SHORT, description="connector type")]


class Target(BaseModel):
    """The resource an operation is narrowed to, inside the connector's scope."""

    model_config = ConfigDict(extra="forbid")

    resource_type: str | None = Field(default=None, max_length=_SHORT)
    resource_id: str | None = Field(default=None, max_length=_RESOURCE_ID)


class ClientRequest(Target):
    """What a connector client is for."""

    purpose: IssuePurpose = IssuePurpose.ISSUE


# -- connector types ---------------------------------------------------------------


@router.get(
    "/connector-types",
    response_model=Page[ConnectorTypeView],
    summary="List the connector types installed on the server",
)
def list_types(
    connectors: Connectors,
    resource_type: ResourceTypeQuery = None,
    auth_method: Annotated[str | None, Query(max_length=_SHORT)] = None,
) -> Response:
    """Every connector type of the server, optionally those offering a resource type or
    auth method. One page: the list is short."""
    return page_response(connectors.list_types(resource_type, auth_method), None)


@router.get(
    "/connector-types/{connector_type}",
    response_model=ConnectorTypeView,
    summary="Describe a connector type",
)
def describe_type(
    connector_type: Annotated[str, Path(min_length=1, max_length=_SHORT)],
    connectors: Connectors,
) -> ConnectorTypeView:
    """One connector type: its auth methods, their attributes and its resource types."""
    return connectors.describe_type(connector_type)


# -- connectors --------------------------------------------------------------------


def _labels(values: list[str]) -> dict[str, str | None]:
    """``k=v`` (the label has this value) or ``k`` (the label exists) filters."""
    labels: dict[str, str | None] = {}
    for value in values:
        key, sep, wanted = value.partition("=")
        if not key:
            raise UsageError(
                f"label filter '{value[:64]}' names no label; use key=value or key",
                parameter="label",
            )
        labels[key] = wanted if sep else None
    return labels


@router.post(
    "/connectors",
    response_model=RegistrationView,
    status_code=201,
    summary="Register a connector",
)
def register(body: RegisterRequest, connectors: Connectors) -> RegistrationView:
    """Validate, verify (unless ``verify`` is false) and store a connector owned by the caller.

    Auto-configuration would take credentials from the server's own environment,
    so it is refused: auto-configure on the client and send the attributes.
    """
    if body.auto_configure:
        raise UsageError(
            "auto-configuration takes credentials from where it runs, so a server refuses it; "
            "give the attributes (a client auto-configures on its own machine)",
            parameter="auto_configure",
        )
    return connectors.registration_view(connectors.register(body))


@router.get(
    "/connectors",
    response_model=Page[ConnectorView],
    summary="List connectors the caller may see, by name",
)
@database_lane
def list_connectors(
    connectors: Connectors,
    name: Annotated[str | None, Query(max_length=_SHORT, description="part of the name")] = None,
    connector_type: ConnectorTypeQuery = None,
    resource_type: ResourceTypeQuery = None,
    resource_id: ResourceIdQuery = None,
    label: Annotated[
        list[str] | None,
        Query(max_length=600, description="key=value, or key: has the label (repeatable)"),
    ] = None,
    limit: Annotated[int, Query(ge=1, le=MAX_LIMIT, description="items per page")] = DEFAULT_LIMIT,
    cursor: Annotated[
        str | None, Query(pattern=CURSOR_PATTERN, description="next_cursor of the previous page")
    ] = None,
) -> Response:
    """One page of the caller's own and shared connectors (every one for an admin),
    without secrets, ordered by name."""
    after = decode_cursor(cursor, "n", str)
    query = ConnectorQuery(
        name=name,
        connector_type=connector_type,
        resource_type=resource_type,
        resource_id=resource_id,
        labels=_labels(label or []),
    )
    items, last = connectors.page(query, after, limit)
    rendered = [connectors.view_json(c) for c in items]
    return page_json_response(rendered, {"n": last} if last else None)


@router.get(
    "/connectors/{name_or_id}", response_model=ConnectorView, summary="Describe a connector"
)
@database_lane
def get_connector(
    name_or_id: NameOrId,
    connectors: Connectors,
    show_secrets: Annotated[
        bool, Query(description="secret values in clear (the owner only; audited)")
    ] = False,
) -> ConnectorView:
    """One connector; its secret values only for its owner asking with ``show_secrets``."""
    connector = connectors.get(name_or_id, show_secrets)
    return connectors.view(connector, show_secrets)


@router.patch(
    "/connectors/{name_or_id}", response_model=RegistrationView, summary="Update a connector"
)
def update_connector(
    name_or_id: NameOrId, body: UpdateRequest, connectors: Connectors
) -> RegistrationView:
    """Change a connector (owner or admin), verify it again unless ``verify`` is false.

    With ``version`` the change applies only to that version (409 otherwise).
    """
    return connectors.registration_view(connectors.update(name_or_id, body))


@router.delete(
    "/connectors/{name_or_id}", response_model=ConnectorView, summary="Delete a connector"
)
def delete_connector(name_or_id: NameOrId, connectors: Connectors) -> ConnectorView:
    """Delete a connector (owner or admin); answers what it was, without secrets."""
    return connectors.view(connectors.delete(name_or_id))


@router.post(
    "/connectors/{name_or_id}/verify",
    response_model=ResourceReport,
    summary="Verify a connector's credentials",
)
def verify_connector(
    name_or_id: NameOrId,
    connectors: Connectors,
    body: Annotated[Target | None, Body()] = None,
) -> ResourceReport:
    """Check the credentials, optionally for one resource; a failed check is an error."""
    target = body or Target()
    return connectors.verify(name_or_id, target.resource_type, target.resource_id)


@router.get(
    "/resources",
    response_model=Page[ResourceReport],
    summary="What every connector the caller may use reaches",
)
def list_resources(
    connectors: Connectors,
    connector_type: ConnectorTypeQuery = None,
    resource_type: ResourceTypeQuery = None,
    resource_id: ResourceIdQuery = None,
) -> Response:
    """One report per matching connector, checked concurrently; failures are in the reports."""
    reports = connectors.list_resources(connector_type, resource_type, resource_id)
    return page_response(reports, None)


@router.post(
    "/connectors/{name_or_id}/clients",
    response_model=IssuedClient,
    status_code=201,
    summary="Issue a short-lived connector client (with its secrets)",
)
def issue_client(
    name_or_id: NameOrId,
    connectors: Connectors,
    body: Annotated[ClientRequest | None, Body()] = None,
) -> JSONResponse:
    """A connector client for one resource, its (short-lived) secrets in clear; audited
    with the caller, resource and expiry."""
    wanted = body or ClientRequest()
    issued = connectors.issue_client(
        name_or_id, wanted.resource_type, wanted.resource_id, wanted.purpose
    )
    return JSONResponse(issued_json(issued), status_code=201)


def issued_json(issued: IssuedClient) -> dict[str, Any]:
    """An issued client as JSON, its secrets as plain strings (pydantic would mask them)."""
    data = issued.model_dump(mode="json")
    data["client"]["secrets"] = {
        name: value.get_secret_value() for name, value in issued.client.secrets.items()
    }
    return data
