"""The seam between a client and whatever holds the connectors: the connector operations.

:class:`ConnectorOperations` is everything a client may ask of a backend. The
local backend (:class:`keybroker.service.LocalOperations`) runs them over a
store and the plugins installed here; a team server runs the same backend per
request and a remote backend reaches it over HTTP. Every argument and result
is a pydantic model or a primitive, so each call can cross HTTP as JSON.

Long-lived secrets stay behind the seam: they leave it only through
:meth:`ConnectorOperations.get` with ``show_secrets`` asked for explicitly.
Logins and Python clients run on the client side (:mod:`keybroker.local_use`)
from the short-lived connector client :meth:`ConnectorOperations.issue_client`
returns.
"""

from __future__ import annotations

import builtins
import uuid
from enum import StrEnum
from typing import Protocol, runtime_checkable

from pydantic import BaseModel, ConfigDict, Field

from keybroker.connector import Connector, ConnectorQuery, RegisterRequest, UpdateRequest
from keybroker.views import ConnectorTypeView, ResourceReport


class IssuePurpose(StrEnum):
    """What a connector client is issued for; decides the audit action and instance choice."""

    #: handed out as such (``describe -r``, credential helpers); for one resource instance
    ISSUE = "issue"
    #: configuring a local tool; for one resource instance
    LOGIN = "login"
    #: a Python client; without a resource id it may cover the connector's whole scope
    CLIENT = "client"


class IssuedClient(BaseModel):
    """A short-lived connector client for one resource, and where it came from."""

    model_config = ConfigDict(defer_build=True)

    connector_id: uuid.UUID = Field(description="the registered connector that issued it")
    connector_name: str
    resource_type: str
    resource_id: str | None = Field(
        description="the resource, as the issuing connector names it (None: its whole scope)"
    )
    client: Connector = Field(description="the client, with its (temporary) secrets")


class Registration(BaseModel):
    """A stored connector and what its verification found (None when not verified)."""

    model_config = ConfigDict(defer_build=True)

    connector: Connector
    verification: ResourceReport | None = None


@runtime_checkable
class ConnectorOperations(Protocol):
    """Every operation a client may ask of a backend that holds connectors."""

    def list_types(
        self, resource_type: str | None = None, auth_method: str | None = None
    ) -> builtins.list[ConnectorTypeView]:
        """Connector types the backend has, optionally only those offering a resource
        type or auth method (an unknown filter value is a ``UsageError``)."""
        ...

    def describe_type(self, connector_type: str) -> ConnectorTypeView:
        """One connector type; ``NotFoundError`` when the backend does not have it."""
        ...

    def register(self, request: RegisterRequest) -> Registration:
        """Validate, verify (unless ``request.verify`` is false) and store a new connector."""
        ...

    def list(self, query: ConnectorQuery | None = None) -> builtins.list[Connector]:
        """Connectors matching ``query``, without secrets; broken rows have ``error`` set."""
        ...

    def get(self, name_or_id: str, show_secrets: bool = False) -> Connector:
        """One connector; its secret values only with ``show_secrets``."""
        ...

    def update(self, name_or_id: str, request: UpdateRequest) -> Registration:
        """Change a connector, verify it again (unless asked not to) and store it."""
        ...

    def delete(self, name_or_id: str) -> Connector:
        """Delete a connector; returns what it was, without secrets."""
        ...

    def verify(
        self,
        name_or_id: str,
        resource_type: str | None = None,
        resource_id: str | None = None,
    ) -> ResourceReport:
        """Check a connector's credentials, optionally narrowed; raise when the check fails."""
        ...

    def list_resources(
        self,
        connector_type: str | None = None,
        resource_type: str | None = None,
        resource_id: str | None = None,
    ) -> builtins.list[ResourceReport]:
        """What every matching connector reaches; failures are reported per connector."""
        ...

    def issue_client(
        self,
        name_or_id: str,
        resource_type: str | None = None,
        resource_id: str | None = None,
        purpose: IssuePurpose = IssuePurpose.ISSUE,
    ) -> IssuedClient:
        """A short-lived connector client (with secrets) for one resource of a connector."""
        ...

    def close(self) -> None:
        """Release what the backend holds (connections); it may not be used afterwards."""
        ...
