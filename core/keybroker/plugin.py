"""The plugin API: the one module a keybroker plugin imports.

Everything a plugin needs is here: the hook marker, the declaration classes,
the connector and error types, and helpers. The hooks themselves are
documented in ``keybroker.hookspecs``.

A plugin module may state the version of this API it needs::

    REQUIRES_PLUGIN_API = 1

keybroker refuses to load a module that needs a newer API than
``PLUGIN_API_VERSION`` and says so in ``keybroker plugin list``.

Importing this module stays cheap (a declaration module imports it while
``keybroker connector list-types`` runs): the connector and event models, the
file helpers and the credential cache are imported on first use of their names.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, TypeVar

from pydantic import Field, SecretStr, field_validator

from keybroker.basic_types import (
    DOCKER,
    DOCKER_REGISTRY,
    KUBERNETES,
    KUBERNETES_CLUSTER,
    docker_registry_client,
    docker_registry_name,
    kubernetes_cluster_client,
    kubernetes_cluster_name,
)
from keybroker.errors import (
    AuthorizationError,
    ConnectionFailure,
    KeybrokerError,
    OperationError,
    PluginError,
    UsageError,
)
from keybroker.hookspecs import PLUGIN_API_VERSION, hookimpl
from keybroker.types import (
    AuthConfig,
    AuthMethod,
    AutoConfiguration,
    ConnectorType,
    LocalTool,
    NotSecret,
    ResourceIdFormat,
    ResourceType,
)

if TYPE_CHECKING:
    from keybroker.connector import Connector, LoginResult, utcnow
    from keybroker.credential_cache import CredentialCache, credentials_fingerprint
    from keybroker.events import AuditEvent, LocalLoginRequest
    from keybroker.files import locked_tool_file, write_private
    from keybroker.proxies import proxy_address, proxy_for, split_proxy

ConfigT = TypeVar("ConfigT", bound=AuthConfig)

_LAZY = {
    "Connector": "keybroker.connector",
    "LoginResult": "keybroker.connector",
    "utcnow": "keybroker.connector",
    "AuditEvent": "keybroker.events",
    "LocalLoginRequest": "keybroker.events",
    "write_private": "keybroker.files",
    "locked_tool_file": "keybroker.files",
    "proxy_address": "keybroker.proxies",
    "proxy_for": "keybroker.proxies",
    "split_proxy": "keybroker.proxies",
    "CredentialCache": "keybroker.credential_cache",
    "credentials_fingerprint": "keybroker.credential_cache",
}


def config_as(config: AuthConfig | None, schema: type[ConfigT]) -> ConfigT:
    """The ``config`` hook argument, typed as the auth method schema ``schema``.

    Use it instead of ``assert isinstance(config, schema)`` (which ``python -O``
    removes)::

        cluster = config_as(config, ClusterConfig)

    Raises:
        PluginError: ``config`` is not an instance of ``schema`` (the hook was
            called with another auth method's attributes, or none).
    """
    if not isinstance(config, schema):
        raise PluginError(
            f"expected the validated attributes of {schema.__name__}, got "
            f"{type(config).__name__}: the hook cannot handle this auth method"
        )
    return config


def __getattr__(name: str) -> Any:
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module 'keybroker.plugin' has no attribute {name!r}")
    import importlib

    value = getattr(importlib.import_module(module), name)
    globals()[name] = value
    return value


__all__ = [
    "DOCKER",
    "DOCKER_REGISTRY",
    "KUBERNETES",
    "KUBERNETES_CLUSTER",
    "PLUGIN_API_VERSION",
    "AuditEvent",
    "AuthConfig",
    "AuthMethod",
    "AuthorizationError",
    "AutoConfiguration",
    "ConnectionFailure",
    "Connector",
    "ConnectorType",
    "CredentialCache",
    "Field",
    "KeybrokerError",
    "LocalLoginRequest",
    "LocalTool",
    "LoginResult",
    "NotSecret",
    "OperationError",
    "PluginError",
    "ResourceIdFormat",
    "ResourceType",
    "SecretStr",
    "UsageError",
    "config_as",
    "credentials_fingerprint",
    "docker_registry_client",
    "docker_registry_name",
    "field_validator",
    "hookimpl",
    "kubernetes_cluster_client",
    "kubernetes_cluster_name",
    "locked_tool_file",
    "proxy_address",
    "proxy_for",
    "split_proxy",
    "utcnow",
    "write_private",
]
