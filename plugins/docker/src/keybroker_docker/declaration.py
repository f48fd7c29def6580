"""The light module the entry point names: the ``docker`` connector type, no SDK."""

from __future__ import annotations

from pydantic import Field, SecretStr, field_validator

from keybroker.plugin import (
    AuthConfig,
    AuthMethod,
    ConnectorType,
    ResourceIdFormat,
    ResourceType,
    hookimpl,
)
from keybroker_docker.names import canonical_registry

RESOURCE_TYPE = "docker-registry"


class PasswordConfig(AuthConfig):
    """Attributes of the ``password`` auth method."""

    username: str = Field(title="User name")
    password: SecretStr = Field(title="Password or access token")
    registry: str | None = Field(
        default=None,
        title="Registry",
        description="Registry host or URL, e.g. ghcr.io or http://127.0.0.1:5000; "
        "Docker Hub when omitted",
    )

    @field_validator("username")
    @classmethod
    def _username_format(cls, value: str) -> str:
        if not value or ":" in value or any(not c.isprintable() for c in value):
            raise ValueError(
                f"invalid username {value!r}: it must be non-empty, without ':' or control "
                "characters"
            )
        return value

    @field_validator("registry")
    @classmethod
    def _registry_is_valid(cls, value: str | None) -> str | None:
        if value is None or not value.strip():
            return None
        try:
            canonical_registry(value)
        except Exception as exc:
            raise ValueError(str(exc)) from None
        return value.strip()


CONNECTOR_TYPE = ConnectorType(
    connector_type="docker",
    name="Docker registry connector",
    emoji="🐳",
    description=(
        "Reaches one container registry (Docker Hub, GHCR, a self-hosted distribution "
        "registry, ...) with a user name and password or access token. Verification talks "
        "to the registry's HTTP API directly, so no Docker daemon is needed. It is also the "
        "basic type cloud connectors derive for ECR and Artifact Registry: login writes the "
        "docker client configuration, or for temporary credentials a credential helper "
        "entry that fetches fresh ones from keybroker."
    ),
    auth_methods=[
        AuthMethod(
            auth_method="password",
            name="Registry user name and password",
            description=(
                "A user name with a password or access token, as 'docker login' takes them. "
                "They are checked against the registry's /v2/ endpoint, following its basic "
                "or bearer token challenge."
            ),
            config_schema=PasswordConfig,
        )
    ],
    resource_types=[
        ResourceType(
            resource_type=RESOURCE_TYPE,
            name="Container registry",
            emoji="🐳",
            description=(
                "One registry; its resource name is the registry host (docker.io for Docker "
                "Hub). The credentials need pull access at least."
            ),
            supports_instances=False,
            resource_id_formats=[
                ResourceIdFormat(
                    label="registry host",
                    pattern="{host}[:{port}]",
                    canonical=True,
                    example="ghcr.io",
                ),
                ResourceIdFormat(
                    label="registry URL",
                    pattern="https://{host}[:{port}]",
                    example="https://127.0.0.1:5000",
                ),
                ResourceIdFormat(
                    label="image reference",
                    pattern="{host}/{repository}[:{tag}]",
                    example="ghcr.io/org/app:1.0",
                ),
            ],
        )
    ],
    supports_auto_configuration=True,
    implementation="keybroker_docker.implementation",
    requires_modules=["requests"],
    install_hint="pip install 'keybroker[docker]'",
)


@hookimpl
def declare_connector_type() -> ConnectorType:
    """Declare the ``docker`` connector type."""
    return CONNECTOR_TYPE
