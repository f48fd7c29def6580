"""The light module the entry point names: the ``kubernetes`` connector type, no SDK."""

from __future__ import annotations

from pydantic import Field, SecretStr, field_validator

from keybroker.hookspecs import hookimpl
from keybroker.types import AuthConfig, AuthMethod, ConnectorType, ResourceIdFormat, ResourceType
from keybroker_kubernetes.names import parse_server

RESOURCE_TYPE = "kubernetes-cluster"


def check_pem_certificate(value: str | None) -> str | None:
    """Accept one or more PEM certificates; raise ``ValueError`` naming the problem."""
    if value is None or not value.strip():
        return None
    from cryptography import x509

    text = value.strip() + "\n"
    try:
        x509.load_pem_x509_certificates(text.encode())
    except ValueError:
        raise ValueError(
            "certificate_authority is not a PEM certificate (expected '-----BEGIN "
            "CERTIFICATE-----'); give the CA bundle itself, or @path to read a file"
        ) from None
    return text


class ClusterConfig(AuthConfig):
    """Attributes every Kubernetes auth method shares."""

    server: str = Field(
        title="API server URL", description="The cluster's API server, e.g. https://10.0.0.1:6443"
    )
    certificate_authority: str | None = Field(
        default=None,
        title="CA certificate",
        description="PEM CA bundle that signed the API server's certificate; "
        "the system's CAs when omitted",
    )
    insecure: bool = Field(
        default=False,
        title="Skip TLS verification",
        description="Do not check the API server's certificate (test clusters only)",
    )

    @field_validator("server")
    @classmethod
    def _server_is_url(cls, value: str) -> str:
        try:
            parse_server(value)
        except Exception as exc:
            raise ValueError(str(exc)) from None
        return value.strip().rstrip("/")

    @field_validator("certificate_authority")
    @classmethod
    def _ca_is_pem(cls, value: str | None) -> str | None:
        return check_pem_certificate(value)


class TokenConfig(ClusterConfig):
    """Attributes of the ``token`` auth method."""

    token: SecretStr = Field(title="Bearer token", description="A service account or user token")


class PasswordConfig(ClusterConfig):
    """Attributes of the ``password`` auth method."""

    username: str = Field(title="User name")
    password: SecretStr = Field(title="Password")


CONNECTOR_TYPE = ConnectorType(
    connector_type="kubernetes",
    name="Kubernetes cluster connector",
    emoji="🌀",
    description=(
        "Reaches one Kubernetes cluster through its API server with a bearer token or a "
        "user name and password. It is also the basic type cloud connectors derive for "
        "EKS and GKE clusters, so 'login' and Python clients for every cluster come from "
        "here. Login writes a kubeconfig context; when the credentials are temporary it "
        "writes an exec credential entry that asks keybroker for a fresh token whenever "
        "kubectl needs one."
    ),
    auth_methods=[
        AuthMethod(
            auth_method="token",
            name="Kubernetes bearer token",
            description=(
                "A bearer token (service account token, OIDC id token, ...) sent with every "
                "request. Give certificate_authority unless the API server's certificate is "
                "signed by a public CA."
            ),
            config_schema=TokenConfig,
        ),
        AuthMethod(
            auth_method="password",
            name="Kubernetes user name and password",
            description=(
                "HTTP basic authentication against the API server, for clusters that still "
                "accept it (most managed clusters do not)."
            ),
            config_schema=PasswordConfig,
        ),
    ],
    resource_types=[
        ResourceType(
            resource_type=RESOURCE_TYPE,
            name="Kubernetes cluster",
            emoji="🌀",
            description=(
                "One cluster; its resource name is the API server's host (with the port "
                "unless it is 443). Verification reads /version and lists namespaces, so the "
                "credentials need at least 'list' on namespaces."
            ),
            supports_instances=False,
            resource_id_formats=[
                ResourceIdFormat(
                    label="API server host", pattern="{host}[:{port}]", canonical=True
                ),
                ResourceIdFormat(label="API server URL", pattern="https://{host}[:{port}]"),
            ],
        )
    ],
    supports_auto_configuration=True,
    implementation="keybroker_kubernetes.implementation",
    requires_modules=["kubernetes"],
    install_hint="pip install 'keybroker[kubernetes]'",
)


@hookimpl
def declare_connector_type() -> ConnectorType:
    """Declare the ``kubernetes`` connector type."""
    return CONNECTOR_TYPE
