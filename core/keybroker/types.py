"""Declarations a plugin makes about a connector type: plain data, no SDK needed.

A ``ConnectorType`` lists its ``AuthMethod`` and ``ResourceType``
entries. Each auth method carries a pydantic schema (a subclass of
``AuthConfig``) whose secret fields are typed ``pydantic.SecretStr``.
These objects can be listed and rendered without importing the plugin's
implementation module or its cloud SDK.
"""

from __future__ import annotations

import json
from datetime import datetime
from types import UnionType
from typing import Any, Union

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    SecretStr,
    ValidationInfo,
    field_validator,
)
from pydantic_core import PydanticCustomError


class NotSecret:
    """Marks an attribute whose name looks secret but whose value is not.

    keybroker refuses a plain ``str`` attribute named like a secret (``*_password``,
    ``*_token``, ``*_secret``, ``*_key``); annotate a public one, such as a
    public key, with ``Annotated[str, NotSecret()]``.
    """

    def __repr__(self) -> str:
        return "NotSecret()"


class AuthConfig(BaseModel):
    """Base class of an auth method's attribute schema.

    Unknown attributes are refused. Fields typed ``SecretStr`` (or
    ``SecretStr | None``) are secrets: stored encrypted, masked in every output.
    A list-typed field also accepts text, as command lines and forms give it: a
    JSON list (``'["a", "b"]'``), or a single value (a list of one); empty text is
    an empty list.
    """

    # Built on first validation, not at class creation: listing types never validates
    # attributes, and a plugin declares several of these schemas.
    model_config = ConfigDict(extra="forbid", frozen=True, defer_build=True)

    def credentials_expiry(self) -> datetime | None:
        """When the credentials given in these attributes stop working, if they say so.

        E.g. an access token given together with its expiry. keybroker sets the
        connector's ``expires_at`` from it, so listings show EXPIRES IN and
        clients are refused once it has passed. None (the default): no expiry known.
        """
        return None

    @classmethod
    def secret_fields(cls) -> list[str]:
        """Names of the attributes that hold secrets."""
        return [name for name, field in cls.model_fields.items() if _is_secret(field.annotation)]

    @classmethod
    def list_fields(cls) -> list[str]:
        """Names of the attributes that hold a list of values."""
        return [name for name, field in cls.model_fields.items() if _is_list(field.annotation)]

    @field_validator("*", mode="before")
    @classmethod
    def _list_from_text(cls, value: Any, info: ValidationInfo) -> Any:
        if isinstance(value, str) and info.field_name in cls.list_fields():
            return list_from_text(value)
        return value

    @classmethod
    def attribute_docs(cls) -> list[AttributeDoc]:
        """One entry per attribute, in declaration order, for help texts."""
        docs = []
        for name, field in cls.model_fields.items():
            docs.append(
                AttributeDoc(
                    name=name,
                    title=field.title or name.replace("_", " "),
                    description=field.description or "",
                    type_name=_type_name(field.annotation),
                    secret=_is_secret(field.annotation),
                    required=field.is_required(),
                    default=None if field.is_required() else field.get_default(),
                )
            )
        return docs


def list_from_text(text: str) -> list[Any]:
    """A list attribute given as text: a JSON list, one value, or (empty text) no value.

    Raise a pydantic error (reported against the attribute) for text that opens a
    JSON list but is not one.
    """
    stripped = text.strip()
    if not stripped:
        return []
    if not stripped.startswith("["):
        return [text]
    try:
        value = json.loads(stripped)
    except json.JSONDecodeError as exc:
        raise PydanticCustomError(
            "list_syntax",
            "not a valid JSON list ({reason} at character {position}); give a JSON list "
            'such as ["a", "b"], or repeat the attribute once per value',
            {"reason": exc.msg, "position": exc.pos + 1},
        ) from None
    if not isinstance(value, list):
        raise PydanticCustomError("list_syntax", "not a JSON list")
    return value


def _is_list(annotation: Any) -> bool:
    """Whether ``annotation`` is a list-like type, optional or not (``list[str] | None``)."""
    collections = (list, tuple, set, frozenset)
    origin = getattr(annotation, "__origin__", None)
    if annotation in collections or origin in collections:
        return True
    if origin is Union or isinstance(annotation, UnionType):
        members = [a for a in annotation.__args__ if a is not type(None)]
        return len(members) == 1 and _is_list(members[0])
    return False


def _is_secret(annotation: Any) -> bool:
    if annotation is SecretStr:
        return True
    return SecretStr in getattr(annotation, "__args__", ())


def _type_name(annotation: Any) -> str:
    if _is_list(annotation):
        return "list"
    args = [a for a in getattr(annotation, "__args__", (annotation,)) if a is not type(None)]
    base = args[0] if args else annotation
    if base is SecretStr or base is str:
        return "string"
    if base is bool:
        return "boolean"
    if base is int:
        return "integer"
    origin = getattr(base, "__origin__", None)
    if origin in (list, tuple):
        return "list"
    if origin is dict:
        return "mapping"
    return getattr(base, "__name__", str(base))


