"""Issuing connector clients: the short-lived connector for one resource of a connector.

The target is resolved inside the connector's scope (the only instance it
reaches is picked when none is named); the owning plugin derives the client,
or the connector itself is the client when its plugin derives none.
"""

from __future__ import annotations

from keybroker import redaction
from keybroker.connector import Connector
from keybroker.errors import OperationError, PluginError, UsageError
from keybroker.service.plugin_calls import PluginCalls, plugin_result_error
from keybroker.service.scope import ScopeRules
from keybroker.service.verification import Verifier
from keybroker.types import AuthConfig, ConnectorType


class ClientIssuer:
    """Resolves the one resource a client is for and derives the client."""

    def __init__(self, calls: PluginCalls, scope: ScopeRules, verifier: Verifier) -> None:
        self.calls = calls
        self.scope = scope
        self.verifier = verifier

    def resolve_target(
        self,
        connector: Connector,
        declaration: ConnectorType,
        config: AuthConfig,
        resource_type: str | None,
        resource_id: str | None,
        pick_instance: bool,
    ) -> tuple[str, str | None]:
        """The resource type and id a client is for.

        With ``pick_instance``, a resource type with instances needs one: the
        only one the connector reaches, or an error listing them.
        """
        target_type, target_id = self.scope.narrow(
            connector, declaration, config, resource_type, resource_id
        )
        if target_type is None:
            reachable = declaration.resource_types_for(connector.auth_method)
            if len(reachable) != 1:
                valid = ", ".join(r.resource_type for r in reachable)
                raise UsageError(
                    f"connector '{connector.name}' is multi-type: choose a resource type ({valid})",
                    parameter="resource_type",
                )
            target_type = reachable[0].resource_type
        rtype = declaration.resource_type(target_type)
        if pick_instance and target_id is None and rtype is not None and rtype.supports_instances:
            report = self.verifier.check(connector, declaration, config, target_type, None)
            ids = report.resources[0].resource_ids or []
            if not ids:
                raise OperationError(
                    f"connector '{connector.name}' reaches no {target_type} resource; "
                    "'keybroker connector verify' shows what it reaches"
                )
            if len(ids) > 1:
                raise UsageError(
                    f"connector '{connector.name}' reaches several {target_type} resources: "
                    f"choose one ({', '.join(ids)})",
                    parameter="resource_id",
                )
            target_id = ids[0]
        return target_type, target_id

    def derive(
        self,
        connector: Connector,
        declaration: ConnectorType,
        config: AuthConfig,
        resource_type: str,
        resource_id: str | None,
    ) -> Connector:
        """The connector client for one resource: derived by the plugin, or the connector itself.

        A derived client must be a connector for the resource type asked for.
        """
        connector_type = declaration.connector_type
        if self.calls.implements(connector_type, "derive_client"):
            hooks = self.calls.hooks(connector_type)
            derived = self.calls.timed(
                connector,
                lambda: hooks.derive_client(
                    connector=connector,
                    config=config,
                    resource_type=resource_type,
                    resource_id=resource_id,
                ),
            )
            if derived is not None:
                if not isinstance(derived, Connector):
                    raise plugin_result_error(
                        connector_type, "derive_client", "a connector client", derived
                    )
                if derived.resource_type != resource_type:
                    raise PluginError(
                        f"connector type '{connector_type}': its 'derive_client' hook returned "
                        f"a client for resource type '{derived.resource_type}', not "
                        f"'{resource_type}'; ask its authors to fix the plugin"
                    )
                redaction.remember(*derived.secret_values())
                return derived
        return connector.model_copy(
            update={"resource_type": resource_type, "resource_id": resource_id}
        )
