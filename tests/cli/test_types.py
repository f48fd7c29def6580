"""Browsing connector types: list-types and describe-type, installed and broken plugins."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from peers.cli_runner import keybroker, run
from peers.plugin_install import write_plugin


def test_list_types_shows_the_installed_plugin_with_reference_columns() -> None:
    result = run("connector", "list-types")
    assert result.exit_code == 0, result.output
    header = result.output.splitlines()[1]
    for column in ["NAME", "TYPE", "RESOURCE TYPES", "AUTH METHODS", "LOCAL", "REMOTE"]:
        assert column in header
    assert "httpbasic" in result.output and "http-endpoint" in result.output
    data = json.loads(run("connector", "list-types", "-o", "json").output)
    basic = next(t for t in data if t["connector_type"] == "httpbasic")
    assert basic["local"] is True and basic["remote"] is False
    assert [m["auth_method"] for m in basic["auth_methods"]] == ["password"]


def test_alias_and_yaml_output() -> None:
    result = run("service-connector", "list-types", "-o", "yaml", "-r", "http-server")
    assert result.exit_code == 0, result.output
    assert [t["connector_type"] for t in yaml.safe_load(result.output)] == ["httpbasic"]


def test_describe_type_documents_auth_methods_and_resource_types() -> None:
    overview = run("connector", "describe-type", "httpbasic")
    assert overview.exit_code == 0 and "HTTP basic-auth connector" in overview.output
    method = run("connector", "describe-type", "httpbasic", "-a", "password")
    assert method.exit_code == 0
    password_row = next(
        line for line in method.output.splitlines() if line.startswith("│ password ")
    )
    assert password_row.count("✅") == 2  # required and secret
    resource = run("connector", "describe-type", "httpbasic", "-r", "http-endpoint")
    assert "/{path}" in resource.output and "canonical" in resource.output
    data = json.loads(
        run("connector", "describe-type", "httpbasic", "-a", "password", "-o", "json").output
    )
    assert {a["name"]: a["secret"] for a in data["attributes"]}["password"] is True


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["describe-type", "nope"], "unknown connector type 'nope'; known types:"),
        (["describe-type", "httpbasic", "-a", "token"], "valid auth methods: password"),
        (["describe-type", "httpbasic", "-r", "bucket"], "valid resource types: http-server"),
    ],
)
def test_describe_type_bad_input(args: list[str], message: str) -> None:
    result = run("connector", *args)
    assert result.exit_code == 2
    assert message in result.output
    assert "Traceback" not in result.output


BROKEN_DECLARATION = "raise RuntimeError('the vendor SDK exploded')\n"
MARKER_DECLARATION = (
    "import os, pathlib\n"
    "pathlib.Path(os.environ['MARKER_FILE']).write_text('imported')\n"
    "from keybroker.hookspecs import hookimpl\n"
)


def test_broken_and_unrelated_plugins(tmp_path: Path) -> None:
    plugins = write_plugin(
        tmp_path / "site",
        "keybroker-extra",
        {"kb_broken.declaration": BROKEN_DECLARATION, "kb_marker.declaration": MARKER_DECLARATION},
        {
            "keybroker.connector_types": {
                "broken": "kb_broken.declaration",
                "marker": "kb_marker.declaration",
            }
        },
    )
    marker = tmp_path / "marker"
    env = {"PYTHONPATH": str(plugins), "MARKER_FILE": str(marker)}
    described = keybroker("connector", "describe-type", "httpbasic", env=env)
    assert described.returncode == 0, described.stderr
    assert not marker.exists()  # describing one type imports only that plugin
    listed = keybroker("connector", "list-types", "-o", "json", env=env)
    assert listed.returncode == 0, listed.stderr
    by_type = {t["connector_type"]: t for t in json.loads(listed.stdout)}
    assert by_type["broken"]["local"] is False
    assert "the vendor SDK exploded" in by_type["broken"]["local_problem"]
    assert by_type["httpbasic"]["local"] is True
    broken = keybroker("connector", "describe-type", "broken", env=env)
    assert broken.returncode == 1 and "the vendor SDK exploded" in broken.stderr


NEEDS_SDK_DECLARATION = """
from keybroker.hookspecs import hookimpl
from keybroker.types import AuthConfig, AuthMethod, ConnectorType, ResourceType

class Config(AuthConfig):
    url: str

@hookimpl
def declare_connector_type():
    return ConnectorType(
        connector_type="needsdk", name="Needs an SDK", implementation="kb_needsdk.impl",
        auth_methods=[AuthMethod(auth_method="token", name="token", config_schema=Config)],
        resource_types=[ResourceType(resource_type="thing", name="thing")],
        requires_modules=["kb_vendor_sdk_not_installed"],
        install_hint="pip install kb-vendor-sdk",
    )
"""


def test_type_whose_sdk_is_missing_is_listed_but_not_local(tmp_path: Path) -> None:
    plugins = write_plugin(
        tmp_path / "site",
        "kb-needsdk",
        {"kb_needsdk.declaration": NEEDS_SDK_DECLARATION},
        {"keybroker.connector_types": {"needsdk": "kb_needsdk.declaration"}},
    )
    env = {"PYTHONPATH": str(plugins)}
    listed = keybroker("connector", "list-types", "-o", "json", env=env)
    entry = next(t for t in json.loads(listed.stdout) if t["connector_type"] == "needsdk")
    assert entry["local"] is False
    assert "kb_vendor_sdk_not_installed" in entry["local_problem"]
    described = keybroker("connector", "describe-type", "needsdk", env=env)
    assert described.returncode == 0  # its documentation is still readable
    assert "not usable here" in described.stdout


@pytest.mark.parametrize(
    "args",
    [
        ["--help"],
        ["connector", "list-types"],
        ["connector", "describe-type", "aws"],
        ["connector", "describe-type", "kubernetes", "-a", "token"],
    ],
)
def test_cli_never_imports_a_cloud_sdk_to_describe_types(args: list[str]) -> None:
    result = subprocess.run(
        [sys.executable, "-X", "importtime", "-m", "keybroker", *args],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 0, result.stderr
    imported = {
        line.rsplit("|", 1)[-1].strip().split(".")[0]
        for line in result.stderr.splitlines()
        if line.startswith("import time:")
    }
    assert imported.isdisjoint(
        {"boto3", "botocore", "kubernetes", "docker", "requests", "urllib3", "sqlalchemy"}
    )
    assert "keybroker" in imported  # the check would see them: it reads the same output
