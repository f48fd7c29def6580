"""``keybroker plugin``: see what is installed, and start a new plugin."""

from __future__ import annotations

import textwrap
from pathlib import Path
from typing import TYPE_CHECKING, Any

import click

from keybroker.cli.render import output_option

if TYPE_CHECKING:
    from keybroker.plugin_inventory import PluginInventory

PLUGIN_HEADERS = ["DISTRIBUTION", "ENTRY POINT", "HOOKS", "STATUS"]


@click.group("plugin")
def plugin() -> None:
    """List the installed plugins, or create a new one."""


def plugin_rows(found: PluginInventory) -> list[list[Any]]:
    """One table row per entry point, the distribution named on its first row."""
    rows = []
    for item in found.plugins:
        for index, point in enumerate(item.entry_points):
            status = point.status + (" ⚠" if point.warnings else "")
            rows.append(
                [
                    f"{item.distribution}\n{item.version}" if index == 0 else "",
                    f"{point.name} ({point.kind})\n{point.module}",
                    textwrap.fill(", ".join(point.hooks), 34) or "-",
                    status,
                ]
            )
    return rows


def problem_lines(found: PluginInventory) -> list[str]:
    """A line per load error or warning, naming the entry point."""
    lines = []
    for item in found.plugins:
        for point in item.entry_points:
            if point.error:
                lines.append(f"{point.name} ({item.distribution}): {point.status}: {point.error}")
            lines.extend(f"{point.name} ({item.distribution}): {w}" for w in point.warnings)
    return lines


@plugin.command("list")
@output_option
def list_plugins(output: str) -> None:
    """List installed plugins: distribution, entry points, hooks and load status.

    Loads every plugin (and so imports every installed SDK) to check it;
    KEYBROKER_PLUGINS and KEYBROKER_DISABLE_PLUGINS are honoured and shown.
    """
    from keybroker.cli import render
    from keybroker.plugin_inventory import inventory

    found = inventory()
    if output != "table":
        render.emit_data(found.model_dump(mode="json"), output)
        return
    if not found.plugins:
        click.echo("No plugin is installed; 'pip install keybroker[all]' installs them all.")
        return
    click.echo(render.table(plugin_rows(found), PLUGIN_HEADERS))
    problems = problem_lines(found)
    if problems:
        click.echo("\nProblems:")
        for problem in problems:
            text = render.line(problem)
            click.echo(textwrap.fill(text, 100, initial_indent="  ", subsequent_indent="    "))
    click.echo(f"\nThis keybroker provides plugin API version {found.plugin_api_version}.")


@plugin.command("new")
@click.argument("name")
@click.option(
    "-d",
    "--directory",
    type=click.Path(path_type=Path, file_okay=False),
    help="Where to write the plugin (default: ./keybroker-NAME); must not exist or be empty.",
)
def new_plugin(name: str, directory: Path | None) -> None:
    """Create a ready-to-install plugin distribution for a new connector type NAME.

    It declares NAME with one auth method and one resource type, and comes with
    tests that run keybroker's conformance kit against a small HTTP peer, a
    README and a CI workflow.
    """
    from keybroker.plugin_scaffold import check_name, create_plugin, default_directory
    from keybroker.registry import PluginRegistry

    names = check_name(name, PluginRegistry().names())
    target = directory or default_directory(names)
    written = create_plugin(names, target)
    click.echo(f"Created {names.distribution} in {target}/ ({len(written)} files).")
    click.echo(
        "\nNext:\n"
        f"  cd {target}\n"
        "  python -m venv .venv && . .venv/bin/activate\n"
        "  pip install -e '.[test]'\n"
        "  pytest\n"
        f"  keybroker connector list-types    # '{names.name}' is listed, available locally"
    )
