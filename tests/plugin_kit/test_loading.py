"""Strict loading: API versions, declaration rules, plugin selection, local-tool dispatch.

Plugins are installed as real distributions (a dist-info with entry points on
``sys.path`` or ``PYTHONPATH``); local tools write real files and are driven
through the real ``login`` command against the basic-auth peer.
"""

from __future__ import annotations

import json
import textwrap
from collections.abc import Iterator
from pathlib import Path
from typing import Annotated

import pytest

from keybroker.declaration_rules import declaration_problems, looks_secret
from keybroker.errors import NotFoundError, OperationError, PluginError
from keybroker.plugin import (
    AuthConfig,
    AuthMethod,
    ConnectorType,
    NotSecret,
    ResourceType,
    SecretStr,
    config_as,
    docker_registry_client,
    kubernetes_cluster_client,
)
from keybroker.plugin_selection import PluginSelection
from keybroker.registry import PluginRegistry
from peers.basic_auth_server import BasicAuthService, basic_auth_service
from peers.cli_runner import keybroker, run
from peers.plugin_install import plugin_on_path, write_plugin

TYPE_TEMPLATE = textwrap.dedent(
    """
    from keybroker.plugin import (
        AuthConfig, AuthMethod, ConnectorType, ResourceType, SecretStr, hookimpl,
    )
    REQUIRES_PLUGIN_API = {api}

    class Config(AuthConfig):
        token: SecretStr

    @hookimpl
    def declare_connector_type():
        return ConnectorType(
            connector_type="{name}", name="{name}", implementation="{name}_impl",
            auth_methods=[AuthMethod(auth_method="token", name="t", config_schema=Config)],
            resource_types=[ResourceType(resource_type="{name}-thing", name="thing")],
        )
    """
)


def install_type(target: Path, name: str, api: int = 1, dist: str | None = None) -> None:
    write_plugin(
        target,
        dist or f"kb-{name}",
        {
            f"{name}_decl": TYPE_TEMPLATE.format(name=name, api=api),
            f"{name}_impl": "from keybroker.plugin import hookimpl\n\n"
            "@hookimpl\ndef verify(resource_type):\n    return []\n",
        },
        {"keybroker.connector_types": {name: f"{name}_decl"}},
    )


@pytest.fixture
def site(tmp_path: Path) -> Iterator[Path]:
    target = tmp_path / "site"
    target.mkdir()
    with plugin_on_path(target):
        yield target


def test_a_plugin_needing_a_newer_api_is_reported_and_not_loaded(site: Path) -> None:
    install_type(site, "future", api=99)
    install_type(site, "present", api=1)
    registry = PluginRegistry()
    with pytest.raises(PluginError, match="needs plugin API 99, but this keybroker provides 1"):
        registry.declaration("future")
    assert registry.declaration("present").connector_type == "present"
    listed = {
        t["connector_type"]: t
        for t in json.loads(run("connector", "list-types", "-o", "json").output)
    }
    assert listed["future"]["local"] is False
    assert "upgrade keybroker" in listed["future"]["local_problem"]
    plugins = json.loads(run("plugin", "list", "-o", "json").output)["plugins"]
    future = next(p for p in plugins if p["distribution"] == "kb-future")
    assert future["entry_points"][0]["status"] == "incompatible"


def test_plugins_can_be_restricted_and_disabled(site: Path) -> None:
    install_type(site, "alpha", dist="kb-alpha")
    install_type(site, "beta", dist="kb-beta")
    env = {"PYTHONPATH": str(site)}
    only = keybroker(
        "connector", "list-types", "-o", "json", env={**env, "KEYBROKER_PLUGINS": "kb_Alpha"}
    )
    assert [t["connector_type"] for t in json.loads(only.stdout)] == ["alpha"]
    empty = keybroker("connector", "list-types", "-o", "json", env={**env, "KEYBROKER_PLUGINS": ""})
    assert {"alpha", "beta", "aws"} <= {t["connector_type"] for t in json.loads(empty.stdout)}
    without = keybroker(
        "connector",
        "list-types",
        "-o",
        "json",
        env={**env, "KEYBROKER_DISABLE_PLUGINS": "beta,aws"},
    )
    names = [t["connector_type"] for t in json.loads(without.stdout)]
    assert "alpha" in names and "beta" not in names and "aws" not in names
    refused = keybroker(
        "connector", "describe-type", "beta", env={**env, "KEYBROKER_DISABLE_PLUGINS": "beta"}
    )
    assert refused.returncode == 2
    assert "installed but disabled by KEYBROKER_DISABLE_PLUGINS" in refused.stderr
    shown = keybroker("plugin", "list", "-o", "json", env={**env, "KEYBROKER_PLUGINS": "kb-alpha"})
    points = {p["name"]: p for d in json.loads(shown.stdout)["plugins"] for p in d["entry_points"]}
    assert points["alpha"]["status"] == "loaded"
    assert points["beta"]["status"] == "disabled"
    assert points["beta"]["error"] == "not listed in KEYBROKER_PLUGINS"
    assert points["kubectl"]["status"] == "disabled"


