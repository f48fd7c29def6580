"""Scope rules: canonical resource ids, narrowing an operation inside a connector's scope,
and whether a connector reaches a resource without asking the cloud.

A connector is multi-type (no resource type), multi-instance (a type, no id)
or single-instance (a type and an id). An operation may narrow that scope,
never widen it.
"""

from __future__ import annotations

from keybroker.catalog import require_resource_type
from keybroker.connector import Connector
from keybroker.errors import KeybrokerError, UsageError
from keybroker.service.plugin_calls import PluginCalls, require_str
from keybroker.types import AuthConfig, ConnectorType

#: the longest resource id a store keeps (its column size on every database)
MAX_RESOURCE_ID_LENGTH = 512


def _check_length(resource_id: str) -> None:
    if len(resource_id) > MAX_RESOURCE_ID_LENGTH:
        raise UsageError(
            f"the resource id is longer than {MAX_RESOURCE_ID_LENGTH} characters",
            parameter="resource_id",
        )


class ScopeRules:
    """Resource ids and scopes, as each connector type's plugin defines them."""

    def __init__(self, calls: PluginCalls) -> None:
        self.calls = calls
        self._valid_ids: dict[tuple[str, str, str], str | None] = {}

    def canonical_resource_id(
        self,
        declaration: ConnectorType,
        resource_type: str,
        resource_id: str,
        config: AuthConfig | None = None,
    ) -> str:
        """``resource_id`` in canonical form, as the owning plugin defines it.

        A type without the hook takes ids as they are; a hook that answers
        anything but a string is a plugin error.
        """
        resource_id = resource_id.strip()
        if not resource_id:
            raise UsageError("the resource id is empty", parameter="resource_id")
        _check_length(resource_id)
        connector_type = declaration.connector_type
        if not self.calls.implements(connector_type, "canonical_resource_id"):
            return resource_id
        hooks = self.calls.hooks(connector_type)
        try:
            result = self.calls.guard(
                None,
                lambda: hooks.canonical_resource_id(
                    resource_type=resource_type, resource_id=resource_id, config=config
                ),
            )
        except UsageError as exc:  # the plugin refused the id
            exc.parameter = exc.parameter or "resource_id"
            raise
        canonical = require_str(connector_type, "canonical_resource_id", result)
        _check_length(canonical)
        return canonical

    def default_resource_id(
        self, declaration: ConnectorType, resource_type: str, config: AuthConfig
    ) -> str | None:
        """For a resource type without instances, its name from the configuration, if known."""
        connector_type = declaration.connector_type
        if not self.calls.implements(connector_type, "default_resource_id"):
            return None
        hooks = self.calls.hooks(connector_type)
        found = self.calls.guard(
            None,
            lambda: hooks.default_resource_id(resource_type=resource_type, config=config),
        )
        if found is None:
            return None
        return require_str(connector_type, "default_resource_id", found)

    def narrow(
        self,
        connector: Connector,
        declaration: ConnectorType,
        config: AuthConfig | None,
        resource_type: str | None,
        resource_id: str | None,
    ) -> tuple[str | None, str | None]:
        """The resource type and id an operation targets, inside the connector's scope."""
        if resource_type and connector.resource_type and resource_type != connector.resource_type:
            raise UsageError(
                f"connector '{connector.name}' is scoped to resource type "
                f"'{connector.resource_type}', not '{resource_type}'",
                parameter="resource_type",
            )
        target_type = resource_type or connector.resource_type
        if target_type is None and resource_id:
            single = declaration.resource_types_for(connector.auth_method)
            if len(single) != 1:
                raise UsageError(
                    f"connector '{connector.name}' is multi-type: a resource id needs a "
                    "resource type",
                    parameter="resource_type",
                )
            target_type = single[0].resource_type
        if target_type is not None:
            require_resource_type(declaration, target_type, connector.auth_method)
        target_id = None
        if resource_id and target_type is not None:
            target_id = self.canonical_resource_id(declaration, target_type, resource_id, config)
            if connector.resource_id and target_id != connector.resource_id:
                raise UsageError(
                    f"connector '{connector.name}' is scoped to resource "
                    f"'{connector.resource_id}', not '{target_id}'",
                    parameter="resource_id",
                )
        elif target_type == connector.resource_type:
            target_id = connector.resource_id
        return target_type, target_id

    def reaches(
        self,
        connector: Connector,
        declaration: ConnectorType,
        resource_type: str,
        resource_id: str | None,
    ) -> bool:
        """Whether ``connector``'s scope covers the resource, judged without the cloud.

        A multi-type connector of a type offering ``resource_type`` and a
        multi-instance one of that type cover every id; a single-instance one
        covers its own id, compared in the type's canonical form. An id that
        is not valid for the connector's type is not covered.
        """
        if connector.resource_type is not None and connector.resource_type != resource_type:
            return False
        reachable = declaration.resource_types_for(connector.auth_method)
        if all(r.resource_type != resource_type for r in reachable):
            return False
        if resource_id is None:
            return True
        wanted = self._canonical_or_none(declaration, resource_type, resource_id)
        if wanted is None:
            return False
        return connector.resource_id is None or wanted == connector.resource_id

    def _canonical_or_none(
        self, declaration: ConnectorType, resource_type: str, resource_id: str
    ) -> str | None:
        """The canonical id, or None when the type refuses it; asked once per type."""
        key = (declaration.connector_type, resource_type, resource_id)
        if key not in self._valid_ids:
            try:
                found: str | None = self.canonical_resource_id(
                    declaration, resource_type, resource_id
                )
            except KeybrokerError:
                found = None
            self._valid_ids[key] = found
        return self._valid_ids[key]
