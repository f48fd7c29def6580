"""Discovery and strict loading of plugins through entry points, lazily.

Each connector type is one entry point in ``keybroker.connector_types``; naming a
type imports only its declaration module, and its implementation module is
imported on first use. Modules of the ``keybroker.plugins`` group (local tools,
audit listeners) are loaded together when an open hook is first needed.

Loading is strict and never fatal: a module that needs a newer plugin API, a
``@hookimpl`` function that names no hook (a misspelling) or takes an argument
the hook does not pass, an invalid declaration, a missing ``verify``: each is
refused with a message naming the culprit, and the plugin is reported as
unavailable while everything else keeps working.
"""

from __future__ import annotations

import importlib
import importlib.util
import logging
import threading
from contextlib import suppress
from typing import TYPE_CHECKING, Any

import pluggy

from keybroker.errors import NotFoundError, PluginError
from keybroker.hookspecs import (
    CONNECTOR_TYPES_GROUP,
    HOOK_CLASSES,
    PLUGINS_GROUP,
    PROJECT_NAME,
    REQUIRED_TYPE_HOOKS,
)
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
from keybroker.plugin_selection import PluginSelection
from keybroker.types import ConnectorType, LocalTool, TypeAvailability

if TYPE_CHECKING:
    from importlib.metadata import EntryPoint

    from keybroker.connector import LoginResult
    from keybroker.events import LocalLoginRequest
    from keybroker.open_plugins import OpenPlugins

log = logging.getLogger(__name__)


class _LoadedType:
    """One connector type's plugin manager, with the implementation added on demand."""

    def __init__(self, record: EntryPointRecord, declaration_module: Any, new_modules: set[str]):
        self.name = record.name
        self.record = record
        self.manager = pluggy.PluginManager(PROJECT_NAME)
        for spec in HOOK_CLASSES[CONNECTOR_TYPES_GROUP]:
            self.manager.add_hookspecs(spec)
        label = f"connector type '{self.name}' ({record.value})"
        register_strictly(
            self.manager, declaration_module, f"{self.name}:declaration", record.group, label
        )
        record.hooks = hooks_of(self.manager, declaration_module)
        if "declare_connector_type" not in record.hooks:
            raise PluginError(f"{label} implements no declare_connector_type hook")
        declaration = self.manager.hook.declare_connector_type()
        if not isinstance(declaration, ConnectorType):
            raise PluginError(f"{label} declared {type(declaration).__name__}, not a ConnectorType")
        if declaration.connector_type != self.name:
            raise PluginError(
                f"entry point '{self.name}' declares connector type "
                f"'{declaration.connector_type}'; they must be equal"
            )
        from keybroker.declaration_rules import declaration_problems

        problems = declaration_problems(declaration)
        if problems:
            raise PluginError(f"invalid declaration of {label}: {'; '.join(problems)}")
        for sdk in sdk_imports(new_modules, declaration.requires_modules):
            record.warnings.append(
                f"{record.value} imports {sdk}: a declaration module must not import an "
                "SDK (import it in the implementation, inside the hook that needs it)"
            )
        self.declaration = declaration
        self._implementation: Any = None
        self._implementation_error: PluginError | None = None
        self._lock = threading.Lock()

    def missing_modules(self) -> list[str]:
        """Required SDK modules that cannot be imported here (checked without importing)."""
        missing = []
        for module in self.declaration.requires_modules:
            try:
                found = importlib.util.find_spec(module) is not None
            except (ImportError, ValueError):
                found = False
            if not found:
                missing.append(module)
        return missing

    def not_local_error(self, missing: list[str]) -> PluginError:
        hint = f" ({self.declaration.install_hint})" if self.declaration.install_hint else ""
        return PluginError(
            f"connector type '{self.name}' is not available locally: missing "
            f"{', '.join(missing)}{hint}"
        )

    def hooks(self) -> Any:
        """The hook relay, with the implementation module registered."""
        with self._lock:
            if self._implementation is None:
                if self._implementation_error is not None:
                    raise self._implementation_error
                missing = self.missing_modules()
                if missing:
                    raise self.not_local_error(missing)
                try:
                    self._implementation = self._load_implementation()
                except PluginError as exc:
                    self._implementation_error = exc
                    self.record.status = (
                        INCOMPATIBLE if isinstance(exc, IncompatiblePlugin) else FAILED
                    )
                    self.record.error = exc.message
                    raise
        return self.manager.hook

    def _load_implementation(self) -> Any:
        name = self.declaration.implementation
        label = f"connector type '{self.name}' (implementation {name})"
        try:
            module = importlib.import_module(name)
        except Exception as exc:
            raise PluginError(f"connector type '{self.name}': {import_failure(name, exc)}") from exc
        if not self.manager.is_registered(module):  # it may be the declaration module itself
            register_strictly(
                self.manager, module, f"{self.name}:implementation", CONNECTOR_TYPES_GROUP, label
            )
        implemented = set(hooks_of(self.manager, module)) | set(self.record.hooks)
        missing = [h for h in REQUIRED_TYPE_HOOKS if h not in implemented]
        if missing:
            self.manager.unregister(module)
            raise PluginError(
                f"{label} implements no {', '.join(missing)} hook; every connector type "
                "must verify its credentials"
            )
        self.record.hooks = sorted(implemented)
        return module

    def implements(self, hook_name: str) -> bool:
        """Whether the type's plugin implements ``hook_name`` (loads the implementation)."""
        return bool(getattr(self.hooks(), hook_name).get_hookimpls())


