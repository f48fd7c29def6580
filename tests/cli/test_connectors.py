"""Registering, listing, verifying, updating and using connectors, in-process."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

from peers.basic_auth_server import BasicAuthService
from peers.cli_runner import run
from peers.httpbasic import register_web as register


def test_full_lifecycle(web: BasicAuthService, tmp_path: Path) -> None:
    created = register(web, "web", "-l", "team=data", "-d", "reporting service")
    assert created.exit_code == 0, created.output
    assert "verified and registered" in created.output

    listed = run("connector", "list")
    assert listed.exit_code == 0
    header = listed.output.splitlines()[1]
    assert "ACTIVE" not in header  # no stacks here: nothing is "active" (docs/cli.md)
    for column in [
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

    deleted = run("connector", "delete", "web", "--yes")
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
        (["-t", "httpbasic", "url=http://x"], "missing required attributes 'username', 'password'"),
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
        (["-t", "httpbasic", "stray"], "'stray' is neither an option nor an attribute"),
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
    listed = run("connector", "list-resources", "-o", "json")
    assert listed.exit_code == 1  # scripts can tell that a connector could not be checked
    data = json.loads(listed.stdout)
    by_name = {r["connector_name"]: r for r in data}
    assert "cannot reach" in by_name["offline"]["error"]
    assert by_name["web"]["error"] is None
    table = run("connector", "list-resources")
    assert table.exit_code == 1
    assert "error: cannot reach" in table.stdout and "web" in table.stdout
    assert "1 connector(s) could not be fully checked" in table.stderr


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
    # a resource id filter matches every connector that reaches it, "one" through its wider scope
    assert names("-r", "http-endpoint", "--resource-id", "reports") == ["one", "two"]
    assert names("-r", "http-endpoint", "--resource-id", "/metrics") == ["one"]
    assert names("-n", "tw") == ["two"]
    assert names("-t", "httpbasic", "-r", "http-endpoint") == ["one", "two"]


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


@pytest.mark.parametrize(
    ("command", "message"),
    [
        (["list", "-t", "nope"], "unknown connector type 'nope'"),
        (["list", "-l", "=x"], "is not a label filter"),
        (["list-resources", "-t", "nope"], "unknown connector type 'nope'"),
        (
            ["list-resources", "--resource-id", "/reports"],
            "-r/--resource-type: a resource id needs a resource type",
        ),
        (["list", "--resource-id", "/reports"], "a resource id filter needs a resource type"),
        (["list", "-r", "nosuch"], "unknown resource type 'nosuch'; valid resource types:"),
        (
            ["list-resources", "-r", "nosuch"],
            "unknown resource type 'nosuch'; valid resource types:",
        ),
        (["list-types", "-r", "nosuch"], "unknown resource type 'nosuch'; valid resource types:"),
        (["list-types", "-a", "nosuch"], "unknown auth method 'nosuch'; valid auth methods:"),
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
