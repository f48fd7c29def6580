"""The light module the entry point names: the ``kubernetes`` connector type, no SDK."""

from __future__ import annotations

from pydantic import Field, SecretStr, field_validator

from keybroker.plugin import (
    AuthConfig,
    AuthMethod,
    ConnectorType,
    ResourceIdFormat,
    ResourceType,
    UsageError,
    hookimpl,
)
from keybroker_kubernetes.names import check_header_text, check_username, parse_server

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

    @field_validator("token")
    @classmethod
    def _token_is_header_text(cls, value: SecretStr) -> SecretStr:
        try:
            check_header_text("token", value.get_secret_value())
        except UsageError as exc:
            raise ValueError(str(exc)) from None
        return value


class PasswordConfig(ClusterConfig):
    """Attributes of the ``password`` auth method."""

    username: str = Field(title="User name")
    password: SecretStr = Field(title="Password")

    @field_validator("username")
    @classmethod
    def _username_format(cls, value: str) -> str:
        try:
            return check_username(value)
        except UsageError as exc:
            raise ValueError(str(exc)) from None


def check_pem_private_key(value: SecretStr) -> SecretStr:
    """Accept an unencrypted PEM private key; raise ``ValueError`` (without the key) otherwise."""
    from cryptography.hazmat.primitives.serialization import load_pem_private_key

    try:
        load_pem_private_key(value.get_secret_value().strip().encode() + b"\n", password=None)
    except (ValueError, TypeError):
        raise ValueError(
            "client_key is not an unencrypted PEM private key (expected '-----BEGIN ... "
            "PRIVATE KEY-----'); give the key itself, or @path to read a file"
        ) from None
    return SecretStr(value.get_secret_value().strip() + "\n")


class ClientCertificateConfig(ClusterConfig):
    """Attributes of the ``client-certificate`` auth method."""

    client_certificate: str = Field(
        title="Client certificate", description="PEM certificate the cluster's CA signed"
    )
    client_key: SecretStr = Field(
        title="Client key", description="PEM private key of the certificate"
    )

    @field_validator("client_certificate")
    @classmethod
    def _certificate_is_pem(cls, value: str) -> str:
        try:
            checked = check_pem_certificate(value)
        except ValueError:
            checked = None
        if checked is None:
            raise ValueError(
                "client_certificate is not a PEM certificate (expected '-----BEGIN "
                "CERTIFICATE-----'); give the certificate itself, or @path to read a file"
            )
        return checked

    @field_validator("client_key")
    @classmethod
    def _key_is_pem(cls, value: SecretStr) -> SecretStr:
        return check_pem_private_key(value)


CONNECTOR_TYPE = ConnectorType(
    connector_type="kubernetes",
    name="Kubernetes cluster connector",
    emoji="🌀",
    description=(
        "Reaches one Kubernetes cluster through its API server with a bearer token, a "
        "client certificate or a user name and password. It is also the basic type cloud "
        "connectors derive for EKS and GKE clusters, so 'login' and Python clients for "
        "every cluster come from here. Login writes a kubeconfig context; when the "
        "credentials are temporary it writes an exec credential entry that asks keybroker "
        "for a fresh token whenever kubectl needs one."
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
            auth_method="client-certificate",
            name="Kubernetes client certificate",
            description=(
                "A client certificate and its private key (mutual TLS), as kubeadm, kind and "
                "minikube set up for their admin user. The key is stored encrypted like any "
                "secret; a Python client keeps it in a private temporary file while it runs."
            ),
            config_schema=ClientCertificateConfig,
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
                    label="API server host",
                    pattern="{host}[:{port}]",
                    canonical=True,
                    example="10.0.0.1:6443",
                ),
                ResourceIdFormat(
                    label="API server URL",
                    pattern="https://{host}[:{port}]",
                    example="https://k8s.example.com",
                ),
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
