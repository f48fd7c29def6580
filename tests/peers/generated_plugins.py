"""Plugins generated from the ``keybroker plugin new`` template, healthy or deliberately broken.

Each is installed as a real distribution: its package and a dist-info with
its entry point in a directory that goes on ``PYTHONPATH``.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

from keybroker.plugin_scaffold import PluginNames, create_plugin
from keybroker.testing.install import write_plugin


def generate(name: str, root: Path) -> Path:
    """The project directory of a freshly generated plugin ``name``."""
    project = root / f"keybroker-{name}"
    create_plugin(PluginNames(name), project)
    return project


def edit(path: Path, old: str, new: str) -> None:
    """Replace ``old`` (which must be there) by ``new`` in ``path``."""
    text = path.read_text()
    assert old in text, f"{old!r} not in {path}"
    path.write_text(text.replace(old, new, 1))


def install(project: Path, site: Path, extra_modules: dict[str, str] | None = None) -> Path:
    """Install the generated ``project`` into ``site`` as a distribution; return ``site``."""
    names = PluginNames(project.name.removeprefix("keybroker-"))
    shutil.copytree(project / "src" / names.package, site / names.package)
    write_plugin(
        site,
        names.distribution,
        extra_modules or {},
        {"keybroker.connector_types": {names.name: f"{names.package}.declaration"}},
    )
    return site


def environment(site: Path, home: Path) -> dict[str, str]:
    """A subprocess environment that sees the plugins in ``site`` and the test's home."""
    path = os.pathsep.join(p for p in [str(site), os.environ.get("PYTHONPATH", "")] if p)
    return {**os.environ, "PYTHONPATH": path, "HOME": str(home)}


def run_tests(project: Path, env: dict[str, str], *args: str) -> subprocess.CompletedProcess[str]:
    """Run the generated plugin's own tests (``pytest ARGS`` in its directory)."""
    return subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "-rfE", *args],
        cwd=project,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
