"""The connector types installed here: listing and describing them.

Kept apart from the connector operations so that browsing types needs neither
the connector model nor a store, which keeps ``list-types`` and
``describe-type`` fast. Also the one place that words "unknown auth method /
resource type" errors, so that every command says it the same way.
"""

from __future__ import annotations

from collections.abc import Iterable

from keybroker.errors import PluginError, UsageError
from keybroker.registry import PluginRegistry
from keybroker.types import AuthMethod, ConnectorType, ResourceType
from keybroker.views import ConnectorTypeView


def _names(valid: Iterable[str]) -> str:
    return ", ".join(valid) or "none"


def unknown_auth_method(connector_type: str | None, name: str, valid: list[str]) -> UsageError:
    """The error for an auth method that ``connector_type`` (or no installed type) has."""
    where = f" for connector type '{connector_type}'" if connector_type else ""
    return UsageError(
        f"unknown auth method '{name}'{where}; valid auth methods: {_names(valid)}",
        parameter="auth_method",
    )


def unknown_resource_type(
    connector_type: str | None, name: str, valid: list[str], auth_method: str | None = None
) -> UsageError:
    """The error for a resource type that ``connector_type`` (or no installed type) has."""
    where = f" for connector type '{connector_type}'" if connector_type else ""
    method = f" with auth method '{auth_method}'" if auth_method else ""
    return UsageError(
        f"unknown resource type '{name}'{where}{method}; valid resource types: {_names(valid)}",
        parameter="resource_type",
    )


def require_auth_method(declaration: ConnectorType, name: str) -> AuthMethod:
    """The auth method ``name`` of a type; ``UsageError`` listing the valid ones otherwise."""
    method = declaration.auth_method(name)
    if method is None:
        raise unknown_auth_method(
            declaration.connector_type, name, [m.auth_method for m in declaration.auth_methods]
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
        raise unknown_resource_type(
            declaration.connector_type,
            name,
            [r.resource_type for r in candidates],
            auth_method,
        )
    return found


class TypeCatalog:
    """Every installed connector type, with where it can be used."""

    def __init__(self, registry: PluginRegistry | None = None) -> None:
        self.registry = registry or PluginRegistry()

    def declarations(self) -> list[ConnectorType]:
        """The declarations of every connector type whose plugin loads."""
        return [a.declaration for a in self.registry.all_availability() if a.declaration]

    def known_resource_types(self) -> list[str]:
        """Every resource type some installed connector type offers, in declaration order."""
        names: dict[str, None] = {}
        for declaration in self.declarations():
            names.update((r.resource_type, None) for r in declaration.resource_types)
        return list(names)

    def known_auth_methods(self) -> list[str]:
        """Every auth method some installed connector type offers."""
        names: dict[str, None] = {}
        for declaration in self.declarations():
            names.update((m.auth_method, None) for m in declaration.auth_methods)
        return list(names)

    def check_resource_type(self, resource_type: str | None) -> None:
        """Refuse a resource type that no installed connector type offers."""
        if resource_type and resource_type not in (known := self.known_resource_types()):
            raise unknown_resource_type(None, resource_type, known)

    def check_auth_method(self, auth_method: str | None) -> None:
        """Refuse an auth method that no installed connector type offers."""
        if auth_method and auth_method not in (known := self.known_auth_methods()):
            raise unknown_auth_method(None, auth_method, known)

    def list_types(
        self, resource_type: str | None = None, auth_method: str | None = None
    ) -> list[ConnectorTypeView]:
        """Every installed connector type (broken ones included, marked unavailable).

        A filter value that no installed type offers is an error naming the valid ones.
        """
        self.check_resource_type(resource_type)
        self.check_auth_method(auth_method)
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
            result.append(ConnectorTypeView.from_availability(availability))
        return result

    def describe_type(self, connector_type: str) -> ConnectorTypeView:
        """One connector type, importing only its plugin."""
        availability = self.registry.availability(connector_type)
        if availability.declaration is None:
            raise PluginError(
                f"connector type '{connector_type}' is unavailable: {availability.local_problem}"
            )
        return ConnectorTypeView.from_availability(availability)
