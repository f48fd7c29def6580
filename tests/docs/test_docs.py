"""The documentation site cannot drift from the contract.

Like datasette's docs test: a hook without a reference entry, an
undocumented hook parameter, or a first-result hook that does not say so
fails here. ``mkdocs build --strict`` (run by ``.ci/run``) catches broken
links and unresolvable references.
"""

from __future__ import annotations

import inspect
import re
from pathlib import Path

import pytest
import yaml
from griffe import Docstring, DocstringSectionKind

from keybroker.hookspecs import HOOK_CLASSES, PROJECT_NAME

ROOT = Path(__file__).resolve().parents[2]
DOCS = ROOT / "docs"

HOOKS = [
    (cls, name, getattr(cls, name))
    for classes in HOOK_CLASSES.values()
    for cls in classes
    for name in vars(cls)
    if not name.startswith("_") and callable(getattr(cls, name))
]


def _reference_members() -> set[str]:
    text = (DOCS / "reference" / "hooks.md").read_text()
    return set(re.findall(r"^\s+- (\w+)$", text, flags=re.M))


@pytest.mark.parametrize(("cls", "name", "hook"), HOOKS, ids=[h[1] for h in HOOKS])
def test_every_hook_has_a_reference_entry(cls: type, name: str, hook: object) -> None:
    assert name in _reference_members(), f"add '{name}' to docs/reference/hooks.md"
    assert (
        f"::: keybroker.hookspecs.{cls.__name__}" in (DOCS / "reference" / "hooks.md").read_text()
    )


@pytest.mark.parametrize(("cls", "name", "hook"), HOOKS, ids=[h[1] for h in HOOKS])
def test_every_hook_documents_each_parameter_and_whether_it_stops_early(
    cls: type, name: str, hook: object
) -> None:
    text = inspect.getdoc(hook) or ""
    assert text, f"hook {name} has no docstring"
    sections = Docstring(text, parser="google").parse()
    documented = {
        p.name for s in sections if s.kind is DocstringSectionKind.parameters for p in s.value
    }
    parameters = [p for p in inspect.signature(hook).parameters if p != "self"]  # type: ignore[arg-type]
    assert set(parameters) == documented, f"hook {name}: document exactly {parameters}"
    options = getattr(hook, f"{PROJECT_NAME}_spec")
    flat = " ".join(text.split())
    if options["firstresult"]:
        assert "Stops at the first result." in flat, f"say that {name} stops at the first result"
    else:
        assert re.search(r"[Ee]very implementation is called|Called on every", flat), name


def test_every_page_is_in_the_navigation_and_every_entry_exists() -> None:
    config = yaml.safe_load((ROOT / "mkdocs.yml").read_text())

    def pages(entries: list[object]) -> list[str]:
        found: list[str] = []
        for entry in entries:
            value = next(iter(entry.values())) if isinstance(entry, dict) else entry
            found.extend(pages(value) if isinstance(value, list) else [str(value)])
        return found

    listed = pages(config["nav"])
    for page in listed:
        assert (DOCS / page).is_file(), f"mkdocs.yml lists missing page {page}"
    on_disk = {str(p.relative_to(DOCS)) for p in DOCS.rglob("*.md")}
    assert on_disk - set(listed) == set(), "add these pages to the nav in mkdocs.yml"


def test_commands_page_was_captured_from_the_cli() -> None:
    page = (DOCS / "user-guide" / "commands.md").read_text()
    assert "scripts/capture_cli.py" in page
    from keybroker.cli.connector import connector
    from keybroker.cli.plugin import plugin

    for group in (connector, plugin):
        for command in group.commands:
            assert f"$ keybroker {group.name} {command}" in page, (
                f"'keybroker {group.name} {command}' has no captured example: add it to "
                "scripts/capture_cli.py and run it"
            )


def test_links_outside_the_site_point_at_files_that_exist() -> None:
    """README, CONTRIBUTING, CHANGELOG and the plugin template are not checked by mkdocs."""
    pages = [ROOT / "README.md", ROOT / "CONTRIBUTING.md", ROOT / "CHANGELOG.md"]
    broken = []
    for page in pages:
        text = page.read_text()
        targets = re.findall(r"\]\(([^)\s]+)\)", text)  # [text](target)
        targets += re.findall(r"`((?:docs|bench|scripts|examples|plugins)/[\w./-]+\.\w+)`", text)
        for target in targets:
            path = target.split("#")[0]
            if not path or "://" in path or path.startswith("mailto:"):
                continue
            if not (page.parent / path).exists():
                broken.append(f"{page.name}: {target}")
    assert broken == []


def _readme_tour_commands() -> list[list[str]]:
    """The ``$ keybroker ...`` commands of the README's tour, as argument lists."""
    import shlex

    text = (ROOT / "README.md").read_text().replace("\\\n", " ")
    commands = []
    for line in text.splitlines():
        line = line.strip()
        if line.startswith("$ keybroker "):
            command = line.removeprefix("$ ").split("  #")[0]
            commands.append(shlex.split(command)[1:])
    return commands


def test_every_command_of_the_readme_tour_exists_with_its_options() -> None:
    """Each tour command parses (no renamed command or option); ``--help`` stops it there."""
    from click.testing import CliRunner

    from keybroker.cli.context import CliState
    from keybroker.cli.main import cli

    commands = _readme_tour_commands()
    assert len(commands) >= 10
    for args in commands:
        result = CliRunner().invoke(cli, [*args, "--help"], obj=CliState(), prog_name="cli")
        assert result.exit_code == 0, f"keybroker {' '.join(args)}: {result.output}"
        assert result.output.startswith(f"Usage: cli {args[0]} "), args
