"""The connector clients a ``gcp`` connector hands out: the one place that builds them.

- a GKE cluster becomes a ``kubernetes`` ``token`` connector (access token, endpoint, CA);
- a registry becomes a ``docker`` ``password`` connector (``oauth2accesstoken``, token);
- GCS buckets and generic access become a ``gcp`` ``oauth2-token`` connector.

Each carries ``expires_at``: login then configures kubectl and docker to fetch
fresh credentials through keybroker instead of writing the token down.
"""

from __future__ import annotations

import base64
import binascii
from datetime import UTC

from pydantic import SecretStr

from keybroker.plugin import Connector, docker_registry_client, kubernetes_cluster_client
from keybroker_gcp.configs import GCPConfig
from keybroker_gcp.tokens import AccessToken

#: the user name Google's registries take together with an access token
REGISTRY_USERNAME = "oauth2accesstoken"


def _pem_or_none(data: object) -> str | None:
    """A base64 PEM bundle decoded, or None when it is not one (then system CAs apply)."""
    if not isinstance(data, str) or not data:
        return None
    try:
        text = base64.b64decode(data, validate=True).decode()
    except (binascii.Error, UnicodeDecodeError):
        return None
    return text if "-----BEGIN CERTIFICATE-----" in text else None


def kubernetes_client(
    source: Connector, endpoint: str, ca_data: object, token: AccessToken
) -> Connector:
    """A ``kubernetes`` token connector for a cluster at ``endpoint`` (GKE gives host[:port])."""
    return kubernetes_cluster_client(
        source,
        server=endpoint if endpoint.startswith("https://") else f"https://{endpoint}",
        token=token.token,
        certificate_authority=_pem_or_none(ca_data),
        expires_at=token.expires_at,
    )


def docker_client(source: Connector, registry_host: str, token: AccessToken) -> Connector:
    """A ``docker`` password connector for the registry at ``registry_host``."""
    return docker_registry_client(
        source,
        registry=registry_host,
        username=REGISTRY_USERNAME,
        password=token.token,
        expires_at=token.expires_at,
    )


def oauth2_client(
    source: Connector,
    config: GCPConfig,
    resource_type: str,
    resource_id: str | None,
    token: AccessToken,
) -> Connector:
    """A ``gcp`` ``oauth2-token`` connector holding ``token`` for one resource type."""
    configuration = {
        "project_id": config.project(),
        "expires_at": token.expires_at.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
    }
    if config.api_endpoint:
        configuration["api_endpoint"] = config.api_endpoint
    return Connector(
        name=source.name,
        connector_type="gcp",
        auth_method="oauth2-token",
        resource_type=resource_type,
        resource_id=resource_id,
        configuration=configuration,
        secrets={"token": SecretStr(token.token)},
        secret_names=["token"],
        expires_at=token.expires_at,
    )
