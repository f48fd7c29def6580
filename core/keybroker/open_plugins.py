"""The modules of the ``keybroker.plugins`` group: local tools and audit listeners.

Every allowed module is loaded and checked like a connector type's modules. A
module that configures a local tool declares it with ``declare_local_tool``;
``configure_local_tool`` is then called on that module alone, for the
connector clients its declaration covers.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

import pluggy

from keybroker.errors import PluginError
from keybroker.hookspecs import HOOK_CLASSES, PLUGINS_GROUP, PROJECT_NAME
from keybroker.plugin_loading import (
    DISABLED,
    FAILED,
    INCOMPATIBLE,
    LOADED,
    EntryPointRecord,
    IncompatiblePlugin,
    hooks_of,
    import_entry_point,
    import_failure,
    register_strictly,
    sdk_imports,
)
from keybroker.types import LocalTool

if TYPE_CHECKING:
    from importlib.metadata import EntryPoint

    from keybroker.connector import LoginResult
    from keybroker.events import LocalLoginRequest

log = logging.getLogger(__name__)

TOOL_HOOKS = frozenset({"declare_local_tool", "configure_local_tool"})


class OpenPlugins:
    """The loaded modules of the ``keybroker.plugins`` group and the tools they declare."""

    def __init__(self) -> None:
        self.manager = pluggy.PluginManager(PROJECT_NAME)
        for spec in HOOK_CLASSES[PLUGINS_GROUP]:
            self.manager.add_hookspecs(spec)
        self._tools: dict[str, LocalTool] = {}
        self._tool_plugins: dict[str, object] = {}
        self._tool_records: dict[str, EntryPointRecord] = {}
        self._clashing: dict[str, list[str]] = {}

    def load(
        self, entry_points: list[EntryPoint], record: Callable[[EntryPoint], EntryPointRecord]
    ) -> None:
        """Load every entry point not disabled; failures land in their records."""
        by_name: dict[str, list[EntryPoint]] = {}
        for ep in entry_points:
            by_name.setdefault(ep.name, []).append(ep)
        for name, points in sorted(by_name.items()):
            allowed = [ep for ep in points if record(ep).status != DISABLED]
            if len(allowed) > 1:
                message = (
                    f"plugin name '{name}' is declared by {len(allowed)} entry points "
                    f"({', '.join(ep.value for ep in allowed)}); uninstall all but one"
                )
                for ep in allowed:
                    record(ep).status, record(ep).error = FAILED, message
                log.warning("%s", message)
            elif allowed:
                self._load_one(name, allowed[0], record(allowed[0]))

    def _load_one(self, name: str, entry_point: EntryPoint, record: EntryPointRecord) -> None:
        try:
            plugin, new_modules = import_entry_point(entry_point)
            self.add(plugin, name, record)
        except IncompatiblePlugin as exc:
            record.status, record.error = INCOMPATIBLE, exc.message
        except PluginError as exc:
            record.status, record.error = FAILED, exc.message
        except Exception as exc:  # a broken third-party plugin is reported, not fatal
            record.status, record.error = FAILED, import_failure(entry_point.value, exc)
        else:
            for sdk in sdk_imports(new_modules, []):
                record.warnings.append(
                    f"{entry_point.value} imports {sdk} when loaded: every login and audited "
                    "operation pays for it; import it inside the hook instead"
                )
            return
        log.warning("plugin %s could not be loaded: %s", name, record.error)

    def add(self, plugin: object, name: str, record: EntryPointRecord) -> None:
        """Register one plugin strictly, with the tool it declares; raise ``PluginError``."""
        label = f"plugin '{name}' ({record.value})"
        register_strictly(self.manager, plugin, name, PLUGINS_GROUP, label)
        record.hooks = hooks_of(self.manager, plugin)
        if TOOL_HOOKS & set(record.hooks):
            try:
                tool = self._declared_tool(plugin, label, record.hooks)
                self._refuse_clash(tool.tool, label)
            except PluginError:
                self.manager.unregister(plugin, name=name)
                raise
            self._tools[tool.tool] = tool
            self._tool_plugins[tool.tool] = plugin
            self._tool_records[tool.tool] = record
        record.status = LOADED

    def _declared_tool(self, plugin: object, label: str, hooks: list[str]) -> LocalTool:
        missing = sorted(TOOL_HOOKS - set(hooks))
        if missing:
            present = sorted(TOOL_HOOKS & set(hooks))
            raise PluginError(
                f"{label} implements {present[0]} but not {missing[0]}; a local tool needs both"
            )
        impls = self.manager.hook.declare_local_tool.get_hookimpls()
        tool = next(i for i in impls if i.plugin is plugin).function()
        if not isinstance(tool, LocalTool):
            raise PluginError(
                f"{label}: declare_local_tool returned {type(tool).__name__}, not a LocalTool"
            )
        return tool

    def _refuse_clash(self, tool: str, label: str) -> None:
        """Refuse a tool name declared twice: neither plugin may configure it."""
        if tool not in self._tools and tool not in self._clashing:
            return
        claimants = self._clashing.setdefault(tool, [])
        if tool in self._tools:
            earlier = self._tool_records[tool]
            claimants.append(f"plugin '{earlier.name}' ({earlier.value})")
            self.manager.unregister(self._tool_plugins.pop(tool))
            del self._tools[tool], self._tool_records[tool]
            earlier.status = FAILED
            earlier.error = (
                f"local tool '{tool}' is declared by several plugins ({claimants[0]}, {label}); "
                "uninstall all but one"
            )
        claimants.append(label)
        raise PluginError(
            f"local tool '{tool}' is declared by several plugins ({', '.join(claimants)}); "
            "uninstall all but one"
        )

    @property
    def hook(self) -> Any:
        """The hook relay for the open hooks (``audit_event``)."""
        return self.manager.hook

    def tools(self) -> list[LocalTool]:
        """Every declared local tool, by name."""
        return [tool for _, tool in sorted(self._tools.items())]

    def configure(self, tool: str, request: LocalLoginRequest) -> LoginResult:
        """Call ``configure_local_tool`` on the plugin of ``tool`` alone."""
        from keybroker.connector import LoginResult

        others = [p for t, p in self._tool_plugins.items() if t != tool]
        caller = self.manager.subset_hook_caller("configure_local_tool", remove_plugins=others)
        result = caller(request=request)
        if not isinstance(result, LoginResult):
            raise PluginError(
                f"local tool '{tool}' ({self.manager.get_name(self._tool_plugins[tool])}) "
                f"returned {type(result).__name__} instead of a LoginResult"
            )
        return result
