"""Auto-configuration: a connector's attributes taken from credentials found where it runs.

It always runs on the machine whose credentials are meant (the client's), by the
plugin installed there: the local backend calls it while registering, and
against a team server (which refuses to look at its own environment) the
client calls it first and sends the attributes it found.
"""

from __future__ import annotations

from keybroker.catalog import require_auth_method
from keybroker.connector import RegisterRequest
from keybroker.errors import OperationError, UsageError
from keybroker.service.plugin_calls import PluginCalls, plugin_result_error
from keybroker.types import AutoConfiguration, ConnectorType


def discover(
    calls: PluginCalls,
    declaration: ConnectorType,
    auth_method: str | None,
    resource_type: str | None,
    resource_id: str | None,
    options: dict[str, str],
) -> AutoConfiguration:
    """What the type's plugin finds in this environment; refused when it cannot look."""
    connector_type = declaration.connector_type
    if not declaration.supports_auto_configuration or not calls.implements(
        connector_type, "auto_configure"
    ):
        raise UsageError(
            f"connector type '{connector_type}' does not support auto-configuration",
            parameter="auto_configure",
        )
    if auth_method:
        require_auth_method(declaration, auth_method)
    hooks = calls.hooks(connector_type)
    found = calls.guard(
        None,
        lambda: hooks.auto_configure(
            auth_method=auth_method or None,
            resource_type=resource_type,
            resource_id=resource_id,
            options=options,
        ),
    )
    if found is None:
        raise OperationError(f"no {connector_type} credentials found in the local environment")
    if not isinstance(found, AutoConfiguration):
        raise plugin_result_error(connector_type, "auto_configure", "an AutoConfiguration", found)
    return found


def configured_request(calls: PluginCalls, request: RegisterRequest) -> RegisterRequest:
    """``request`` with what auto-configuration finds here filled in (given values win).

    For a backend that must not look at its own environment (a team server):
    the result asks for no auto-configuration. An expiry the plugin found is not
    carried: the server learns it when it verifies the credentials.
    """
    from keybroker.errors import NotFoundError, PluginError

    try:
        declaration = calls.registry.declaration(request.connector_type)
    except NotFoundError:
        raise PluginError(
            f"auto-configuration reads this machine's {request.connector_type} credentials "
            f"with its plugin: install keybroker-{request.connector_type} here, or give the "
            "attributes",
            parameter="auto_configure",
        ) from None
    found = discover(
        calls,
        declaration,
        request.auth_method,
        request.resource_type,
        request.resource_id,
        request.auto_configure_options,
    )
    expiration = request.expiration_seconds
    return request.model_copy(
        update={
            "auth_method": found.auth_method,
            "attributes": {**found.attributes, **request.attributes},
            "resource_type": request.resource_type or found.resource_type,
            "resource_id": request.resource_id or found.resource_id,
            "expiration_seconds": found.expiration_seconds if expiration is None else expiration,
            "auto_configure": False,
            "auto_configure_options": {},
        }
    )
