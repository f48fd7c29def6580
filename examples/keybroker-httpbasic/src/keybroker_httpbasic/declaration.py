"""The light module the entry point names: declarations only, nothing heavy."""

from __future__ import annotations

from urllib.parse import urlsplit

from pydantic import Field, SecretStr, field_validator

from keybroker.plugin import (
    AuthConfig,
    AuthMethod,
    ConnectorType,
    ResourceIdFormat,
    ResourceType,
    hookimpl,
)


class BasicAuthConfig(AuthConfig):
    """Attributes of the ``password`` auth method."""

    url: str = Field(title="Service URL", description="base URL, e.g. http://127.0.0.1:8080")
    username: str = Field(title="User name")
    password: SecretStr = Field(title="Password")

    @field_validator("url")
    @classmethod
    def _url_format(cls, value: str) -> str:
        text = value.strip().rstrip("/")
        parts = urlsplit(text)
        try:
            parts.port  # noqa: B018 - raises on a malformed port
        except ValueError:
            raise ValueError("url has a port that is not a number from 0 to 65535") from None
        if "@" in parts.netloc:  # not echoed: it may hold a password
            raise ValueError("url must not carry credentials (user:password@)")
        if (
            parts.scheme not in ("http", "https")
            or not parts.hostname
            or any(c.isspace() or not c.isprintable() for c in text)
        ):
            raise ValueError(f"invalid url '{text}': use http(s)://HOST[:PORT][/PATH]")
        return text

    @field_validator("username")
    @classmethod
    def _username_format(cls, value: str) -> str:
        if not value or ":" in value or any(not c.isprintable() for c in value):
            raise ValueError("username must be non-empty, without ':' or control characters")
        return value


CONNECTOR_TYPE = ConnectorType(
    connector_type="httpbasic",
    name="HTTP basic-auth connector",
    emoji="🌐",
    description=(
        "Reaches an HTTP service protected by basic auth. An example of a third-party "
        "keybroker plugin: it declares two resource types, verifies credentials against "
        "the service, lists its endpoints and writes a .netrc entry on login."
    ),
    auth_methods=[
        AuthMethod(
            auth_method="password",
            name="HTTP basic auth",
            description="A user name and password sent with every request.",
            config_schema=BasicAuthConfig,
        )
    ],
    resource_types=[
        ResourceType(
            resource_type="http-server",
            name="HTTP service",
            emoji="💻",
            description="The service as a whole; its resource name is host:port.",
            supports_instances=False,
        ),
        ResourceType(
            resource_type="http-endpoint",
            name="HTTP endpoint",
            emoji="📄",
            description="One path of the service, as listed by GET /index.",
            supports_instances=True,
            resource_id_formats=[
                ResourceIdFormat(
                    label="path", pattern="/{path}", canonical=True, example="/reports"
                ),
                ResourceIdFormat(label="path without slash", pattern="{path}", example="reports"),
            ],
        ),
    ],
    supports_auto_configuration=True,
    implementation="keybroker_httpbasic.implementation",
)


@hookimpl
def declare_connector_type() -> ConnectorType:
    """Declare the ``httpbasic`` connector type."""
    return CONNECTOR_TYPE
