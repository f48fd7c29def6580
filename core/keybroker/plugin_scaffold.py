"""``keybroker plugin new``: a ready-to-install plugin distribution from the template.

The template (``keybroker/plugin_template/``) is a complete plugin: a
connector type with one auth method and one resource type, tests that run the
conformance kit against a tiny HTTP peer, a README and a CI workflow. Its files
end in ``.tmpl`` and use ``$name``-style placeholders; ``__package__`` in a path
becomes the Python package, ``github/`` and ``gitignore`` gain their dot.
"""

from __future__ import annotations

import re
import shutil
import string
import tempfile
from dataclasses import dataclass
from importlib.resources import files
from importlib.resources.abc import Traversable
from pathlib import Path

from keybroker import __version__
from keybroker.declaration_rules import IDENTIFIER
from keybroker.errors import UsageError
from keybroker.hookspecs import PLUGIN_API_VERSION

TEMPLATE_PACKAGE = "keybroker"
TEMPLATE_DIRECTORY = "plugin_template"
RENAMES = {"github": ".github", "gitignore": ".gitignore", "__package__": "{package}"}


@dataclass(frozen=True)
class PluginNames:
    """The names a new plugin called ``name`` gets."""

    name: str

    @property
    def distribution(self) -> str:
        """The distribution to publish: ``keybroker-NAME``."""
        return f"keybroker-{self.name}"

    @property
    def package(self) -> str:
        """The Python package: ``keybroker_NAME``."""
        return f"keybroker_{self.name.replace('-', '_')}"

    @property
    def title(self) -> str:
        """A human-readable name: ``Acme Cloud`` for ``acme-cloud``."""
        return " ".join(part.capitalize() for part in self.name.split("-"))

    def substitutions(self) -> dict[str, str]:
        """The template's placeholders and their values."""
        return {
            "name": self.name,
            "distribution": self.distribution,
            "package": self.package,
            "title": self.title,
            "class_prefix": self.title.replace(" ", ""),
            "keybroker_version": __version__,
            "plugin_api": str(PLUGIN_API_VERSION),
        }


def check_name(name: str, installed: list[str]) -> PluginNames:
    """The names of the new plugin; ``UsageError`` for a name a connector type cannot have."""
    if not IDENTIFIER.match(name) or len(name) > 40:
        raise UsageError(
            f"invalid plugin name '{name}': use lowercase letters, digits and single dashes, "
            "starting with a letter (it becomes the connector type), e.g. acme-cloud"
        )
    if name in installed:
        raise UsageError(f"connector type '{name}' is already installed here; choose another name")
    return PluginNames(name)


def _template_files(root: Traversable, prefix: str = "") -> list[tuple[str, Traversable]]:
    found = []
    for entry in sorted(root.iterdir(), key=lambda e: e.name):
        relative = f"{prefix}{entry.name}"
        if entry.is_dir():
            if entry.name != "__pycache__":
                found.extend(_template_files(entry, f"{relative}/"))
        elif entry.name.endswith(".tmpl"):
            found.append((relative.removesuffix(".tmpl"), entry))
    return found


def _target_path(relative: str, names: PluginNames) -> str:
    parts = [RENAMES.get(part, part).format(package=names.package) for part in relative.split("/")]
    return "/".join(parts)


def create_plugin(names: PluginNames, directory: Path) -> list[Path]:
    """Write the plugin distribution into ``directory`` (which must not exist, or be empty).

    Everything is written to a temporary sibling first and moved into place at
    the end, so a failure leaves nothing behind. Returns the files written.
    """
    if directory.exists() and (not directory.is_dir() or any(directory.iterdir())):
        raise UsageError(
            f"{directory} already exists and is not empty; choose another directory",
            parameter="directory",
        )
    parent = directory.resolve().parent
    if not parent.is_dir():
        raise UsageError(f"{parent} does not exist; create it first")
    values = names.substitutions()
    staging = Path(tempfile.mkdtemp(prefix=f".{directory.name}.", dir=parent))
    written = []
    try:
        root = files(TEMPLATE_PACKAGE).joinpath(TEMPLATE_DIRECTORY)
        for relative, source in _template_files(root):
            target = staging / _target_path(relative, names)
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_text(string.Template(source.read_text()).substitute(values))
            written.append(directory / target.relative_to(staging))
        if directory.exists():
            directory.rmdir()
        staging.rename(directory)
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        raise
    return written


def default_directory(names: PluginNames) -> Path:
    """Where ``plugin new`` writes by default: ``./keybroker-NAME``."""
    return Path(re.sub(r"[^A-Za-z0-9._-]", "-", names.distribution))