def test_selection_matches_distributions_and_entry_points() -> None:
    selection = PluginSelection.from_env({"KEYBROKER_PLUGINS": "keybroker_aws, kubectl"})
    assert selection.allows("aws", "keybroker-aws")
    assert selection.allows("kubectl", "keybroker-kubernetes")
    assert not selection.allows("kubernetes", "keybroker-kubernetes")
    assert PluginSelection.from_env({}).allows("anything", None)


@pytest.mark.parametrize("value", ["", " ", ",", " , ,"])
def test_a_list_naming_nothing_counts_as_unset(value: str) -> None:
    for variable in ("KEYBROKER_PLUGINS", "KEYBROKER_DISABLE_PLUGINS"):
        selection = PluginSelection.from_env({variable: value})
        assert not selection.restricts, variable
        assert selection.allows("aws", "keybroker-aws"), variable


def test_a_declaration_pydantic_refuses_is_one_line_without_pydantic_jargon(site: Path) -> None:
    write_plugin(
        site,
        "kb-invalid",
        {
            "invalid_decl": "from keybroker.plugin import ResourceType\n"
            "THING = ResourceType(resource_type='thing')\n"
        },
        {"keybroker.connector_types": {"invalid": "invalid_decl"}},
    )
    plugins = json.loads(run("plugin", "list", "-o", "json").output)["plugins"]
    (point,) = next(p for p in plugins if p["distribution"] == "kb-invalid")["entry_points"]
    assert point["status"] == "failed"
    assert point["error"] == "cannot import invalid_decl: invalid ResourceType: name: missing"


def _declaration(schema: type[AuthConfig], **method: object) -> ConnectorType:
    return ConnectorType(
        connector_type="demo",
        name="demo",
        implementation="demo_impl",
        auth_methods=[AuthMethod(auth_method="key", name="k", config_schema=schema, **method)],
        resource_types=[ResourceType(resource_type="demo-thing", name="thing")],
    )


def test_declaration_rules_name_each_problem() -> None:
    class Leaky(AuthConfig):
        api_token: str
        client_key: str | None = None
        token_uri: str = "https://oauth2.example.com/token"
        public_key: Annotated[str, NotSecret()] = ""
        keys: list[SecretStr] = []

    problems = declaration_problems(_declaration(Leaky))
    assert any("'api_token' is named like a secret but typed as plain str" in p for p in problems)
    assert any("'client_key' is named like a secret" in p for p in problems)
    assert not any("token_uri" in p or "public_key" in p for p in problems)
    assert any("'keys' nests SecretStr" in p for p in problems)

    class Fine(AuthConfig):
        token: SecretStr

    assert declaration_problems(_declaration(Fine)) == []
    bounds = declaration_problems(
        _declaration(
            Fine,
            issues_temporary_credentials=True,
            min_expiration_seconds=900,
            default_expiration_seconds=600,
            max_expiration_seconds=3600,
        )
    )
    assert bounds == ["auth method 'key': default_expiration_seconds 600 is below min 900"]
    assert declaration_problems(_declaration(Fine, max_expiration_seconds=60)) == [
        "auth method 'key' sets max_expiration_seconds but issues no temporary credentials; "
        "set issues_temporary_credentials=True or leave the bounds out"
    ]
    twice = _declaration(Fine).model_copy(
        update={
            "resource_types": [
                ResourceType(resource_type="x", name="x"),
                ResourceType(resource_type="x", name="x", auth_methods=["nope"]),
            ]
        }
    )
    problems = declaration_problems(twice)
    assert "resource type 'x' is declared twice" in problems
    assert any("names undeclared auth method(s) nope" in p for p in problems)
    assert looks_secret("aws_secret_access_key") and not looks_secret("aws_access_key_id")


def test_config_as_raises_a_real_error() -> None:
    class One(AuthConfig):
        token: SecretStr

    class Other(AuthConfig):
        url: str

    one = One(token=SecretStr("t0ken"))
    assert config_as(one, One) is one
    with pytest.raises(PluginError, match="expected the validated attributes of Other, got One"):
        config_as(one, Other)
    with pytest.raises(PluginError, match="got NoneType"):
        config_as(None, One)


