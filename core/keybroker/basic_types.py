"""Basic connector types: the written contract between cloud plugins and cluster/registry plugins.

``kubernetes`` and ``docker`` are *basic* connector types: one connector, one
resource. A cloud plugin reaches a managed cluster or registry by deriving a
short-lived connector client of a basic type, so that local login and Python
clients for clusters and registries are written once, by the plugin that owns
the basic type.

The helpers below build those connector clients. They live in the core, not in
the basic plugins, because a client is often issued where the basic type is not
installed (a team server with only ``keybroker-aws``) and used where it is (the
laptop that runs ``kubectl``): there the ``kubernetes`` plugin's declaration
validates the client like any connector of its type. The attribute names and
the resource names produced here are the contract; the conformance kit
(``keybroker.testing``) checks that the installed basic plugins accept them.
"""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING
from urllib.parse import urlsplit

from pydantic import SecretStr

from keybroker.errors import OperationError

if TYPE_CHECKING:
    from keybroker.connector import Connector

KUBERNETES = "kubernetes"
"""Connector type of Kubernetes cluster clients."""
KUBERNETES_CLUSTER = "kubernetes-cluster"
"""Resource type of a Kubernetes cluster."""
DOCKER = "docker"
"""Connector type of container registry clients."""
DOCKER_REGISTRY = "docker-registry"
"""Resource type of a container registry."""

#: Basic connector types and the resource type each one serves.
BASIC_TYPES = {KUBERNETES: KUBERNETES_CLUSTER, DOCKER: DOCKER_REGISTRY}

DOCKER_HUB = "docker.io"
_DOCKER_HUB_ALIASES = frozenset(
    {
        "docker.io",
        "index.docker.io",
        "registry-1.docker.io",
        "registry.hub.docker.com",
        "hub.docker.com",
    }
)


def _host_and_port(value: str, what: str) -> tuple[str, str, int | None]:
    text = value.strip()
    parts = urlsplit(text if "://" in text else f"https://{text}")
    try:
        port = parts.port
    except ValueError:
        port = -1
    if parts.scheme not in ("https", "http") or not parts.hostname or port == -1:
        raise OperationError(f"'{value}' is not a valid {what}: expected https://HOST[:PORT]")
    host = parts.hostname.lower()
    if ":" in host:  # IPv6
        host = f"[{host}]"
    return parts.scheme, host, port


def kubernetes_cluster_name(server: str) -> str:
    """The resource name of a cluster: its API server host, with the port unless it is the default.

    ``https://ABC.gr7.us-east-1.eks.amazonaws.com`` -> ``abc.gr7.us-east-1.eks.amazonaws.com``,
    ``https://10.0.0.1:6443`` -> ``10.0.0.1:6443``.
    """
    scheme, host, port = _host_and_port(server, "Kubernetes API server URL")
    default = 443 if scheme == "https" else 80
    return host if port in (None, default) else f"{host}:{port}"


def docker_registry_name(registry: str) -> str:
    """The resource name of a registry: its host (and port), ``docker.io`` for Docker Hub.

    ``https://123.dkr.ecr.eu-west-1.amazonaws.com/`` -> ``123.dkr.ecr.eu-west-1.amazonaws.com``.
    """
    _, host, port = _host_and_port(registry, "registry host")
    if host in _DOCKER_HUB_ALIASES:
        return DOCKER_HUB
    return host if port is None else f"{host}:{port}"


def _client(
    source: Connector,
    connector_type: str,
    auth_method: str,
    resource_id: str,
    configuration: dict[str, object],
    secrets: dict[str, str],
    expires_at: datetime | None,
) -> Connector:
    from keybroker.connector import Connector

    empty = [name for name, value in secrets.items() if not value]
    if empty:
        raise OperationError(
            f"the {connector_type} client derived from connector '{source.name}' has an empty "
            f"{', '.join(empty)}"
        )
    if expires_at is not None and expires_at.tzinfo is None:
        raise OperationError("expires_at of a connector client must be timezone-aware")
    return Connector(
        name=source.name,
        connector_type=connector_type,
        auth_method=auth_method,
        resource_type=BASIC_TYPES[connector_type],
        resource_id=resource_id,
        configuration={k: v for k, v in configuration.items() if v is not None},
        secrets={k: SecretStr(v) for k, v in secrets.items()},
        secret_names=sorted(secrets),
        expires_at=expires_at,
    )


def kubernetes_cluster_client(
    source: Connector,
    *,
    server: str,
    token: str,
    certificate_authority: str | None = None,
    insecure: bool = False,
    expires_at: datetime | None = None,
) -> Connector:
    """A ``kubernetes`` ``token`` connector client for one cluster.

    Args:
        source: The registered connector the client is derived from (its name
            is kept, so that logins name their kubeconfig context after it).
        server: The API server URL, ``https://HOST[:PORT]``.
        token: A bearer token the API server accepts.
        certificate_authority: PEM bundle of the CA that signed the API
            server's certificate; None for the system's CAs.
        insecure: Skip TLS verification (test clusters only).
        expires_at: When the token expires (timezone-aware); None if it does not.

    Returns:
        The connector client, named ``kubernetes_cluster_name(server)``.

    Raises:
        OperationError: The server URL is malformed or the token empty.
    """
    return _client(
        source,
        KUBERNETES,
        "token",
        kubernetes_cluster_name(server),
        {
            "server": server.strip().rstrip("/"),
            "certificate_authority": certificate_authority or None,
            "insecure": insecure,
        },
        {"token": token},
        expires_at,
    )


def docker_registry_client(
    source: Connector,
    *,
    registry: str,
    username: str,
    password: str,
    expires_at: datetime | None = None,
) -> Connector:
    """A ``docker`` ``password`` connector client for one container registry.

    Args:
        source: The registered connector the client is derived from.
        registry: The registry host or URL, e.g. ``123.dkr.ecr.eu-west-1.amazonaws.com``.
        username: The user name ``docker login`` takes (``AWS`` for ECR).
        password: The password or token.
        expires_at: When the password expires (timezone-aware); None if it does not.

    Returns:
        The connector client, named ``docker_registry_name(registry)``.

    Raises:
        OperationError: The registry is malformed or the password empty.
    """
    name = docker_registry_name(registry)
    return _client(
        source,
        DOCKER,
        "password",
        name,
        {"registry": registry.strip().rstrip("/"), "username": username},
        {"password": password},
        expires_at,
    )
