"""Behaviour of the ``kubernetes`` connector type, imported on first use."""

from __future__ import annotations

import base64
from collections.abc import Callable
from pathlib import Path
from typing import Any

from keybroker.plugin import (
    AuthConfig,
    AutoConfiguration,
    Connector,
    UsageError,
    config_as,
    hookimpl,
)
from keybroker_kubernetes.api_server import ApiServer
from keybroker_kubernetes.declaration import RESOURCE_TYPE, ClusterConfig
from keybroker_kubernetes.names import canonical_cluster, cluster_name


@hookimpl
def canonical_resource_id(resource_type: str, resource_id: str) -> str:
    """A cluster is named by its API server host: ``https://H:443/`` becomes ``H``."""
    return canonical_cluster(resource_id)


@hookimpl
def default_resource_id(resource_type: str, config: AuthConfig) -> str | None:
    """The cluster's name comes from the server URL alone."""
    config = config_as(config, ClusterConfig)
    return cluster_name(config.server)


@hookimpl
def verify(
    connector: Connector, config: AuthConfig, resource_type: str | None, resource_id: str | None
) -> list[str]:
    """Read /version and list namespaces with the credentials."""
    config = config_as(config, ClusterConfig)
    name = cluster_name(config.server)
    if resource_id is not None and resource_id != name:
        raise UsageError(f"this connector reaches cluster '{name}', not '{resource_id}'")
    ApiServer(config).check_access()
    return [] if resource_type is None else [name]


def _read_reference(value: str | None, data: str | None, base: Path) -> str | None:
    """A kubeconfig value given inline (base64 ``*-data``) or as a file path."""
    if data:
        return base64.b64decode(data).decode()
    if value:
        path = Path(value).expanduser()
        path = path if path.is_absolute() else base / path
        try:
            return path.read_text()
        except OSError as exc:
            raise UsageError(
                f"cannot read {path} named in the kubeconfig: {exc.strerror}"
            ) from None
    return None


@hookimpl
def auto_configure(auth_method: str | None, options: dict[str, str]) -> AutoConfiguration:
    """Import the current (or ``context``) kubeconfig context's cluster and credentials."""
    from keybroker_kubernetes.kubeconfig import find_context, kubeconfig_path, read_kubeconfig

    path = kubeconfig_path()
    if not path.exists():
        raise UsageError(f"no kubeconfig at {path}; set KUBECONFIG or give the attributes")
    found = find_context(read_kubeconfig(path), options.get("context"), path)
    cluster, user, base = found["cluster"], found["user"], found["base"]
    attributes: dict[str, Any] = {
        "server": cluster.get("server"),
        "insecure": bool(cluster.get("insecure-skip-tls-verify", False)),
    }
    ca = _read_reference(
        cluster.get("certificate-authority"), cluster.get("certificate-authority-data"), base
    )
    if ca:
        attributes["certificate_authority"] = ca
    token = user.get("token") or _read_reference(user.get("tokenFile"), None, base)
    certificate = _read_reference(
        user.get("client-certificate"), user.get("client-certificate-data"), base
    )
    if token:
        method = "token"
        attributes["token"] = token.strip()
    elif certificate:
        method = "client-certificate"
        attributes["client_certificate"] = certificate
        attributes["client_key"] = _read_reference(
            user.get("client-key"), user.get("client-key-data"), base
        )
    elif user.get("username") and user.get("password"):
        method = "password"
        attributes.update(username=user["username"], password=user["password"])
    else:
        kind = "an exec plugin" if "exec" in user else "no credentials keybroker can import"
        raise UsageError(
            f"kubeconfig context '{found['name']}' uses {kind}; keybroker imports a token, "
            "a client certificate or a user name and password"
        )
    if auth_method and auth_method != method:
        raise UsageError(
            f"kubeconfig context '{found['name']}' holds '{method}' credentials, "
            f"not '{auth_method}'"
        )
    return AutoConfiguration(auth_method=method, attributes=attributes, resource_type=RESOURCE_TYPE)


@hookimpl
def build_client(
    connector: Connector,
    config: AuthConfig,
    resource_type: str,
    refresh: Callable[[], Connector] | None,
) -> Any:
    """A ``kubernetes.client.ApiClient`` for the cluster, renewing temporary tokens."""
    from keybroker_kubernetes.python_client import api_client

    config = config_as(config, ClusterConfig)
    return api_client(connector, config, refresh)
