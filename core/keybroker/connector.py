"""Connectors (registered instances of a connector type) and what they can reach."""

from __future__ import annotations

import uuid
from collections.abc import Hashable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from enum import StrEnum
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, SecretStr

from keybroker.types import AuthConfig
from keybroker.views import ResourceEntry, ResourceReport


def utcnow() -> datetime:
    """The current time, timezone-aware, in UTC."""
    return datetime.now(UTC)


class Scope(StrEnum):
    """How much a connector reaches: every resource type, every instance of one, or one."""

    MULTI_TYPE = "multi-type"
    MULTI_INSTANCE = "multi-instance"
    SINGLE_INSTANCE = "single-instance"


class Connector(BaseModel):
    """A connector: one set of credentials and a scope.

    ``configuration`` holds the non-secret attributes, ``secrets`` the secret ones.
    ``secrets`` may be empty when the connector was read without them. A derived
    *connector client* is also a :class:`Connector` (never stored), with
    ``expires_at`` set when its credentials are temporary.
    """

    model_config = ConfigDict(validate_assignment=False)

    id: uuid.UUID = Field(default_factory=uuid.uuid4)
    name: str
    connector_type: str
    auth_method: str
    resource_type: str | None = None
    resource_id: str | None = None
    configuration: dict[str, Any] = Field(default_factory=dict)
    secrets: dict[str, SecretStr] = Field(default_factory=dict)
    secret_names: list[str] = Field(
        default_factory=list,
        description="names of the secret attributes held, even when not loaded",
    )
    labels: dict[str, str] = Field(default_factory=dict)
    description: str = ""
    owner: str = "default"
    shared: bool = False
    expiration_seconds: int | None = None
    expires_at: datetime | None = None
    created: datetime = Field(default_factory=utcnow)
    updated: datetime = Field(default_factory=utcnow)
    version: int = Field(
        default=0,
        description="the stored revision (0 before the connector is stored); "
        "an update succeeds only against the revision it read",
    )
    error: str | None = Field(
        default=None,
        description="set by a store for a row it cannot read or whose integrity check fails",
    )

    @property
    def scope(self) -> Scope:
        """The connector's scope, from its resource type and id."""
        if self.resource_type is None:
            return Scope.MULTI_TYPE
        if self.resource_id is None:
            return Scope.MULTI_INSTANCE
        return Scope.SINGLE_INSTANCE

    def attributes(self) -> dict[str, Any]:
        """Configuration and secrets together, as an auth method's schema takes them."""
        return {**self.configuration, **self.secrets}

    def auth_config(self, schema: type[AuthConfig]) -> AuthConfig:
        """The attributes validated against ``schema``."""
        return schema.model_validate(self.attributes())

    def is_expired(self, now: datetime | None = None) -> bool:
        """Whether the connector's own credentials have expired."""
        return self.expires_at is not None and self.expires_at <= (now or utcnow())

    def secret_values(self) -> list[str]:
        """The plain secret values, for scrubbing them out of messages."""
        return [s.get_secret_value() for s in self.secrets.values() if s.get_secret_value()]


@dataclass(frozen=True, eq=False, slots=True)
class ListedConnector:
    """A connector as a list read it, without secrets, possibly shared with every other
    reader of the same unchanged stored row: read it, never change it (copy it first).

    ``memo`` holds values derived from this connector alone, such as its rendered JSON
    view, for as long as the store remembers the row; a changed row is a new entry.
    """

    connector: Connector
    memo: dict[Hashable, Any] = field(default_factory=dict)


class ConnectorQuery(BaseModel):
    """Filters for listing connectors; every field left empty matches everything."""

    name: str | None = Field(default=None, description="substring of the name")
    connector_type: str | None = None
    resource_type: str | None = Field(
        default=None,
        description="connectors scoped to this type, or multi-type ones of a type that has it",
    )
    resource_id: str | None = Field(
        default=None,
        description="with resource_type: connectors whose scope covers this resource",
    )
    labels: dict[str, str | None] = Field(
        default_factory=dict, description="key=value must match; key alone means the label exists"
    )


class RegisterRequest(BaseModel):
    """Everything needed to register a connector."""

    name: str
    connector_type: str
    auth_method: str | None = None
    attributes: dict[str, Any] = Field(default_factory=dict)
    resource_type: str | None = None
    resource_id: str | None = None
    labels: dict[str, str] = Field(default_factory=dict)
    description: str = ""
    expiration_seconds: int | None = None
    auto_configure: bool = False
    auto_configure_options: dict[str, str] = Field(default_factory=dict)
    verify: bool = True
    shared: bool = Field(
        default=False, description="others may use it (never read its secrets); private if false"
    )


class UpdateRequest(BaseModel):
    """Changes to a registered connector; None leaves a field as it is.

    ``attributes`` are merged into the current ones (a value of None removes
    an optional attribute). ``resource_id`` and ``resource_type`` are cleared
    with the empty string.
    """

    name: str | None = None
    auth_method: str | None = None
    attributes: dict[str, Any] = Field(default_factory=dict)
    resource_type: str | None = None
    resource_id: str | None = None
    labels: dict[str, str | None] = Field(default_factory=dict)
    description: str | None = None
    expiration_seconds: int | None = None
    verify: bool = True
    shared: bool | None = Field(default=None, description="share (true) or make private (false)")
    version: int | None = Field(
        default=None,
        description="the version the change was based on; refused (stale) if it changed since",
    )


class LoginResult(BaseModel):
    """What a local-tool login changed, in words for the user."""

    tool: str
    messages: list[str] = Field(default_factory=list)
    refreshes_itself: bool = Field(
        default=False, description="the tool fetches fresh credentials from keybroker by itself"
    )
    error: str | None = Field(
        default=None, description="why configuring this tool failed (set by keybroker)"
    )


__all__ = [
    "Connector",
    "ConnectorQuery",
    "LoginResult",
    "RegisterRequest",
    "ResourceEntry",
    "ResourceReport",
    "Scope",
    "UpdateRequest",
    "utcnow",
]
