"""Deliberately broken plugins: each is reported clearly and breaks no other command.

Every broken plugin is the ``plugin new`` template with one defect, installed
as a real distribution next to the healthy in-repo plugins. ``plugin list``
and the conformance kit (the broken plugin's own tests) must both name the
defect; the rest of keybroker must keep working.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from peers.basic_auth_server import BasicAuthService, basic_auth_service
from peers.cli_runner import keybroker
from peers.generated_plugins import edit, environment, generate, install, run_tests


@dataclass
class Broken:
    """A broken plugin: how ``plugin list`` and the conformance kit must report it."""

    name: str
    status: str
    listed: str  # in plugin list's error or warning
    kit_selection: str  # -k expression choosing the conformance test that must fail
    kit_message: str  # in that test's failure


BROKEN = [
    Broken(
        "broken-import",
        "failed",
        "No module named 'kb_missing_dependency'",
        "declaration_loads",
        "No module named 'kb_missing_dependency'",
    ),
    Broken(
        "broken-hook",
        "failed",
        "function 'verfy' is marked @hookimpl but names no hook",
        "implementation_loads",
        "did you mean 'verify'?",
    ),
    Broken(
        "broken-type",
        "failed",
        "resource type 'ghost' names undeclared auth method(s) oauth",
        "declaration_loads",
        "resource type 'ghost' names undeclared auth method(s) oauth",
    ),
    Broken(
        "broken-noverify",
        "failed",
        "implements no verify hook",
        "implementation_loads",
        "implements no verify hook",
    ),
    Broken(
        "broken-sdk",
        "loaded",
        "imports kb_fake_sdk: a declaration module must not import an SDK",
        "imports_no_sdk",
        "imports kb_fake_sdk",
    ),
    Broken(
        "broken-leak",
        "loaded",
        "",  # its error messages show the token: only running it can tell
        "refused_credentials",
        "the error shows a secret",
    ),
    Broken(
        "broken-verify",
        "loaded",
        "",  # verify answers nothing for 'ghost': only running it can tell
        "verified_listed",
        "verifying 'ghost' returned []",
    ),
]

LAST_RESOURCE_TYPE = "\n        )\n    ],\n    implementation="


def _add_resource_type(declaration: Path, arguments: str) -> None:
    ghost = f'\n        ),\n        ResourceType(resource_type="ghost", name="Ghost", {arguments}),'
    edit(declaration, LAST_RESOURCE_TYPE, ghost + "\n    ],\n    implementation=")


def _break(broken: Broken, project: Path) -> dict[str, str]:
    """Give the generated ``project`` its defect; return extra modules to install with it."""
    package = project / "src" / f"keybroker_{broken.name.replace('-', '_')}"
    declaration, implementation = package / "declaration.py", package / "implementation.py"
    if broken.name == "broken-import":
        edit(declaration, "from urllib.parse", "import kb_missing_dependency\nfrom urllib.parse")
    elif broken.name == "broken-hook":
        edit(implementation, "def verify(", "def verfy(")
    elif broken.name == "broken-type":
        _add_resource_type(declaration, 'auth_methods=["oauth"]')
    elif broken.name == "broken-noverify":
        edit(implementation, "@hookimpl\ndef verify(", "def verify(")
    elif broken.name == "broken-sdk":
        edit(
            declaration, "from urllib.parse", "import kb_fake_sdk  # noqa: F401\nfrom urllib.parse"
        )
        edit(declaration, "requires_modules=[]", 'requires_modules=["kb_fake_sdk"]')
        return {"kb_fake_sdk": "LOADED = True\n"}
    elif broken.name == "broken-leak":
        edit(
            implementation,
            "refused the API token (HTTP",
            "refused the API token {self._token} (HTTP",
        )
    elif broken.name == "broken-verify":
        _add_resource_type(declaration, "supports_instances=True")
        guard = '    if resource_type == "ghost":\n        return []\n'
        edit(
            implementation,
            "    client = _client(config)\n",
            guard + "    client = _client(config)\n",
        )
    return {}


@pytest.fixture(scope="module")
def broken_site(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, dict[str, Path]]:
    """Every broken plugin installed into one site directory; their project directories."""
    root = tmp_path_factory.mktemp("broken")
    site = root / "site"
    projects = {}
    for broken in BROKEN:
        project = generate(broken.name, root)
        install(project, site, _break(broken, project))
        projects[broken.name] = project
    return site, projects


@pytest.fixture
def env(broken_site: tuple[Path, dict[str, Path]], tmp_path: Path) -> dict[str, str]:
    return environment(broken_site[0], tmp_path / "home")


@pytest.fixture
def web() -> Iterator[BasicAuthService]:
    with basic_auth_service() as service:
        yield service


def test_plugin_list_names_each_defect(env: dict[str, str]) -> None:
    listed = keybroker("plugin", "list", "-o", "json", env=env)
    assert listed.returncode == 0, listed.stderr
    points = {
        p["name"]: p
        for plugin in json.loads(listed.stdout)["plugins"]
        for p in plugin["entry_points"]
    }
    for broken in BROKEN:
        point = points[broken.name]
        assert point["status"] == broken.status, (broken.name, point)
        said = " ".join([point["error"] or "", *point["warnings"]])
        assert broken.listed in said, (broken.name, said)
    assert points["httpbasic"]["status"] == "loaded" and not points["httpbasic"]["warnings"]
    table = keybroker("plugin", "list", env=env)
    assert table.returncode == 0
    assert "Problems:" in table.stdout
    assert "did you mean 'verify'?" in table.stdout


def test_broken_plugins_break_no_other_command(env: dict[str, str], web: BasicAuthService) -> None:
    listed = keybroker("connector", "list-types", "-o", "json", env=env)
    assert listed.returncode == 0, listed.stderr
    types = {t["connector_type"]: t for t in json.loads(listed.stdout)}
    assert types["httpbasic"]["local"] is True
    assert types["broken-import"]["local"] is False
    assert "kb_missing_dependency" in types["broken-import"]["local_problem"]
    assert types["broken-type"]["local"] is False
    table = keybroker("connector", "list-types", env=env)
    assert table.returncode == 0 and "httpbasic" in table.stdout
    described = keybroker("connector", "describe-type", "httpbasic", env=env)
    assert described.returncode == 0, described.stderr
    registered = keybroker(
        "connector",
        "register",
        "web",
        "-t",
        "httpbasic",
        f"url={web.url}",
        f"username={web.username}",
        f"password={web.password}",
        env=env,
    )
    assert registered.returncode == 0, registered.stderr
    assert keybroker("connector", "verify", "web", env=env).returncode == 0
    assert keybroker("connector", "list-resources", env=env).returncode == 0


def test_using_a_broken_type_fails_with_its_defect_and_changes_nothing(
    env: dict[str, str],
) -> None:
    refused = keybroker(
        "connector",
        "register",
        "x",
        "-t",
        "broken-hook",
        "url=http://127.0.0.1:9",
        "token=t",
        env=env,
    )
    assert refused.returncode == 1
    assert "did you mean 'verify'?" in refused.stderr
    assert "unexpected" not in refused.stderr
    listed = keybroker("connector", "list", "-o", "json", env=env)
    assert json.loads(listed.stdout) == []


@pytest.mark.parametrize("broken", BROKEN, ids=[b.name for b in BROKEN])
def test_conformance_kit_names_each_defect(
    broken: Broken, broken_site: tuple[Path, dict[str, Path]], env: dict[str, str]
) -> None:
    project = broken_site[1][broken.name]
    outcome = run_tests(project, env, "tests/test_conformance.py", "-k", broken.kit_selection)
    assert outcome.returncode == 1, outcome.stdout
    assert broken.kit_message in outcome.stdout, outcome.stdout