def test_basic_type_helpers_need_no_basic_plugin_and_validate_where_used() -> None:
    from keybroker.connector import Connector, utcnow

    source = Connector(name="cloud", connector_type="aws", auth_method="secret-key")
    cluster = kubernetes_cluster_client(
        source, server="https://ABC.example.com:443/", token="t0ken", expires_at=utcnow()
    )
    assert (cluster.connector_type, cluster.auth_method) == ("kubernetes", "token")
    assert cluster.resource_id == "abc.example.com"
    assert cluster.secret_values() == ["t0ken"]
    registry = PluginRegistry()
    method = registry.declaration("kubernetes").auth_method("token")
    assert method is not None
    cluster.auth_config(method.config_schema)  # the kubernetes plugin accepts it
    registry_client = docker_registry_client(
        source,
        registry="https://123456789012.dkr.ecr.eu-west-1.amazonaws.com/",
        username="AWS",
        password="p4ss",
    )
    assert registry_client.resource_id == "123456789012.dkr.ecr.eu-west-1.amazonaws.com"
    with pytest.raises(OperationError, match="not a valid Kubernetes API server URL"):
        kubernetes_cluster_client(source, server="ftp://x", token="t")
    with pytest.raises(OperationError, match="empty token"):
        kubernetes_cluster_client(source, server="https://x", token="")


TOOL = textwrap.dedent(
    """
    from pathlib import Path
    from keybroker.plugin import LocalTool, LoginResult, hookimpl, write_private

    @hookimpl
    def declare_local_tool():
        return LocalTool(tool="{tool}", name="{tool}", connector_types=["httpbasic"])

    @hookimpl
    def configure_local_tool(request):
        path = Path(request.refresh_env["KEYBROKER_CONFIG_DIR"]).parent / "{tool}.txt"
        {body}
        write_private(path, request.client.configuration["username"])
        return LoginResult(tool="{tool}", messages=["wrote " + path.name])
    """
)


@pytest.fixture
def web() -> Iterator[BasicAuthService]:
    with basic_auth_service() as service:
        yield service


def test_login_configures_every_fitting_tool_or_the_chosen_ones(
    site: Path, web: BasicAuthService, isolated_home: Path
) -> None:
    write_plugin(
        site,
        "kb-tools",
        {
            "tool_podman": TOOL.format(tool="podman", body="pass"),
            "tool_broken": TOOL.format(tool="flaky", body="raise OSError('disk full')"),
        },
        {"keybroker.plugins": {"podman": "tool_podman", "flaky": "tool_broken"}},
    )
    registered = run(
        "connector",
        "register",
        "web",
        "-t",
        "httpbasic",
        f"url={web.url}",
        f"username={web.username}",
        f"password={web.password}",
        "-r",
        "http-server",
    )
    assert registered.exit_code == 0, registered.output
    chosen = run("connector", "login", "web", "--tool", "podman")
    assert chosen.exit_code == 0, chosen.output
    assert "wrote podman.txt" in chosen.output
    assert not (isolated_home / "netrc").exists()
    every = run("connector", "login", "web")
    assert every.exit_code == 1
    assert "Updated" in every.output and "wrote podman.txt" in every.output
    assert "Error: flaky: disk full" in every.output
    assert (isolated_home / "netrc").read_text().count("machine 127.0.0.1") == 1
    unknown = run("connector", "login", "web", "--tool", "kubectl")
    assert unknown.exit_code == 2
    assert "tools that do: flaky, netrc, podman" in unknown.output


def test_tool_plugins_are_checked_when_loaded(site: Path) -> None:
    write_plugin(
        site,
        "kb-bad-tools",
        {
            "tool_undeclared": "from keybroker.plugin import hookimpl\n\n"
            "@hookimpl\ndef configure_local_tool(request):\n    return None\n",
            "tool_typo": "from keybroker.plugin import hookimpl\n\n"
            "@hookimpl\ndef audit_events(event):\n    pass\n",
            "tool_clash": TOOL.format(tool="netrc", body="pass"),
        },
        {
            "keybroker.plugins": {
                "undeclared": "tool_undeclared",
                "typo": "tool_typo",
                "clash": "tool_clash",
            }
        },
    )
    plugins = json.loads(run("plugin", "list", "-o", "json").output)["plugins"]
    points = {p["name"]: p for d in plugins for p in d["entry_points"]}
    assert (
        "implements configure_local_tool but not declare_local_tool"
        in points["undeclared"]["error"]
    )
    assert "did you mean 'audit_event'?" in points["typo"]["error"]
    clash = "local tool 'netrc' is declared by several plugins"
    assert clash in points["clash"]["error"]
    assert clash in points["httpbasic-netrc"]["error"]
    registry = PluginRegistry()
    assert [t.tool for t in registry.local_tools()] == ["docker", "kubectl"]


def test_unknown_type_names_the_installed_ones() -> None:
    with pytest.raises(NotFoundError, match="unknown connector type 'nope'; known types: aws"):
        PluginRegistry().declaration("nope")
