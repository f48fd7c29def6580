"""What clients are shown: the JSON shapes of connectors, connector types and resource reports.

One pydantic model per shape, used by ``-o json|yaml`` and by the HTTP API
alike. Everything here is plain data that survives a JSON round trip: a
connector type is described by its attributes' documentation, not by the
Python classes of its plugin, so a type that only a server has installed can
still be listed and described on a client.
"""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import TYPE_CHECKING, Any

from pydantic import BaseModel, ConfigDict, Field, SecretStr, field_validator

from keybroker.types import ResourceIdFormat

if TYPE_CHECKING:
    from keybroker.connector import Connector
    from keybroker.types import AttributeDoc, AuthMethod, ResourceType, TypeAvailability

#: what a secret value is shown as unless its owner asks for it explicitly
HIDDEN = "[HIDDEN]"


class View(BaseModel):
    """Base of the views: validators are built on first use, so importing them is cheap."""

    model_config = ConfigDict(defer_build=True)


# -- resource reports --------------------------------------------------------------


class ResourceEntry(View):
    """The resources of one resource type a connector reaches."""

    resource_type: str
    resource_ids: list[str] | None = Field(
        default=None, description="canonical ids; None when not listed (multi-type connector)"
    )
    error: str | None = None


class ResourceReport(View):
    """What one connector reaches, or why it could not be checked."""

    connector_id: uuid.UUID
    connector_name: str
    connector_type: str
    resources: list[ResourceEntry] = Field(default_factory=list)
    error: str | None = None

    @property
    def ok(self) -> bool:
        """True when neither the connector nor any resource type reported an error."""
        return self.error is None and all(r.error is None for r in self.resources)


# -- connector types ---------------------------------------------------------------


class AttributeView(View):
    """One attribute of an auth method, as documented to users."""

    name: str
    title: str
    type: str = Field(default="string", description="string, boolean, integer, list, mapping")
    required: bool = False
    secret: bool = False
    default: Any = None
    description: str = ""

    @field_validator("default")
    @classmethod
    def _plain_default(cls, value: Any) -> Any:
        """Defaults are shown as JSON values; anything else as its text."""
        if value is None or isinstance(value, str | int | float | bool | list | dict):
            return value
        return str(value)

    @classmethod
    def from_doc(cls, doc: AttributeDoc) -> AttributeView:
        """The view of a declared attribute."""
        return cls(
            name=doc.name,
            title=doc.title,
            type=doc.type_name,
            required=doc.required,
            secret=doc.secret,
            default=None if doc.secret else doc.default,
            description=doc.description,
        )


class AuthMethodView(View):
    """One auth method of a connector type: its rules and attributes."""

    auth_method: str
    name: str
    description: str = ""
    issues_temporary_credentials: bool = False
    default_expiration_seconds: int | None = None
    min_expiration_seconds: int | None = None
    max_expiration_seconds: int | None = None
    server_opt_in: bool = False
    attributes: list[AttributeView] = Field(default_factory=list)

    @classmethod
    def from_declaration(cls, method: AuthMethod) -> AuthMethodView:
        """The view of a declared auth method (reads its schema's fields, builds nothing)."""
        return cls(
            auth_method=method.auth_method,
            name=method.name,
            description=method.description,
            issues_temporary_credentials=method.issues_temporary_credentials,
            default_expiration_seconds=method.default_expiration_seconds,
            min_expiration_seconds=method.min_expiration_seconds,
            max_expiration_seconds=method.max_expiration_seconds,
            server_opt_in=method.server_opt_in,
            attributes=[AttributeView.from_doc(doc) for doc in method.attributes()],
        )


class ResourceTypeView(View):
    """One resource type of a connector type, with the id formats it accepts."""

    resource_type: str
    name: str
    emoji: str = ""
    description: str = ""
    supports_instances: bool = False
    auth_methods: list[str] | None = Field(
        default=None, description="auth methods that reach it; None means every one"
    )
    resource_id_formats: list[ResourceIdFormat] = Field(default_factory=list)

    @classmethod
    def from_declaration(cls, resource_type: ResourceType) -> ResourceTypeView:
        """The view of a declared resource type."""
        return cls(
            resource_type=resource_type.resource_type,
            name=resource_type.name,
            emoji=resource_type.emoji,
            description=resource_type.description,
            supports_instances=resource_type.supports_instances,
            auth_methods=list(resource_type.auth_methods) or None,
            resource_id_formats=list(resource_type.resource_id_formats),
        )


