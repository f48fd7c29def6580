"""Validation of everything a connector is made of, and building it.

Names, labels and descriptions are checked here (no control characters that
could spoof a table), attributes against the auth method's schema (errors name
the attribute, never its value), the expiration against the method's range,
and the scope against the connector type. :class:`ConnectorBuilder` puts a
connector together only when every check passed; it stores nothing.
"""

from __future__ import annotations

import re
import unicodedata
import uuid
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from pydantic import SecretStr, ValidationError

from keybroker import redaction
from keybroker.catalog import require_auth_method, require_resource_type
from keybroker.connector import Connector, utcnow
from keybroker.errors import UsageError
from keybroker.service.scope import ScopeRules
from keybroker.types import AuthConfig, AuthMethod, ConnectorType
from keybroker.validation_errors import location, problem

NAME_PATTERN = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]{0,127}")
MAX_LABEL_KEY = 128
MAX_LABEL_VALUE = 256
MAX_DESCRIPTION = 4096
#: the longest lifetime a store keeps (a signed 32-bit column): about 68 years
MAX_EXPIRATION_SECONDS = 2**31 - 1
#: bidirectional-text controls reorder what a terminal shows (Trojan-source spoofing)
_BIDI_CONTROLS = frozenset("\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069\u200e\u200f")


def validate_name(name: str, parameter: str = "name") -> None:
    """Refuse a connector name outside 1-128 letters, digits, '.', '_', '-'."""
    if not NAME_PATTERN.fullmatch(name):
        raise UsageError(
            f"invalid connector name {name!r}: use 1 to 128 letters, digits, '.', '_' or '-', "
            "starting with a letter or digit",
            parameter=parameter,
        )


def printable(text: str) -> bool:
    """Whether ``text`` holds no control character and no bidirectional-text control."""
    return not any(unicodedata.category(ch) == "Cc" or ch in _BIDI_CONTROLS for ch in text)


def _check_text(what: str, text: str, limit: int, parameter: str) -> None:
    if not printable(text):
        raise UsageError(
            f"{what} contains a control character (a newline, tab, escape or text-direction "
            "mark); use printable text",
            parameter=parameter,
        )
    if len(text) > limit:
        raise UsageError(f"{what} is longer than {limit} characters", parameter=parameter)


def validate_labels(labels: dict[str, str | None]) -> None:
    """Refuse empty or malformed label keys and values with control characters."""
    for key, value in labels.items():
        if not key.strip():
            raise UsageError("a label key is empty", parameter="labels")
        if "=" in key:
            raise UsageError(f"label key {key!r} contains '='", parameter="labels")
        _check_text(f"label key {key!r}", key, MAX_LABEL_KEY, "labels")
        if value is not None:
            _check_text(f"the value of label '{key}'", value, MAX_LABEL_VALUE, "labels")


def validate_description(description: str) -> None:
    """Refuse a description with control characters, or an overly long one."""
    _check_text("the description", description, MAX_DESCRIPTION, "description")


def describe_validation_error(
    exc: ValidationError, connector_type: str, method: AuthMethod, secrets: Iterable[str] = ()
) -> str:
    """One line naming each bad attribute (never its value) and the accepted ones.

    Missing attributes are named together; pydantic's "Value error, " prefix is dropped.
    """
    missing: list[str] = []
    problems: list[str] = []
    for err in exc.errors(include_url=False, include_input=False):
        name = location(err) or "?"
        kind = err.get("type", "")
        if kind == "missing":
            missing.append(f"'{name}'")
        elif kind == "extra_forbidden":
            problems.append(f"unknown attribute '{name}'")
        else:
            problems.append(f"attribute '{name}': {problem(err)}")
    if missing:
        noun = "attribute" if len(missing) == 1 else "attributes"
        problems.insert(0, f"missing required {noun} {', '.join(missing)}")
    known = ", ".join(f"{a.name}{' (required)' if a.required else ''}" for a in method.attributes())
    text = (
        f"{'; '.join(problems)} for {connector_type} auth method '{method.auth_method}' "
        f"(attributes: {known})"
    )
    return redaction.scrub(text, secrets)


def _empty(value: Any) -> bool:
    """Whether an attribute value says nothing: None or empty text (``password=``).

    An empty value counts as not given, so that a required one is reported
    as missing instead of being sent as an empty credential.
    """
    if isinstance(value, SecretStr):
        value = value.get_secret_value()
    return value is None or value == ""


def _secret_inputs(attributes: dict[str, Any], method: AuthMethod) -> list[str]:
    """The values given for secret attributes, to scrub from messages (a validator may echo one)."""
    secret_names = set(method.config_schema.secret_fields())
    values = []
    for name, value in attributes.items():
        if name in secret_names:
            text = value.get_secret_value() if isinstance(value, SecretStr) else str(value)
            values.append(text)
    return values


