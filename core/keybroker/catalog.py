"""The connector types installed here: listing and describing them.

Kept apart from :mod:`keybroker.service` so that browsing types needs neither
the connector model nor a store, which keeps ``list-types`` and
``describe-type`` fast.
"""

from __future__ import annotations

from keybroker.errors import PluginError, UsageError
from keybroker.registry import PluginRegistry
from keybroker.types import AuthMethod, ConnectorType, ResourceType, TypeAvailability


def require_auth_method(declaration: ConnectorType, name: str) -> AuthMethod:
    """The auth method ``name`` of a type; ``UsageError`` listing the valid ones otherwise."""
    method = declaration.auth_method(name)
    if method is None:
        valid = ", ".join(m.auth_method for m in declaration.auth_methods)
        raise UsageError(
            f"unknown auth method '{name}' for connector type "
            f"'{declaration.connector_type}'; valid auth methods: {valid}"
        )
    return method


def require_resource_type(
    declaration: ConnectorType, name: str, auth_method: str | None = None
) -> ResourceType:
    """The resource type ``name`` of a type (reachable with ``auth_method`` if given);
    ``UsageError`` listing the valid ones otherwise."""
    candidates = (
        declaration.resource_types_for(auth_method) if auth_method else declaration.resource_types
    )
    found = next((r for r in candidates if r.resource_type == name), None)
    if found is None:
        valid = ", ".join(r.resource_type for r in candidates)
        method = f" with auth method '{auth_method}'" if auth_method else ""
        raise UsageError(
            f"unknown resource type '{name}' for connector type "
            f"'{declaration.connector_type}'{method}; valid resource types: {valid}"
        )
    return found


class TypeCatalog:
    """Every installed connector type, with where it can be used."""

    def __init__(self, registry: PluginRegistry | None = None) -> None:
        self.registry = registry or PluginRegistry()

    def list_types(
        self, resource_type: str | None = None, auth_method: str | None = None
    ) -> list[TypeAvailability]:
        """Every installed connector type (broken ones included, marked unavailable)."""
        result = []
        for availability in self.registry.all_availability():
            declaration = availability.declaration
            if declaration is not None:
                if resource_type and declaration.resource_type(resource_type) is None:
                    continue
                if auth_method and declaration.auth_method(auth_method) is None:
                    continue
            elif resource_type or auth_method:
                continue
            result.append(availability)
        return result

    def describe_type(self, connector_type: str) -> TypeAvailability:
        """One connector type, importing only its plugin."""
        availability = self.registry.availability(connector_type)
        if availability.declaration is None:
            raise PluginError(
                f"connector type '{connector_type}' is unavailable: {availability.local_problem}"
            )
        return availability
