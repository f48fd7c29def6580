"""The ``keybroker connector`` CLI end to end, with the example ``httpbasic`` plugin.

The plugin is installed in the environment like any third-party plugin and
talks to a real HTTP service with basic auth started by the tests.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
import yaml
from click.testing import CliRunner, Result

from keybroker.cli.context import CliState
from keybroker.cli.main import cli
from peers.basic_auth_server import BasicAuthService, basic_auth_service
from peers.plugin_install import write_plugin


@pytest.fixture
def web() -> Iterator[BasicAuthService]:
    with basic_auth_service() as service:
        yield service


def run(*args: str, input: str | None = None) -> Result:
    """Invoke the CLI in-process on the embedded default store of the test's config dir."""
    return CliRunner().invoke(cli, list(args), obj=CliState(), input=input)


def register(web: BasicAuthService, name: str = "web", *extra: str) -> Result:
    return run(
        "connector",
        "register",
        name,
        "-t",
        "httpbasic",
        f"--url={web.url}",
        f"username={web.username}",
        f"password={web.password}",
        *extra,
    )


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
    assert "yes" in password_row  # required and secret
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


def test_full_lifecycle(web: BasicAuthService, tmp_path: Path) -> None:
    created = register(web, "web", "-l", "team=data", "-d", "reporting service")
    assert created.exit_code == 0, created.output
    assert "verified and registered" in created.output

    listed = run("connector", "list")
    assert listed.exit_code == 0
    header = listed.output.splitlines()[1]
    for column in [
        "ACTIVE",
        "NAME",
        "ID",
        "TYPE",
        "RESOURCE TYPES",
        "RESOURCE NAME",
        "SHARED",
        "OWNER",
        "EXPIRES IN",
        "LABELS",
    ]:
        assert column in header
    assert "web" in listed.output and "team:data" in listed.output
    assert web.password not in listed.output

    described = run("connector", "describe", "web")
    assert "[HIDDEN]" in described.output and web.password not in described.output
    shown = json.loads(run("connector", "describe", "web", "-x", "-o", "json").output)
    assert shown["secrets"]["password"] == web.password

    verified = run("connector", "verify", "web", "-r", "http-endpoint")
    assert verified.exit_code == 0, verified.output
    assert "/metrics" in verified.output and "/reports" in verified.output

    single = run("connector", "verify", "web", "-r", "http-endpoint", "--resource-id", "reports/")
    assert single.exit_code == 0 and "/reports" in single.output

    resources = run("connector", "list-resources")
    assert resources.exit_code == 0
    for column in [
        "CONNECTOR ID",
        "CONNECTOR NAME",
        "CONNECTOR TYPE",
        "RESOURCE TYPE",
        "RESOURCE NAMES",
    ]:
        assert column in resources.output

    netrc = Path(os.environ["NETRC"])
    logged_in = run("connector", "login", "web", "-r", "http-server")
    assert logged_in.exit_code == 0, logged_in.output
    assert "127.0.0.1" in netrc.read_text()

    updated = run("connector", "update", "web", "--remove-label", "team", "-l", "env=dev")
    assert updated.exit_code == 0, updated.output
    assert json.loads(run("connector", "describe", "web", "-o", "json").output)["labels"] == {
        "env": "dev"
    }

    deleted = run("connector", "delete", "web")
    assert deleted.exit_code == 0 and "Deleted connector 'web'" in deleted.output
    assert json.loads(run("connector", "list", "-o", "json").output) == []


def test_wrong_password_fails_and_stores_nothing(web: BasicAuthService) -> None:
    result = run(
        "connector",
        "register",
        "web",
        "-t",
        "httpbasic",
        f"url={web.url}",
        "username=alice",
        "password=wrong-password",
    )
    assert result.exit_code == 1
    assert "refused the credentials" in result.output
    assert "wrong-password" not in result.output
    assert json.loads(run("connector", "list", "-o", "json").output) == []


def test_duplicate_name_is_refused_before_verification(web: BasicAuthService) -> None:
    assert register(web).exit_code == 0
    before = len(web.requests)
    again = register(web)
    assert again.exit_code == 2
    assert "already exists" in again.output
    assert len(web.requests) == before  # no verification request was sent


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["-t", "nope"], "unknown connector type 'nope'"),
        (["-t", "httpbasic", "-a", "token"], "valid auth methods: password"),
        (["-t", "httpbasic", "url=http://x"], "missing required attribute 'username'"),
        (
            ["-t", "httpbasic", "url=http://x", "username=a", "password=b", "colour=red"],
            "unknown attribute 'colour'",
        ),
        (
            [
                "-t",
                "httpbasic",
                "url=http://x",
                "username=a",
                "password=b",
                "-r",
                "http-endpoint",
                "--resource-id",
                "not a path!",
            ],
            "invalid endpoint 'not a path!'",
        ),
        (
            ["-t", "httpbasic", "url=http://x", "username=a", "password=b", "-r", "bucket"],
            "valid resource types: http-server, http-endpoint",
        ),
        (
            ["-t", "httpbasic", "url=http://x", "username=a", "password=b", "-l", "oops"],
            "'oops' is not a label",
        ),
        (
            [
                "-t",
                "httpbasic",
                "url=http://x",
                "username=a",
                "password=b",
                "--expiration-seconds",
                "60",
            ],
            "does not issue temporary credentials",
        ),
        (["-t", "httpbasic", "stray"], "unexpected argument 'stray'"),
        (["url=http://x"], "missing option '-t'"),
    ],
)
def test_register_bad_input(args: list[str], message: str) -> None:
    result = run("connector", "register", "bad", *args)
    assert result.exit_code == 2, result.output
    assert message in result.output
    assert "Traceback" not in result.output
    assert json.loads(run("connector", "list", "-o", "json").output) == []


