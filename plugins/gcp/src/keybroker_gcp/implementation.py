"""Behaviour of the ``gcp`` connector type, imported on first use."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from keybroker.plugin import (
    AuthConfig,
    AutoConfiguration,
    Connector,
    OperationError,
    UsageError,
    config_as,
    hookimpl,
)
from keybroker_gcp import connector_clients, resources
from keybroker_gcp.configs import GCPConfig, OAuth2TokenConfig
from keybroker_gcp.declaration import GCS, GENERIC, GKE, REGISTRY
from keybroker_gcp.resource_ids import (
    GCR_HOSTS,
    RegistryId,
    bucket_name,
    canonical_bucket,
    canonical_cluster,
    canonical_registry,
    check_project,
    parse_cluster,
    parse_registry,
)
from keybroker_gcp.tokens import (
    AccessToken,
    access_token,
    bucket_token,
    check_not_expired,
    token_info,
)


def _gcp(config: AuthConfig) -> GCPConfig:
    return config_as(config, GCPConfig)


@hookimpl
def canonical_resource_id(resource_type: str, resource_id: str, config: AuthConfig | None) -> str:
    """``bucket`` -> ``gs://bucket``, cluster paths -> ``LOCATION/NAME``, image -> registry."""
    project = config.project() if isinstance(config, GCPConfig) else None
    if resource_type == GCS:
        return canonical_bucket(resource_id)
    if resource_type == GKE:
        return canonical_cluster(resource_id, project)
    if resource_type == REGISTRY:
        return canonical_registry(resource_id, project)
    if resource_type == GENERIC:
        named = check_project(resource_id.strip())
        if project is not None and named != project:
            raise UsageError(
                f"resource type '{GENERIC}' is named by the connector's project '{project}', "
                f"not '{resource_id}'"
            )
        return named
    return resource_id


@hookimpl
def default_resource_id(resource_type: str, config: AuthConfig) -> str | None:
    """``gcp-generic`` is named by the project."""
    return _gcp(config).project() if resource_type == GENERIC else None


@hookimpl
def verify(
    connector: Connector, config: AuthConfig, resource_type: str | None, resource_id: str | None
) -> list[str]:
    """Mint (or check) a token (multi-type), list (multi-instance) or check one resource."""
    gcp = _gcp(config)
    if isinstance(gcp, OAuth2TokenConfig):
        check_not_expired(gcp)
    token = access_token(connector, gcp)
    if resource_type is None:
        if isinstance(gcp, OAuth2TokenConfig):
            token_info(token.token, gcp.api_endpoint)
        return []
    return resources.reachable(token, gcp, resource_type, resource_id)


@hookimpl
def auto_configure(auth_method: str | None, options: dict[str, str]) -> AutoConfiguration:
    """Credentials google-auth finds here; the auth method follows the file's type."""
    from keybroker_gcp.auto_configuration import discover

    return discover(auth_method, options)


def _trusted_registry_host(host: str, config: GCPConfig) -> bool:
    """Whether an access token may be sent to ``host`` as a registry password."""
    return bool(config.api_endpoint) or host in GCR_HOSTS or host.endswith(".pkg.dev")


def registry_host(
    registry: RegistryId, repositories: list[dict[str, Any]], config: GCPConfig
) -> str:
    """Where docker reaches ``registry``: the host Artifact Registry reports, else the id's."""
    for repository in repositories:
        uri = str(repository.get("registryUri") or "")
        host = uri.removeprefix("https://").split("/", 1)[0].lower()
        if not host:
            continue
        if not _trusted_registry_host(host, config):
            raise OperationError(
                f"Artifact Registry reports registry host '{host}' for {registry}, which is "
                "not a Google registry; no token is sent there"
            )
        return host
    return registry.host


def _cluster_client(
    connector: Connector, config: GCPConfig, token: AccessToken, resource_id: str
) -> Connector:
    cluster = parse_cluster(resource_id, config.project())
    described = resources.describe_cluster(token, config, cluster)
    endpoint = str(described.get("endpoint") or "")
    if not endpoint:
        raise OperationError(
            f"GKE cluster '{cluster}' has no endpoint yet (status {described.get('status')})"
        )
    ca_data = (described.get("masterAuth") or {}).get("clusterCaCertificate")
    return connector_clients.kubernetes_client(connector, endpoint, ca_data, token)


@hookimpl
def derive_client(
    connector: Connector, config: AuthConfig, resource_type: str, resource_id: str | None
) -> Connector | None:
    """GKE -> kubernetes token connector, registries -> docker, GCS/generic -> oauth2-token."""
    gcp = _gcp(config)
    if resource_type == GKE:
        if resource_id is None:
            raise UsageError("choose a GKE cluster with --resource-id LOCATION/NAME")
        return _cluster_client(connector, gcp, access_token(connector, gcp), resource_id)
    if resource_type == REGISTRY:
        if resource_id is None:
            raise UsageError("choose a registry with --resource-id")
        registry = parse_registry(resource_id, gcp.project())
        token = access_token(connector, gcp)
        repositories = resources.registry_repositories(token, gcp, registry)
        host = registry_host(registry, repositories, gcp)
        return connector_clients.docker_client(connector, host, token)
    if resource_type == GCS and resource_id is not None:
        token = bucket_token(connector, gcp, bucket_name(resource_id))
    else:
        token = access_token(connector, gcp)
    if resource_type == GENERIC:
        resource_id = gcp.project()
    return connector_clients.oauth2_client(connector, gcp, resource_type, resource_id, token)


@hookimpl
def build_client(
    connector: Connector,
    config: AuthConfig,
    resource_type: str,
    resource_id: str | None,
    refresh: Callable[[], Connector] | None,
) -> Any:
    """google-auth credentials (gcp-generic) or a storage Client (gcs-bucket), self-renewing.

    GKE and registries return None: keybroker derives a kubernetes or docker
    connector client and asks those plugins for the Python client.
    """
    if resource_type not in (GENERIC, GCS):
        return None
    from keybroker_gcp.python_clients import KeybrokerCredentials, new_storage_client

    gcp = _gcp(config)
    first = refresh() if refresh is not None else None
    if first is None:
        first = derive_client(connector, gcp, resource_type, resource_id)
        assert first is not None
    credentials = KeybrokerCredentials(first, refresh, gcp.project())
    if resource_type == GENERIC:
        return credentials
    return new_storage_client(credentials, gcp.project())