def auth_config(declaration: ConnectorType, connector: Connector) -> AuthConfig:
    """A stored connector's attributes, validated against its auth method's schema."""
    method = require_auth_method(declaration, connector.auth_method)
    try:
        return connector.auth_config(method.config_schema)
    except ValidationError as exc:
        raise UsageError(
            f"connector '{connector.name}': "
            + describe_validation_error(
                exc, declaration.connector_type, method, connector.secret_values()
            ),
            parameter="attributes",
        ) from None


def validate_expiration(method: AuthMethod, expiration_seconds: int | None) -> int | None:
    """The expiration to store: the method's default, or the one given if in range."""
    if not method.issues_temporary_credentials:
        if expiration_seconds is not None:
            raise UsageError(
                f"auth method '{method.auth_method}' does not issue temporary credentials; "
                "leave out the expiration",
                parameter="expiration_seconds",
            )
        return None
    if expiration_seconds is None:
        return method.default_expiration_seconds
    low, high = method.min_expiration_seconds, method.max_expiration_seconds
    if high is None or high > MAX_EXPIRATION_SECONDS:
        high = MAX_EXPIRATION_SECONDS
    if (low is not None and expiration_seconds < low) or expiration_seconds > high:
        raise UsageError(
            f"expiration of {expiration_seconds} s is outside the range of auth method "
            f"'{method.auth_method}': {low if low is not None else 0} to "
            f"{high} s",
            parameter="expiration_seconds",
        )
    return expiration_seconds


@dataclass
class ConnectorSpec:
    """Everything a connector-to-be is made of, before validation."""

    name: str
    declaration: ConnectorType
    auth_method: str
    attributes: dict[str, Any]
    owner: str
    resource_type: str | None = None
    resource_id: str | None = None
    labels: dict[str, str] = field(default_factory=dict)
    description: str = ""
    expiration_seconds: int | None = None
    expires_at: datetime | None = None
    shared: bool = False
    connector_id: uuid.UUID = field(default_factory=uuid.uuid4)
    created: datetime | None = None
    version: int = 0


class ConnectorBuilder:
    """Validates a :class:`ConnectorSpec` and builds the connector (unsaved)."""

    def __init__(self, scope: ScopeRules) -> None:
        self.scope = scope

    def build(self, spec: ConnectorSpec) -> tuple[Connector, AuthConfig]:
        """The validated connector and its configuration; ``UsageError`` on any bad part."""
        declaration = spec.declaration
        validate_name(spec.name)
        validate_labels(dict(spec.labels))
        validate_description(spec.description)
        method = require_auth_method(declaration, spec.auth_method)
        given = {k: v for k, v in spec.attributes.items() if not _empty(v)}
        try:
            config = method.config_schema.model_validate(given)
        except ValidationError as exc:
            raise UsageError(
                describe_validation_error(
                    exc, declaration.connector_type, method, _secret_inputs(given, method)
                ),
                parameter="attributes",
            ) from None
        resource_type, resource_id = self._scope(spec, config)
        expiration = validate_expiration(method, spec.expiration_seconds)
        secret_names = set(method.config_schema.secret_fields())
        values = config.model_dump(exclude_none=True)
        secrets = {
            k: v if isinstance(v, SecretStr) else SecretStr(str(v))
            for k, v in values.items()
            if k in secret_names
        }
        redaction.remember(*secrets.values())
        now = utcnow()
        connector = Connector(
            id=spec.connector_id,
            name=spec.name,
            connector_type=declaration.connector_type,
            auth_method=spec.auth_method,
            resource_type=resource_type,
            resource_id=resource_id,
            configuration={k: v for k, v in values.items() if k not in secret_names},
            secrets=secrets,
            secret_names=sorted(secrets),
            labels=dict(spec.labels),
            description=spec.description,
            owner=spec.owner,
            shared=spec.shared,
            expiration_seconds=expiration,
            expires_at=config.credentials_expiry() or spec.expires_at,
            created=spec.created or now,
            updated=now,
            version=spec.version,
        )
        return connector, config

    def _scope(self, spec: ConnectorSpec, config: AuthConfig) -> tuple[str | None, str | None]:
        """The resource type and canonical id the connector is scoped to."""
        declaration = spec.declaration
        resource_type, resource_id = spec.resource_type, spec.resource_id
        if resource_type is None:
            reachable = declaration.resource_types_for(spec.auth_method)
            if len(declaration.resource_types) == 1 and len(reachable) == 1:
                resource_type = reachable[0].resource_type
        if resource_id is not None and resource_type is None:
            raise UsageError("a resource id needs a resource type", parameter="resource_type")
        if resource_type is None:
            return None, None
        rtype = require_resource_type(declaration, resource_type, spec.auth_method)
        default = None
        if not rtype.supports_instances:
            default = self.scope.default_resource_id(declaration, resource_type, config)
        if resource_id is None:
            return resource_type, default
        canonical = self.scope.canonical_resource_id(
            declaration, resource_type, resource_id, config
        )
        if default is not None and canonical != default:
            raise UsageError(
                f"resource type '{resource_type}' of connector type "
                f"'{declaration.connector_type}' has one resource per connector, named "
                f"'{default}' by its configuration, not '{canonical}'; leave out the resource id",
                parameter="resource_id",
            )
        return resource_type, canonical