class AttributeDoc(BaseModel):
    """How one auth-method attribute is documented to users."""

    name: str
    title: str
    description: str = ""
    type_name: str = "string"
    secret: bool = False
    required: bool = False
    default: Any = None


class AuthMethod(BaseModel):
    """One way of giving credentials to a connector type."""

    model_config = ConfigDict(arbitrary_types_allowed=True)

    auth_method: str = Field(description="identifier used on the command line, e.g. 'secret-key'")
    name: str = Field(description="human-readable name, e.g. 'AWS Secret Key'")
    description: str = ""
    config_schema: type[AuthConfig]
    issues_temporary_credentials: bool = False
    default_expiration_seconds: int | None = None
    min_expiration_seconds: int | None = None
    max_expiration_seconds: int | None = None
    server_opt_in: bool = Field(
        default=False,
        description="uses the environment of whatever process runs it (e.g. ambient cloud "
        "credentials): a team server refuses it unless its administrator allows it",
    )

    def attributes(self) -> list[AttributeDoc]:
        """The documented attributes of this auth method."""
        return self.config_schema.attribute_docs()


class ResourceIdFormat(BaseModel):
    """One accepted way of writing a resource id, for help texts and conformance tests."""

    label: str
    pattern: str
    canonical: bool = False
    example: str = Field(
        default="",
        description="a resource id written this way; the conformance kit checks it is accepted",
    )


class ResourceType(BaseModel):
    """A vendor-neutral class of resource a connector type gives access to."""

    resource_type: str = Field(description="identifier, e.g. 's3-bucket'")
    name: str = Field(description="human-readable name, e.g. 'AWS S3 bucket'")
    description: str = ""
    emoji: str = ""
    auth_methods: list[str] = Field(
        default_factory=list, description="auth methods that can reach it; empty means all"
    )
    supports_instances: bool = Field(
        default=False,
        description="whether a connector may be scoped to, or list, several instances by id",
    )
    resource_id_formats: list[ResourceIdFormat] = Field(default_factory=list)


class ConnectorType(BaseModel):
    """Everything a plugin declares about one connector type."""

    connector_type: str = Field(description="identifier, e.g. 'aws'")
    name: str = Field(description="human-readable name, e.g. 'AWS connector'")
    description: str = ""
    emoji: str = ""
    auth_methods: list[AuthMethod]
    resource_types: list[ResourceType]
    supports_auto_configuration: bool = False
    implementation: str = Field(
        description="module holding the behaviour hooks; imported on first use"
    )
    requires_modules: list[str] = Field(
        default_factory=list,
        description="top-level modules (the SDK) that must be importable for local use",
    )
    install_hint: str = ""

    def auth_method(self, name: str) -> AuthMethod | None:
        """The auth method called ``name``, if declared."""
        return next((m for m in self.auth_methods if m.auth_method == name), None)

    def resource_type(self, name: str) -> ResourceType | None:
        """The resource type called ``name``, if declared."""
        return next((r for r in self.resource_types if r.resource_type == name), None)

    def resource_types_for(self, auth_method: str) -> list[ResourceType]:
        """The resource types reachable with ``auth_method``."""
        return [
            r for r in self.resource_types if not r.auth_methods or auth_method in r.auth_methods
        ]


class LocalTool(BaseModel):
    """A tool on the user's machine that a plugin configures for connector clients."""

    tool: str = Field(description="identifier 'login --tool' takes, e.g. 'kubectl'")
    name: str = Field(description="human-readable name, e.g. 'kubectl (kubeconfig)'")
    description: str = ""
    connector_types: list[str] = Field(
        description="connector client types it configures, e.g. ['kubernetes']"
    )
    resource_types: list[str] = Field(
        default_factory=list,
        description="resource types it configures; empty means every one of those types",
    )

    def covers(self, connector_type: str, resource_type: str) -> bool:
        """Whether the tool configures a client of ``connector_type`` for ``resource_type``."""
        return connector_type in self.connector_types and (
            not self.resource_types or resource_type in self.resource_types
        )


class TypeAvailability(BaseModel):
    """A connector type as seen from here: its declaration and where it can run."""

    connector_type: str
    declaration: ConnectorType | None = None
    local: bool = False
    remote: bool = False
    local_problem: str | None = Field(
        default=None, description="why the type is not available locally (load error, missing SDK)"
    )


class AutoConfiguration(BaseModel):
    """What a plugin found in the local environment for a new connector."""

    auth_method: str
    attributes: dict[str, Any]
    resource_type: str | None = None
    resource_id: str | None = None
    expiration_seconds: int | None = None
    expires_at: Any = None


__all__ = [
    "AttributeDoc",
    "AuthConfig",
    "AuthMethod",
    "AutoConfiguration",
    "ConnectorType",
    "LocalTool",
    "NotSecret",
    "ResourceIdFormat",
    "ResourceType",
    "SecretStr",
    "TypeAvailability",
]
