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
        raise UsageError(
            f"this connector reaches cluster '{name}', not '{resource_id}'",
            parameter="resource_id",
        )
    ApiServer(config).check_access()
    return [] if resource_type is None else [name]


def _text(body: dict[str, Any], key: str, where: str) -> str | None:
    """The string ``body[key]`` of a kubeconfig entry, None if absent; refuse another type."""
    value = body.get(key)
    if value is None or value == "":
        return None
    if not isinstance(value, str):
        raise UsageError(f"{where}: '{key}' is not a string; fix the kubeconfig")
    return value


def _read_reference(
    body: dict[str, Any], key: str, base: Path, where: str, inline: bool = True
) -> str | None:
    """A kubeconfig value given inline (base64 ``KEY-data``) or as a file path (``KEY``)."""
    data = _text(body, f"{key}-data", where) if inline else None
    value = _text(body, key, where)
    if data:
        import binascii

        try:
            return base64.b64decode("".join(data.split()), validate=True).decode()
        except (binascii.Error, UnicodeDecodeError):
            raise UsageError(
                f"{where}: '{key}-data' is not base64-encoded text; fix the kubeconfig"
            ) from None
    if value:
        path = Path(value).expanduser()
        path = path if path.is_absolute() else base / path
        try:
            return path.read_text(encoding="utf-8")
        except OSError as exc:
            raise UsageError(
                f"cannot read {path} named in the kubeconfig: {exc.strerror}"
            ) from None
        except UnicodeDecodeError:
            raise UsageError(f"{path} named in the kubeconfig is not UTF-8 text") from None
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
    in_cluster = f"{path}, cluster of context '{found['name']}'"
    in_user = f"{path}, user of context '{found['name']}'"
    attributes: dict[str, Any] = {
        "server": _text(cluster, "server", in_cluster),
        "insecure": cluster.get("insecure-skip-tls-verify", False) is True,
    }
    ca = _read_reference(cluster, "certificate-authority", base, in_cluster)
    if ca:
        attributes["certificate_authority"] = ca
    token = _text(user, "token", in_user) or _read_reference(
        user, "tokenFile", base, in_user, inline=False
    )
    certificate = _read_reference(user, "client-certificate", base, in_user)
    username, password = _text(user, "username", in_user), _text(user, "password", in_user)
    if token:
        method = "token"
        attributes["token"] = token.strip()
    elif certificate:
        method = "client-certificate"
        attributes["client_certificate"] = certificate
        attributes["client_key"] = _read_reference(user, "client-key", base, in_user)
    elif username and password:
        method = "password"
        attributes.update(username=username, password=password)
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