class ConnectorTypeView(View):
    """A connector type as a client sees it: its documentation and where it can be used.

    ``name`` is None (and the lists are empty) when the type's plugin could
    not be loaded; ``local_problem`` then says why.
    """

    connector_type: str
    local: bool = False
    remote: bool = False
    local_problem: str | None = None
    name: str | None = None
    emoji: str = ""
    description: str = ""
    supports_auto_configuration: bool = False
    install_hint: str | None = None
    auth_methods: list[AuthMethodView] = Field(default_factory=list)
    resource_types: list[ResourceTypeView] = Field(default_factory=list)

    @property
    def loaded(self) -> bool:
        """Whether the type's declaration could be read (its documentation is available)."""
        return self.name is not None

    def auth_method(self, name: str) -> AuthMethodView | None:
        """The auth method called ``name``, if the type has it."""
        return next((m for m in self.auth_methods if m.auth_method == name), None)

    def resource_type(self, name: str) -> ResourceTypeView | None:
        """The resource type called ``name``, if the type has it."""
        return next((r for r in self.resource_types if r.resource_type == name), None)

    def resource_types_for(self, auth_method: str) -> list[ResourceTypeView]:
        """The resource types reachable with ``auth_method``."""
        return [
            r for r in self.resource_types if not r.auth_methods or auth_method in r.auth_methods
        ]

    def require_auth_method(self, name: str) -> AuthMethodView:
        """The auth method ``name``; ``UsageError`` listing the valid ones otherwise."""
        from keybroker.catalog import unknown_auth_method

        found = self.auth_method(name)
        if found is None:
            raise unknown_auth_method(
                self.connector_type, name, [m.auth_method for m in self.auth_methods]
            )
        return found

    def require_resource_type(self, name: str) -> ResourceTypeView:
        """The resource type ``name``; ``UsageError`` listing the valid ones otherwise."""
        from keybroker.catalog import unknown_resource_type

        found = self.resource_type(name)
        if found is None:
            raise unknown_resource_type(
                self.connector_type, name, [r.resource_type for r in self.resource_types]
            )
        return found

    @classmethod
    def from_availability(cls, availability: TypeAvailability) -> ConnectorTypeView:
        """The view of a connector type installed here."""
        declaration = availability.declaration
        view = cls(
            connector_type=availability.connector_type,
            local=availability.local,
            remote=availability.remote,
            local_problem=availability.local_problem,
        )
        if declaration is None:
            return view
        return view.model_copy(
            update={
                "name": declaration.name,
                "emoji": declaration.emoji,
                "description": declaration.description,
                "supports_auto_configuration": declaration.supports_auto_configuration,
                "install_hint": declaration.install_hint or None,
                "auth_methods": [
                    AuthMethodView.from_declaration(m) for m in declaration.auth_methods
                ],
                "resource_types": [
                    ResourceTypeView.from_declaration(r) for r in declaration.resource_types
                ],
            }
        )


# -- connectors --------------------------------------------------------------------