class PluginRegistry:
    """The connector types and tool plugins installed (and allowed) in this environment."""

    def __init__(
        self,
        types_group: str = CONNECTOR_TYPES_GROUP,
        plugins_group: str = PLUGINS_GROUP,
        selection: PluginSelection | None = None,
    ) -> None:
        self.types_group = types_group
        self.plugins_group = plugins_group
        self.selection = selection if selection is not None else PluginSelection.from_env()
        self._loaded: dict[str, _LoadedType] = {}
        self._failed: dict[str, str] = {}
        self._records: dict[tuple[str, str], EntryPointRecord] = {}
        self._entry_points: dict[str, list[EntryPoint]] = {}
        self._distributions: dict[tuple[str, str, str], tuple[str, str]] | None = None
        self._open: OpenPlugins | None = None
        self._lock = threading.RLock()

    # -- entry points -------------------------------------------------------------

    def entry_points(self, group: str) -> list[EntryPoint]:
        """Every entry point of ``group`` (allowed or not), from stevedore's cache."""
        if group not in self._entry_points:
            from stevedore import NamedExtensionManager

            manager: NamedExtensionManager[Any] = NamedExtensionManager(group, names=[])
            found = manager.list_entry_points()
            self._entry_points[group] = sorted(found, key=lambda ep: (ep.name, ep.value))
        return self._entry_points[group]

    def distribution_of(self, entry_point: EntryPoint) -> tuple[str, str] | None:
        """Name and version of the distribution declaring ``entry_point`` (scans installed ones)."""
        if self._distributions is None:
            from importlib.metadata import distributions

            found: dict[tuple[str, str, str], tuple[str, str]] = {}
            for dist in distributions():
                try:
                    about = (dist.metadata["Name"], dist.version)
                    points = list(dist.entry_points)
                except Exception:  # a broken dist-info of some other package
                    log.debug("cannot read %s", dist, exc_info=True)
                    points = []
                for ep in points:
                    if ep.group in (self.types_group, self.plugins_group):
                        found.setdefault((ep.group, ep.name, ep.value), about)
            self._distributions = found
        return self._distributions.get((entry_point.group, entry_point.name, entry_point.value))

    def _distribution_name(self, entry_point: EntryPoint) -> str | None:
        found = self.distribution_of(entry_point)
        return found[0] if found else None

    def allowed(self, entry_point: EntryPoint) -> bool:
        """Whether ``KEYBROKER_PLUGINS`` / ``KEYBROKER_DISABLE_PLUGINS`` let it load."""
        if not self.selection.restricts:
            return True
        return self.selection.allows(entry_point.name, self._distribution_name(entry_point))

    def record(self, entry_point: EntryPoint) -> EntryPointRecord:
        """The load record of an entry point (created, not loaded, on first use)."""
        key = (entry_point.group, f"{entry_point.name}={entry_point.value}")
        if key not in self._records:
            self._records[key] = EntryPointRecord(
                group=entry_point.group, name=entry_point.name, value=entry_point.value
            )
            if not self.allowed(entry_point):
                self._records[key].status = DISABLED
                self._records[key].error = self.selection.reason(
                    entry_point.name, self._distribution_name(entry_point)
                )
        return self._records[key]

    # -- connector types ----------------------------------------------------------

    def names(self) -> list[str]:
        """Names of every allowed connector type, without importing any plugin."""
        return sorted({ep.name for ep in self.entry_points(self.types_group) if self.allowed(ep)})

    def _load(self, name: str) -> _LoadedType | None:
        with self._lock:
            if name in self._loaded:
                return self._loaded[name]
            if name in self._failed:
                return None
            candidates = [ep for ep in self.entry_points(self.types_group) if ep.name == name]
            allowed = [ep for ep in candidates if self.allowed(ep)]
            for ep in candidates:
                self.record(ep)
            if not allowed:
                self._failed[name] = "not installed"
                return None
            if len(allowed) > 1:
                message = (
                    f"declared by {len(allowed)} entry points "
                    f"({', '.join(ep.value for ep in allowed)}); uninstall all but one"
                )
                for ep in allowed:
                    self.record(ep).status, self.record(ep).error = FAILED, message
                self._failed[name] = message
                return None
            entry_point = allowed[0]
            record = self.record(entry_point)
            try:
                module, new_modules = import_entry_point(entry_point)
                loaded = _LoadedType(record, module, new_modules)
            except IncompatiblePlugin as exc:
                record.status, record.error = INCOMPATIBLE, exc.message
            except PluginError as exc:
                record.status, record.error = FAILED, exc.message
            except Exception as exc:  # a broken third-party plugin is reported, not fatal
                log.debug("plugin %s failed", name, exc_info=True)
                record.status, record.error = FAILED, import_failure(entry_point.value, exc)
            else:
                record.status = LOADED
                self._loaded[name] = loaded
                return loaded
            self._failed[name] = record.error or "failed"
            return None

    def _require(self, name: str) -> _LoadedType:
        loaded = self._load(name)
        if loaded is None:
            if name not in self.names():
                raise NotFoundError(self._unknown_type_message(name), parameter="connector_type")
            raise PluginError(f"connector type '{name}' is unavailable: {self._failed[name]}")
        return loaded

    def _unknown_type_message(self, name: str) -> str:
        known = ", ".join(self.names()) or "none installed"
        message = f"unknown connector type '{name}'; known types: {known}"
        left_out = [ep for ep in self.entry_points(self.types_group) if ep.name == name]
        if left_out:
            reason = self.selection.reason(name, self._distribution_name(left_out[0]))
            message += f" ('{name}' is installed but {reason})"
        return message

    def declaration(self, name: str) -> ConnectorType:
        """The declaration of connector type ``name``; raises ``NotFoundError``/``PluginError``."""
        return self._require(name).declaration

    def availability(self, name: str) -> TypeAvailability:
        """Where connector type ``name`` can be used from here (never raises for broken plugins)."""
        if name not in self.names():
            raise NotFoundError(self._unknown_type_message(name), parameter="connector_type")
        loaded = self._load(name)
        if loaded is None:
            return TypeAvailability(connector_type=name, local_problem=self._failed[name])
        missing = loaded.missing_modules()
        problem = None
        if missing:
            hint = f"; {loaded.declaration.install_hint}" if loaded.declaration.install_hint else ""
            problem = f"missing {', '.join(missing)}{hint}"
        return TypeAvailability(
            connector_type=name,
            declaration=loaded.declaration,
            local=not missing,
            local_problem=problem,
        )

    def all_availability(self) -> list[TypeAvailability]:
        """Every declared connector type, with broken ones marked unavailable."""
        return [self.availability(name) for name in self.names()]

    def hooks(self, name: str) -> Any:
        """The behaviour hooks of connector type ``name`` (imports its implementation)."""
        return self._require(name).hooks()

    def implements(self, name: str, hook_name: str) -> bool:
        """Whether connector type ``name`` implements the per-type hook ``hook_name``."""
        return self._require(name).implements(hook_name)

    # -- local tools and open hooks -----------------------------------------------------

    def _open_plugins(self) -> OpenPlugins:
        with self._lock:
            if self._open is None:
                from keybroker.open_plugins import OpenPlugins

                opened = OpenPlugins()
                opened.load(self.entry_points(self.plugins_group), self.record)
                self._open = opened
            return self._open

    def open_hooks(self) -> Any:
        """The open hooks, with every allowed plugin of the ``keybroker.plugins`` group."""
        return self._open_plugins().hook

    def register_open_plugin(self, plugin: object, name: str | None = None) -> None:
        """Register an open-hook plugin object directly (tests, embedding applications).

        Checked like an installed plugin; raises ``PluginError`` when refused.
        """
        with self._lock:
            label = name or str(getattr(plugin, "__name__", type(plugin).__name__))
            record = EntryPointRecord(group=PLUGINS_GROUP, name=label, value=label)
            self._open_plugins().add(plugin, label, record)
            self._records[(PLUGINS_GROUP, f"{label}={label}")] = record

    def local_tools(self) -> list[LocalTool]:
        """Every local tool the allowed plugins declare, by name."""
        return self._open_plugins().tools()

    def configure_local_tool(self, tool: str, request: LocalLoginRequest) -> LoginResult:
        """Call ``configure_local_tool`` on the plugin of ``tool`` alone."""
        return self._open_plugins().configure(tool, request)

    # -- inspection ----------------------------------------------------------------------

    def load_everything(self) -> list[EntryPointRecord]:
        """Load every plugin fully (declarations first, then implementations); return records.

        For ``keybroker plugin list``: slow, since it imports every SDK that is installed.
        """
        names = sorted({ep.name for ep in self.entry_points(self.types_group)})
        for name in names:
            self._load(name)
        for name in names:
            loaded = self._loaded.get(name)
            if loaded is not None and not loaded.missing_modules():
                with suppress(PluginError):  # recorded on the entry point
                    loaded.hooks()
            elif loaded is not None:
                loaded.record.warnings.append(str(loaded.not_local_error(loaded.missing_modules())))
        self._open_plugins()
        for ep in [*self.entry_points(self.types_group), *self.entry_points(self.plugins_group)]:
            self.record(ep)
        return sorted(self._records.values(), key=lambda r: (r.group, r.name, r.value))