@pytest.mark.parametrize(
    "command",
    [
        ["describe", "ghost"],
        ["verify", "ghost"],
        ["update", "ghost", "-l", "a=b"],
        ["delete", "ghost"],
        ["login", "ghost"],
    ],
)
def test_unknown_connector(command: list[str]) -> None:
    result = run("connector", *command)
    assert result.exit_code == 2
    assert "no connector named 'ghost'" in result.output


def test_failed_update_leaves_the_connector_unchanged(web: BasicAuthService) -> None:
    assert register(web).exit_code == 0
    before = json.loads(run("connector", "describe", "web", "-x", "-o", "json").output)
    failed = run("connector", "update", "web", "password=not-the-password", "-l", "x=y")
    assert failed.exit_code == 1
    after = json.loads(run("connector", "describe", "web", "-x", "-o", "json").output)
    assert after == before


def test_no_verify_stores_unreachable_connector_and_list_resources_shows_its_error(
    web: BasicAuthService,
) -> None:
    assert register(web).exit_code == 0
    offline = run(
        "connector",
        "register",
        "offline",
        "-t",
        "httpbasic",
        "url=http://127.0.0.1:1",
        "username=a",
        "password=b",
        "--no-verify",
    )
    assert offline.exit_code == 0 and "without verification" in offline.output
    data = json.loads(run("connector", "list-resources", "-o", "json").output)
    by_name = {r["connector_name"]: r for r in data}
    assert "cannot reach" in by_name["offline"]["error"]
    assert by_name["web"]["error"] is None
    table = run("connector", "list-resources")
    assert "error: cannot reach" in table.output


def test_list_filters(web: BasicAuthService) -> None:
    assert register(web, "one", "-l", "env=prod").exit_code == 0
    assert register(web, "two", "-r", "http-endpoint", "--resource-id", "/reports").exit_code == 0

    def names(*args: str) -> list[str]:
        result = run("connector", "list", "-o", "json", *args)
        assert result.exit_code == 0, result.output
        return [c["name"] for c in json.loads(result.output)]

    assert names() == ["one", "two"]
    assert names("-l", "env=prod") == ["one"]
    assert names("-l", "env") == ["one"]
    assert names("--resource-id", "/reports") == ["two"]
    assert names("-n", "tw") == ["two"]
    assert names("-t", "httpbasic", "-r", "http-endpoint") == ["one", "two"]


def test_interactive_registration_hides_the_password(web: BasicAuthService) -> None:
    answers = (
        "\n".join(
            [
                "httpbasic",
                "password",
                web.url,
                web.username,
                web.password,
                "http-endpoint",
                "/metrics",
            ]
        )
        + "\n"
    )
    result = run("connector", "register", "asked", "-i", input=answers)
    assert result.exit_code == 0, result.output
    assert web.password not in result.output
    stored = json.loads(run("connector", "describe", "asked", "-o", "json").output)
    assert stored["resource_id"] == "/metrics"
    assert stored["configuration"]["url"] == web.url


def test_describe_client_for_one_resource(web: BasicAuthService) -> None:
    assert register(web).exit_code == 0
    result = run(
        "connector",
        "describe",
        "web",
        "-r",
        "http-endpoint",
        "--resource-id",
        "/reports",
        "-o",
        "json",
    )
    assert result.exit_code == 0, result.output
    client = json.loads(result.output)
    assert client["resource_id"] == "/reports"
    assert client["secrets"] == {"password": "[HIDDEN]"}


# -- through a real process ---------------------------------------------------------------


def keybroker(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "keybroker", *args],
        capture_output=True,
        text=True,
        env={**os.environ, **(env or {})},
        timeout=60,
    )


