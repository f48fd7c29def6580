"""Discovery of connector-type plugins through entry points, loaded lazily.

Each connector type is one entry point in ``keybroker.connector_types``; naming a
type imports only its plugin. The implementation module with the behaviour hooks
is imported on first use. A plugin that fails to load is reported as unavailable
with the reason; it never breaks the registry.
"""

from __future__ import annotations

import importlib
import importlib.util
import logging
import threading
from types import ModuleType
from typing import Any

import pluggy
from stevedore import NamedExtensionManager

from keybroker.errors import NotFoundError, PluginError
from keybroker.hookspecs import (
    CONNECTOR_TYPES_GROUP,
    PLUGINS_GROUP,
    PROJECT_NAME,
    ConnectorTypeHooks,
    OpenHooks,
)
from keybroker.types import ConnectorType, TypeAvailability

log = logging.getLogger(__name__)


class _LoadedType:
    """One connector type's plugin manager, with the implementation added on demand."""

    def __init__(self, name: str, declaration_module: Any) -> None:
        self.name = name
        self.manager = pluggy.PluginManager(PROJECT_NAME)
        self.manager.add_hookspecs(ConnectorTypeHooks)
        self.manager.register(declaration_module, name=f"{name}:declaration")
        declaration = self.manager.hook.declare_connector_type()
        if not isinstance(declaration, ConnectorType):
            raise PluginError(
                f"plugin for connector type '{name}' declared {type(declaration).__name__}, "
                "not a ConnectorType"
            )
        if declaration.connector_type != name:
            raise PluginError(
                f"entry point '{name}' declares connector type '{declaration.connector_type}'"
            )
        self.declaration = declaration
        self._implementation: ModuleType | None = None
        self._lock = threading.Lock()

    def missing_modules(self) -> list[str]:
        """Required SDK modules that cannot be imported here (checked without importing)."""
        return [m for m in self.declaration.requires_modules if importlib.util.find_spec(m) is None]

    def hooks(self) -> Any:
        """The hook relay, with the implementation module registered."""
        with self._lock:
            if self._implementation is None:
                missing = self.missing_modules()
                if missing:
                    hint = (
                        f" ({self.declaration.install_hint})"
                        if self.declaration.install_hint
                        else ""
                    )
                    raise PluginError(
                        f"connector type '{self.name}' is not available locally: missing "
                        f"{', '.join(missing)}{hint}"
                    )
                try:
                    module = importlib.import_module(self.declaration.implementation)
                except Exception as exc:
                    raise PluginError(
                        f"connector type '{self.name}': cannot import "
                        f"{self.declaration.implementation}: {exc}"
                    ) from exc
                self.manager.register(module, name=f"{self.name}:implementation")
                self._implementation = module
        return self.manager.hook

    def implements(self, hook_name: str) -> bool:
        """Whether the type's plugin implements ``hook_name`` (loads the implementation)."""
        return bool(getattr(self.hooks(), hook_name).get_hookimpls())


class PluginRegistry:
    """The connector types and tool plugins installed in this environment."""

    def __init__(
        self,
        types_group: str = CONNECTOR_TYPES_GROUP,
        plugins_group: str = PLUGINS_GROUP,
    ) -> None:
        self._types_group = types_group
        self._plugins_group = plugins_group
        self._loaded: dict[str, _LoadedType] = {}
        self._failed: dict[str, str] = {}
        self._names: list[str] | None = None
        self._open: pluggy.PluginManager | None = None
        self._lock = threading.RLock()

    def names(self) -> list[str]:
        """Names of every declared connector type, without importing any plugin."""
        if self._names is None:
            manager: NamedExtensionManager[Any] = NamedExtensionManager(self._types_group, names=[])
            self._names = sorted(set(manager.entry_points_names()))
        return self._names

    def _load(self, name: str) -> _LoadedType | None:
        with self._lock:
            if name in self._loaded:
                return self._loaded[name]
            if name in self._failed:
                return None
            failures: list[str] = []

            def on_failure(_manager: Any, entry_point: Any, exc: BaseException) -> None:
                failures.append(f"cannot load {entry_point.value}: {exc}")

            manager: NamedExtensionManager[Any] = NamedExtensionManager(
                self._types_group, names=[name], on_load_failure_callback=on_failure
            )
            extensions = list(manager)
            if not extensions:
                self._failed[name] = failures[0] if failures else "not installed"
                return None
            try:
                loaded = _LoadedType(name, extensions[0].plugin)
            except Exception as exc:
                log.debug("plugin %s failed", name, exc_info=True)
                self._failed[name] = f"invalid plugin: {exc}"
                return None
            self._loaded[name] = loaded
            return loaded

    def _require(self, name: str) -> _LoadedType:
        loaded = self._load(name)
        if loaded is None:
            if name not in self.names():
                known = ", ".join(self.names()) or "none installed"
                raise NotFoundError(f"unknown connector type '{name}'; known types: {known}")
            raise PluginError(f"connector type '{name}' is unavailable: {self._failed[name]}")
        return loaded

    def declaration(self, name: str) -> ConnectorType:
        """The declaration of connector type ``name``; raises ``NotFoundError``/``PluginError``."""
        return self._require(name).declaration

    def availability(self, name: str) -> TypeAvailability:
        """Where connector type ``name`` can be used from here (never raises for broken plugins)."""
        if name not in self.names():
            known = ", ".join(self.names()) or "none installed"
            raise NotFoundError(f"unknown connector type '{name}'; known types: {known}")
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

    def open_hooks(self) -> Any:
        """The open hooks, with every plugin of the ``keybroker.plugins`` group registered."""
        with self._lock:
            if self._open is None:
                manager = pluggy.PluginManager(PROJECT_NAME)
                manager.add_hookspecs(OpenHooks)

                def on_failure(_manager: Any, entry_point: Any, exc: BaseException) -> None:
                    log.warning("plugin %s could not be loaded: %s", entry_point.value, exc)

                extensions: NamedExtensionManager[Any] = NamedExtensionManager(
                    self._plugins_group, names=[], on_load_failure_callback=on_failure
                )
                names = sorted(set(extensions.entry_points_names()))
                for ext in NamedExtensionManager(
                    self._plugins_group, names=names, on_load_failure_callback=on_failure
                ):
                    try:
                        manager.register(ext.plugin, name=ext.name)
                    except Exception as exc:  # a broken third-party plugin is reported, not fatal
                        log.warning("plugin %s could not be registered: %s", ext.name, exc)
                self._open = manager
            return self._open.hook

    def register_open_plugin(self, plugin: object, name: str | None = None) -> None:
        """Register an open-hook plugin object directly (tests, embedding applications)."""
        self.open_hooks()
        assert self._open is not None
        self._open.register(plugin, name=name)
