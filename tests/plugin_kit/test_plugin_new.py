"""``keybroker plugin new``: a plugin that installs, is listed and passes its own tests unedited."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

from peers.cli_runner import keybroker, run
from peers.generated_plugins import environment, install, run_tests


def test_new_plugin_is_listed_locally_and_its_tests_pass(tmp_path: Path) -> None:
    created = run("plugin", "new", "acme-cloud", "-d", str(tmp_path / "acme"))
    assert created.exit_code == 0, created.output
    project = tmp_path / "acme"
    expected = [
        ".github/workflows/test.yml",
        ".gitignore",
        "README.md",
        "pyproject.toml",
        "src/keybroker_acme_cloud/declaration.py",
        "src/keybroker_acme_cloud/implementation.py",
        "tests/test_conformance.py",
        "tests/test_cli.py",
    ]
    for relative in expected:
        assert (project / relative).is_file(), relative
    pyproject = (project / "pyproject.toml").read_text()
    assert 'acme-cloud = "keybroker_acme_cloud.declaration"' in pyproject
    for command in (["check"], ["format", "--check"]):
        lint = subprocess.run(
            [sys.executable, "-m", "ruff", *command, "."],
            cwd=project,
            capture_output=True,
            text=True,
            check=False,
        )
        assert lint.returncode == 0, lint.stdout

    (tmp_path / "acme-cloud").mkdir()
    project.rename(tmp_path / "acme-cloud" / "keybroker-acme-cloud")
    project = tmp_path / "acme-cloud" / "keybroker-acme-cloud"
    env = environment(install(project, tmp_path / "site"), tmp_path / "home")
    listed = keybroker("connector", "list-types", "-o", "json", env=env)
    entry = next(t for t in json.loads(listed.stdout) if t["connector_type"] == "acme-cloud")
    assert entry["local"] is True, entry
    outcome = run_tests(project, env)
    assert outcome.returncode == 0, outcome.stdout + outcome.stderr
    assert " passed" in outcome.stdout and "failed" not in outcome.stdout


def test_bad_names_and_occupied_directories_are_refused_and_nothing_written(
    tmp_path: Path,
) -> None:
    for name in ["Acme", "acme_cloud", "1acme", "acme--cloud", "a" * 41]:
        refused = run("plugin", "new", name, "-d", str(tmp_path / "x"))
        assert refused.exit_code == 2, refused.output
        assert "invalid plugin name" in refused.output
    assert not (tmp_path / "x").exists()
    installed = run("plugin", "new", "httpbasic", "-d", str(tmp_path / "x"))
    assert installed.exit_code == 2
    assert "already installed" in installed.output
    occupied = tmp_path / "occupied"
    occupied.mkdir()
    (occupied / "notes.txt").write_text("mine")
    clash = run("plugin", "new", "acme", "-d", str(occupied))
    assert clash.exit_code == 2
    assert "not empty" in clash.output
    assert [p.name for p in occupied.iterdir()] == ["notes.txt"]
    assert sorted(p.name for p in tmp_path.iterdir()) == ["home", "occupied"]
