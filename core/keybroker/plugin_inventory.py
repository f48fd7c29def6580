"""What is installed: every plugin distribution, its entry points, their hooks and load state.

The data behind ``keybroker plugin list``. Building it loads every plugin
(declarations first, then implementations), so it is for diagnosis, not for
the fast paths.
"""

from __future__ import annotations

from pydantic import BaseModel, Field

from keybroker.hookspecs import PLUGIN_API_VERSION
from keybroker.registry import PluginRegistry


class EntryPointInfo(BaseModel):
    """One entry point of a plugin distribution and what loading it did."""

    group: str
    kind: str = Field(description="'connector type', or 'plugin' for local tools and listeners")
    name: str
    module: str
    status: str = Field(description="loaded, failed, incompatible, disabled or not loaded")
    error: str | None = None
    warnings: list[str] = Field(default_factory=list)
    hooks: list[str] = Field(default_factory=list)


class PluginInfo(BaseModel):
    """One installed distribution that plugs into keybroker."""

    distribution: str
    version: str
    entry_points: list[EntryPointInfo]

    @property
    def ok(self) -> bool:
        """Whether every entry point loaded (or was disabled on purpose) without warnings."""
        return all(e.status in ("loaded", "disabled") and not e.warnings for e in self.entry_points)


class PluginInventory(BaseModel):
    """The plugin API this keybroker provides and the plugins installed."""

    plugin_api_version: int = PLUGIN_API_VERSION
    plugins: list[PluginInfo]


def inventory(registry: PluginRegistry | None = None) -> PluginInventory:
    """Load every installed plugin and report on each, grouped by distribution."""
    registry = registry or PluginRegistry()
    registry.load_everything()
    by_distribution: dict[tuple[str, str], list[EntryPointInfo]] = {}
    for group in (registry.types_group, registry.plugins_group):
        for entry_point in registry.entry_points(group):
            record = registry.record(entry_point)
            about = registry.distribution_of(entry_point) or ("(unknown distribution)", "?")
            by_distribution.setdefault(about, []).append(
                EntryPointInfo(
                    group=group,
                    kind="connector type" if group == registry.types_group else "plugin",
                    name=record.name,
                    module=record.value,
                    status=record.status,
                    error=record.error,
                    warnings=list(record.warnings),
                    hooks=list(record.hooks),
                )
            )
    return PluginInventory(
        plugins=[
            PluginInfo(distribution=name, version=version, entry_points=points)
            for (name, version), points in sorted(by_distribution.items())
        ]
    )