def test_subprocess_round_trip_and_exit_codes(web: BasicAuthService) -> None:
    ok = keybroker(
        "connector",
        "register",
        "web",
        "-t",
        "httpbasic",
        f"url={web.url}",
        f"username={web.username}",
        f"password={web.password}",
    )
    assert ok.returncode == 0, ok.stderr
    assert "\r" not in ok.stderr and "Verifying" not in ok.stderr  # no spinner when piped
    listed = keybroker("connector", "list", "-o", "json")
    assert [c["name"] for c in json.loads(listed.stdout)] == ["web"]
    bad = keybroker("connector", "verify", "web", "-r", "http-endpoint", "--resource-id", "/nope")
    assert bad.returncode == 1
    assert bad.stderr.strip().startswith("Error:") and len(bad.stderr.strip().splitlines()) == 1
    usage = keybroker("connector", "register", "x", "-t", "nope")
    assert usage.returncode == 2
    debug = keybroker(
        "--debug", "connector", "verify", "web", "-r", "http-endpoint", "--resource-id", "/nope"
    )
    assert "Traceback" in debug.stderr and web.password not in debug.stderr


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


def test_shell_completion_script_and_connector_names(web: BasicAuthService) -> None:
    script = keybroker(env={"_KEYBROKER_COMPLETE": "bash_source"})
    assert script.returncode == 0 and "complete" in script.stdout
    assert register(web, "webapp").exit_code == 0
    completed = subprocess.run(
        [sys.executable, "-m", "keybroker"],
        env={
            **os.environ,
            "_KEYBROKER_COMPLETE": "bash_complete",
            "COMP_WORDS": "keybroker connector describe we",
            "COMP_CWORD": "3",
        },
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert "webapp" in completed.stdout


NEEDS_SDK_DECLARATION = """
from keybroker.hookspecs import hookimpl
from keybroker.types import AuthConfig, AuthMethod, ConnectorType, ResourceType

class Config(AuthConfig):
    token: str

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


@pytest.mark.parametrize(
    ("command", "message"),
    [
        (["list", "-t", "nope"], "unknown connector type 'nope'"),
        (["list", "-l", "=x"], "is not a label filter"),
        (["list-resources", "-t", "nope"], "unknown connector type 'nope'"),
        (["list-resources", "--resource-id", "/reports"], "--resource-id needs --resource-type"),
        (["list-types", "-o", "xml"], "'xml' is not one of"),
        (["verify", "web", "-r", "bucket"], "valid resource types: http-server, http-endpoint"),
        (
            ["login", "web", "-r", "http-endpoint", "--resource-id", "bad path!"],
            "invalid endpoint 'bad path!'",
        ),
        (["update", "web", "colour=red"], "unknown attribute 'colour'"),
    ],
)
def test_listing_and_using_bad_input(
    web: BasicAuthService, command: list[str], message: str
) -> None:
    assert register(web).exit_code == 0
    result = run("connector", *command)
    assert result.exit_code == 2, result.output
    assert message in result.output
    assert "Traceback" not in result.output


def test_debug_log_of_a_failing_plugin_hides_the_secret(tmp_path: Path) -> None:
    leaky = write_plugin(
        tmp_path / "site",
        "kb-leaky",
        {"kb_leaky.declaration": LEAKY_DECLARATION, "kb_leaky.impl": LEAKY_IMPL},
        {"keybroker.connector_types": {"leaky": "kb_leaky.declaration"}},
    )
    result = keybroker(
        "--debug",
        "connector",
        "register",
        "x",
        "-t",
        "leaky",
        "token=hunter2-very-secret",
        env={"PYTHONPATH": str(leaky)},
    )
    assert result.returncode == 1
    assert "hunter2-very-secret" not in result.stderr + result.stdout
    assert "***" in result.stderr  # the message and the debug traceback were scrubbed


LEAKY_DECLARATION = """
from pydantic import SecretStr
from keybroker.hookspecs import hookimpl
from keybroker.types import AuthConfig, AuthMethod, ConnectorType, ResourceType

class Config(AuthConfig):
    token: SecretStr

@hookimpl
def declare_connector_type():
    return ConnectorType(
        connector_type="leaky", name="Leaky", implementation="kb_leaky.impl",
        auth_methods=[AuthMethod(auth_method="token", name="token", config_schema=Config)],
        resource_types=[ResourceType(resource_type="thing", name="thing")],
    )
"""

LEAKY_IMPL = """
from keybroker.hookspecs import hookimpl

@hookimpl
def verify(connector, config, resource_type, resource_id):
    raise RuntimeError("server rejected token " + config.token.get_secret_value())
"""


def test_spinner_on_a_terminal_only(web: BasicAuthService) -> None:
    import pty

    assert register(web).exit_code == 0
    leader, follower = pty.openpty()
    try:
        process = subprocess.run(
            [sys.executable, "-m", "keybroker", "connector", "verify", "web"],
            stdout=subprocess.PIPE,
            stderr=follower,
            text=True,
            timeout=60,
        )
        os.close(follower)
        seen = b""
        while True:
            try:
                chunk = os.read(leader, 4096)
            except OSError:
                break
            if not chunk:
                break
            seen += chunk
    finally:
        os.close(leader)
    assert process.returncode == 0
    assert "Verifying connector 'web'" in seen.decode()  # shown on the terminal
    assert "Verifying" not in process.stdout  # never mixed into the output
    assert "correctly configured" in process.stdout
