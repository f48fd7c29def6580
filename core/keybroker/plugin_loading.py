"""Loading one plugin module strictly: API version, hook names, SDK imports, load records.

Used by ``keybroker.registry`` for connector types and by
``keybroker.open_plugins`` for local tools and listeners, so that both kinds
of plugin are refused for the same reasons with the same messages.
"""

from __future__ import annotations

import sys
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import pluggy

from keybroker.errors import PluginError
from keybroker.hookspecs import HOOK_CLASSES, OLDEST_PLUGIN_API_VERSION, PLUGIN_API_VERSION

if TYPE_CHECKING:
    from importlib.metadata import EntryPoint

#: Top-level SDK modules a declaration or tool module must not import (besides
#: the ``requires_modules`` of its own declaration).
KNOWN_SDKS = (
    "boto3",
    "botocore",
    "kubernetes",
    "docker",
    "google.cloud",
    "google.auth",
    "google.api_core",
    "googleapiclient",
    "azure",
    "requests",
    "urllib3",
    "grpc",
)

#: Load states of an entry point, as ``keybroker plugin list`` shows them.
LOADED, NOT_LOADED, FAILED, INCOMPATIBLE, DISABLED = (
    "loaded",
    "not loaded",
    "failed",
    "incompatible",
    "disabled",
)


class IncompatiblePlugin(PluginError):
    """A plugin module needs a plugin API this keybroker does not provide."""


@dataclass
class EntryPointRecord:
    """What loading one entry point did: its state, the hooks it implements, what went wrong."""

    group: str
    name: str
    value: str
    status: str = NOT_LOADED
    error: str | None = None
    warnings: list[str] = field(default_factory=list)
    hooks: list[str] = field(default_factory=list)


def required_api(plugin: object, label: str) -> int:
    """The ``REQUIRES_PLUGIN_API`` of a plugin module; raise if this keybroker cannot serve it."""
    wanted = getattr(plugin, "REQUIRES_PLUGIN_API", OLDEST_PLUGIN_API_VERSION)
    if not isinstance(wanted, int) or isinstance(wanted, bool):
        raise PluginError(f"{label}: REQUIRES_PLUGIN_API must be an integer, got {wanted!r}")
    if wanted > PLUGIN_API_VERSION:
        raise IncompatiblePlugin(
            f"{label} needs plugin API {wanted}, but this keybroker provides "
            f"{PLUGIN_API_VERSION}: upgrade keybroker (pip install -U keybroker)"
        )
    if wanted < OLDEST_PLUGIN_API_VERSION:
        raise IncompatiblePlugin(
            f"{label} was written for plugin API {wanted}, which this keybroker no longer "
            f"loads (oldest: {OLDEST_PLUGIN_API_VERSION}): upgrade the plugin"
        )
    return wanted


def _unknown_hook_message(group: str, function: str, label: str) -> str:
    known = [
        name
        for cls in HOOK_CLASSES[group]
        for name in vars(cls)
        if not name.startswith("_") and callable(getattr(cls, name))
    ]
    import difflib

    close = difflib.get_close_matches(function, known, n=1)
    hint = f"did you mean '{close[0]}'? " if close else ""
    return (
        f"{label}: function '{function}' is marked @hookimpl but names no hook of the "
        f"'{group}' entry point group; {hint}hooks there: {', '.join(sorted(known))}"
    )


def register_strictly(
    manager: pluggy.PluginManager, plugin: object, name: str, group: str, label: str
) -> None:
    """Register ``plugin`` after checking its API version; refuse unknown or malformed hooks."""
    required_api(plugin, label)
    try:
        manager.register(plugin, name=name)
    except pluggy.PluginValidationError as exc:
        raise PluginError(f"{label}: {exc}") from None
    except ValueError as exc:
        raise PluginError(f"{label}: {exc}") from None
    for caller in manager.get_hookcallers(plugin) or []:
        if caller.spec is None:
            manager.unregister(plugin, name=name)
            raise PluginError(_unknown_hook_message(group, caller.name, label))


def hooks_of(manager: pluggy.PluginManager, plugin: object) -> list[str]:
    """Names of the hooks ``plugin`` implements."""
    return sorted(caller.name for caller in manager.get_hookcallers(plugin) or [])


def _top_modules(names: set[str]) -> set[str]:
    return {n for n in names if "." not in n} | {".".join(n.split(".")[:2]) for n in names}


def sdk_imports(new_modules: set[str], requires_modules: list[str]) -> list[str]:
    """The SDK modules among ``new_modules`` (modules an import added to ``sys.modules``)."""
    candidates = set(KNOWN_SDKS) | set(requires_modules)
    present = _top_modules(new_modules)
    return sorted(m for m in candidates if m in present)


def import_entry_point(entry_point: EntryPoint) -> tuple[Any, set[str]]:
    """Load an entry point; return it and the modules the import added."""
    before = set(sys.modules)
    plugin = entry_point.load()
    return plugin, set(sys.modules) - before


def import_failure(value: str, exc: BaseException) -> str:
    """Why importing the entry point ``value`` failed, in one line for ``plugin list``."""
    from pydantic import ValidationError

    if isinstance(exc, ValidationError):
        from keybroker.validation_errors import describe

        return f"cannot import {value}: {describe(exc)}"
    message = f"cannot import {value}: {type(exc).__name__}: {exc}"
    if isinstance(exc, ImportError) and (exc.name or "").startswith("keybroker"):
        message += (
            f" (the plugin may need a newer keybroker; this one provides plugin API "
            f"{PLUGIN_API_VERSION})"
        )
    return message
