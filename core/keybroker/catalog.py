"""The connector types installed here: listing and describing them.

Kept apart from :mod:`keybroker.service` so that browsing types needs neither
the connector model nor a store, which keeps ``list-types`` and
``describe-type`` fast.
"""

from __future__ import annotations

from keybroker.errors import PluginError
from keybroker.registry import PluginRegistry
from keybroker.types import TypeAvailability


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
