"""Install a plugin the way pip would (moved to :mod:`keybroker.testing.install`)."""

from __future__ import annotations

from keybroker.testing.install import forget_entry_points, plugin_on_path, write_plugin

__all__ = ["forget_entry_points", "plugin_on_path", "write_plugin"]
