"""Install a plugin the way pip would, without pip: a dist-info with entry points on a path.

For tests that add a plugin (or a broken one, or a fake cloud) to the current
process or to a subprocess, as a real distribution that entry-point discovery
finds.
"""

from __future__ import annotations

import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path


def write_plugin(
    target: Path,
    dist_name: str,
    modules: dict[str, str],
    entry_points: dict[str, dict[str, str]],
    version: str = "0.0.1",
) -> Path:
    """Write ``modules`` (dotted name -> source) and a dist-info under ``target``.

    Returns ``target``: put it on ``sys.path`` (see ``plugin_on_path``) or
    ``PYTHONPATH`` to install the plugin.
    """
    target.mkdir(parents=True, exist_ok=True)
    for dotted, source in modules.items():
        parts = dotted.split(".")
        package_dir = target.joinpath(*parts[:-1])
        package_dir.mkdir(parents=True, exist_ok=True)
        for depth in range(1, len(parts)):
            init = target.joinpath(*parts[:depth], "__init__.py")
            if not init.exists():
                init.write_text("")
        (package_dir / f"{parts[-1]}.py").write_text(source)
    normalized = dist_name.replace("-", "_")
    dist_info = target / f"{normalized}-{version}.dist-info"
    dist_info.mkdir(exist_ok=True)
    (dist_info / "METADATA").write_text(
        f"Metadata-Version: 2.1\nName: {dist_name}\nVersion: {version}\n"
    )
    lines = []
    for group, entries in entry_points.items():
        lines.append(f"[{group}]")
        lines.extend(f"{name} = {value}" for name, value in entries.items())
        lines.append("")
    (dist_info / "entry_points.txt").write_text("\n".join(lines))
    return target


def forget_entry_points() -> None:
    """Drop stevedore's in-process entry point cache (after ``sys.path`` changed)."""
    from stevedore import ExtensionManager

    ExtensionManager.ENTRY_POINT_CACHE.clear()


@contextmanager
def plugin_on_path(target: Path) -> Iterator[Path]:
    """Make the plugins written under ``target`` visible to this process, then remove them."""
    sys.path.insert(0, str(target))
    forget_entry_points()
    try:
        yield target
    finally:
        sys.path.remove(str(target))
        forget_entry_points()
        for name in list(sys.modules):
            module_file = getattr(sys.modules[name], "__file__", None) or ""
            if module_file.startswith(str(target)):
                del sys.modules[name]