class ConnectorView(View):
    """A connector as shown to a client; secret values only when asked for explicitly.

    ``secrets`` maps every secret attribute to :data:`HIDDEN`, or to its value
    when shown. ``error`` is set for a connector whose stored row is broken.
    """

    id: uuid.UUID
    name: str
    connector_type: str
    auth_method: str
    resource_types: list[str] = Field(
        default_factory=list, description="the resource types the connector reaches"
    )
    resource_type: str | None = None
    resource_id: str | None = None
    configuration: dict[str, Any] = Field(default_factory=dict)
    secrets: dict[str, str] = Field(default_factory=dict)
    labels: dict[str, str] = Field(default_factory=dict)
    description: str = ""
    owner: str = ""
    shared: bool = False
    expiration_seconds: int | None = None
    expires_at: datetime | None = None
    created: datetime | None = None
    updated: datetime | None = None
    version: int = 0
    error: str | None = None

    @classmethod
    def from_connector(
        cls, connector: Connector, resource_types: list[str], show_secrets: bool = False
    ) -> ConnectorView:
        """The view of ``connector``; its loaded secret values only with ``show_secrets``."""
        secrets = {name: HIDDEN for name in connector.secret_names or sorted(connector.secrets)}
        if show_secrets:
            secrets.update({k: v.get_secret_value() for k, v in connector.secrets.items()})
        return cls(
            id=connector.id,
            name=connector.name,
            connector_type=connector.connector_type,
            auth_method=connector.auth_method,
            resource_types=resource_types,
            resource_type=connector.resource_type,
            resource_id=connector.resource_id,
            configuration=dict(connector.configuration),
            secrets=secrets,
            labels=dict(connector.labels),
            description=connector.description,
            owner=connector.owner,
            shared=connector.shared,
            expiration_seconds=connector.expiration_seconds,
            expires_at=connector.expires_at,
            created=connector.created,
            updated=connector.updated,
            version=connector.version,
            error=connector.error,
        )

    def to_connector(self) -> Connector:
        """The connector this view shows; hidden secrets are named but not loaded."""
        from keybroker.connector import Connector

        extra = {k: v for k, v in (("created", self.created), ("updated", self.updated)) if v}
        return Connector(
            id=self.id,
            name=self.name,
            connector_type=self.connector_type,
            auth_method=self.auth_method,
            resource_type=self.resource_type,
            resource_id=self.resource_id,
            configuration=dict(self.configuration),
            secrets={k: SecretStr(v) for k, v in self.secrets.items() if v != HIDDEN},
            secret_names=sorted(self.secrets),
            labels=dict(self.labels),
            description=self.description,
            owner=self.owner,
            shared=self.shared,
            expiration_seconds=self.expiration_seconds,
            expires_at=self.expires_at,
            version=self.version,
            error=self.error,
            **extra,
        )


class RegistrationView(ConnectorView):
    """A registered or updated connector with what its verification found (None: not verified)."""

    verification: ResourceReport | None = None


class ConnectorReference(View):
    """The registered connector something came from."""

    id: uuid.UUID
    name: str


class ConnectorClientView(View):
    """A connector client: the short-lived credentials a connector issues for one resource.

    Never stored, so it has no id of its own; ``connector`` names where it came from.
    """

    kind: str = "connector-client"
    connector: ConnectorReference
    connector_type: str
    auth_method: str
    resource_type: str | None = None
    resource_id: str | None = None
    expires_at: datetime | None = None
    expires_in_seconds: int | None = Field(
        default=None, description="seconds left when it was shown; None: does not expire"
    )
    configuration: dict[str, Any] = Field(default_factory=dict)
    secrets: dict[str, str] = Field(default_factory=dict)

    @classmethod
    def from_client(
        cls,
        connector_id: uuid.UUID,
        connector_name: str,
        client: Connector,
        show_secrets: bool = False,
    ) -> ConnectorClientView:
        """The view of ``client``, issued by the connector named; secrets only if shown."""
        from keybroker.connector import utcnow

        left = None
        if client.expires_at is not None:
            left = max(0, int((client.expires_at - utcnow()).total_seconds()))
        secrets = {name: HIDDEN for name in sorted({*client.secret_names, *client.secrets})}
        if show_secrets:
            secrets.update({k: v.get_secret_value() for k, v in client.secrets.items()})
        return cls(
            connector=ConnectorReference(id=connector_id, name=connector_name),
            connector_type=client.connector_type,
            auth_method=client.auth_method,
            resource_type=client.resource_type,
            resource_id=client.resource_id,
            expires_at=client.expires_at,
            expires_in_seconds=left,
            configuration=dict(client.configuration),
            secrets=secrets,
        )


__all__ = [
    "HIDDEN",
    "AttributeView",
    "AuthMethodView",
    "ConnectorClientView",
    "ConnectorReference",
    "ConnectorTypeView",
    "ConnectorView",
    "RegistrationView",
    "ResourceEntry",
    "ResourceReport",
    "ResourceTypeView",
]
