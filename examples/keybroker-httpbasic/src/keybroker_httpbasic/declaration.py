"""The light module the entry point names: declarations only, nothing heavy."""

from __future__ import annotations

from pydantic import Field, SecretStr

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
            emoji="🖥",
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
