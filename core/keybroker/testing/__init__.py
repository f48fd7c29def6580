"""Tools for testing keybroker plugins: fixtures, a tiny HTTP peer and a conformance suite.

Installed with keybroker and registered as a pytest plugin (entry point
``pytest11``), so a plugin's tests get the ``keybroker_*`` fixtures without
any set-up. Subclass ``ConnectorTypeConformance``
to check a connector type against everything the core relies on.

Nothing here is imported by keybroker itself.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from keybroker.testing.cli import CliRunner
    from keybroker.testing.conformance import ConnectorTypeConformance, WorkingCredentials
    from keybroker.testing.http_peer import HttpPeer, http_peer
    from keybroker.testing.install import plugin_on_path, write_plugin

_NAMES = {
    "CliRunner": "keybroker.testing.cli",
    "ConnectorTypeConformance": "keybroker.testing.conformance",
    "WorkingCredentials": "keybroker.testing.conformance",
    "HttpPeer": "keybroker.testing.http_peer",
    "http_peer": "keybroker.testing.http_peer",
    "plugin_on_path": "keybroker.testing.install",
    "write_plugin": "keybroker.testing.install",
}


def __getattr__(name: str) -> Any:
    module = _NAMES.get(name)
    if module is None:
        raise AttributeError(f"module 'keybroker.testing' has no attribute {name!r}")
    import importlib

    return getattr(importlib.import_module(module), name)


__all__ = [
    "CliRunner",
    "ConnectorTypeConformance",
    "HttpPeer",
    "WorkingCredentials",
    "http_peer",
    "plugin_on_path",
    "write_plugin",
]
