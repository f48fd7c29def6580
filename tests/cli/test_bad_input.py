"""A sweep of malformed invocations across every command.

Each must fail with exit code 2 (bad usage) or 1 (a failed operation), one
clean ``Error:`` line that is the last thing shown, no traceback, no
"unexpected" error, nothing on standard output, and nothing stored or changed:
not the store, not a tool's configuration file.

The cases run in-process on one store shared by the module (registering the
connectors they use once); a handful run again as real processes.
"""

from __future__ import annotations

import hashlib
import os
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner

from keybroker.cli.context import CliState
from keybroker.cli.main import cli
from keybroker.service import ConnectorService
from peers.basic_auth_server import BasicAuthService, basic_auth_service
from peers.cli_runner import keybroker

CONTROL = re.compile(r"[\x00-\x09\x0b-\x1f\x7f-\x9f\u202a-\u202e\u2066-\u2069]")
# How an error nobody anticipated is reported ("unexpected KeyError; ... report it").
INTERNAL_ERROR = re.compile(r"unexpected [A-Z]\w+|report it")
LONG = "x" * 5000
HOSTILE_NAMES = ["", " ", "\x1b[31mred", "a\x00b", "名前", LONG, "--", "-", "web\x1b]0;t\x07"]
FILES = "{files}"  # replaced by the module's directory of bad files


@pytest.fixture(scope="module")
def web() -> Iterator[BasicAuthService]:
    with basic_auth_service() as service:
        yield service


@pytest.fixture(scope="module")
def world(
    tmp_path_factory: pytest.TempPathFactory, web: BasicAuthService
) -> Iterator[dict[str, Any]]:
    """One store with connectors 'web' (multi-type) and 'scoped' (/reports), bad files."""
    home = tmp_path_factory.mktemp("sweep")
    files = home / "files"
    files.mkdir()
    (files / "binary").write_bytes(b"\xff\xfe\x00\x01")
    (files / "huge").write_bytes(b"a" * (64 * 1024 + 1))
    (files / "adir").mkdir()
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("KEYBROKER_CONFIG_DIR", str(home / "keybroker"))
        service = ConnectorService()
        state = {"service": service, "home": home, "files": files, "web": web}
        common = [f"url={web.url}", f"username={web.username}", f"password={web.password}"]
        for args in (
            ["register", "web", "-t", "httpbasic", *common],
            ["register", "scoped", "-t", "httpbasic", *common, "-r", "http-endpoint"],
        ):
            if args[1] == "scoped":
                args += ["--resource-id", "/reports"]
            result = invoke(state, ["connector", *args])
            assert result.exit_code == 0, result.output
        yield state


def invoke(world: dict[str, Any], args: list[str]) -> Any:
    args = [a.replace(FILES, str(world["files"])) for a in args]
    return CliRunner().invoke(cli, args, obj=CliState(service=world["service"]))


def snapshot(world: dict[str, Any], home: Path) -> Any:
    """The store (with secrets) and every file under the module's and the test's home."""
    service: ConnectorService = world["service"]
    connectors = [
        service.get(str(c.id), show_secrets=True).model_dump(mode="json") for c in service.list()
    ]
    files = {}
    for root in (home, world["home"] / "keybroker"):
        for path in sorted(root.rglob("*")):
            if path.is_file() and not path.name.startswith("keybroker.db"):
                files[str(path)] = hashlib.sha256(path.read_bytes()).hexdigest()
    return connectors, files


def cases() -> list[tuple[str, list[str]]]:
    """(id, arguments after 'keybroker') of a few hundred bad invocations."""
    register = ["connector", "register"]
    good = ["url=http://127.0.0.1:9", "username=u", "password=p"]
    table: list[list[str]] = [
        [],  # no command: usage is printed, exit 2
        ["--nope"],
        ["nosuchcommand"],
        ["connector", "nosuch"],
        ["--debug", "connector", "nosuch"],
        ["connector", "list", "extra-argument"],
        ["connector", "--output", "json"],
    ]
    outputs = ["-o", "xml"], ["-o"], ["--output", ""], ["-o", "JSON"], ["-o", "\x1b[31m"]
    for command in (
        ["list-types"],
        ["describe-type", "httpbasic"],
        ["list"],
        ["describe", "web"],
        ["verify", "web"],
        ["list-resources"],
        ["register", "x", "-t", "httpbasic", *good],
        ["update", "web"],
    ):
        table += [["connector", *command, *o] for o in outputs]
    # describe-type
    for name in [*HOSTILE_NAMES, "nope", "HTTPBASIC"]:
        table.append(["connector", "describe-type", name])
    table += [
        ["connector", "describe-type"],
        ["connector", "describe-type", "httpbasic", "-a", "token"],
        ["connector", "describe-type", "httpbasic", "-a", ""],
        ["connector", "describe-type", "httpbasic", "-r", "bucket"],
        ["connector", "describe-type", "httpbasic", "-r", ""],
        ["connector", "describe-type", "httpbasic", "-a", "password", "-r", "http-server"],
        ["connector", "describe-type", "httpbasic", "extra"],
        ["connector", "describe-type", "aws", "-a", "\x1b[2J"],
    ]
    # register: names, types, methods, attributes, files, labels, scope, expiry
    for name in [*HOSTILE_NAMES, "web", "a b", "a/b", ".hidden", "_x", "x" * 129, "a\nb"]:
        if name in ("", "-", "--") or name.startswith("-"):
            continue
        table.append([*register, name, "-t", "httpbasic", *good])
    table += [
        [*register],
        [*register, "x"],
        [*register, "x", *good],
        [*register, "x", "-t"],
        [*register, "x", "-t", "", *good],
        [*register, "x", "-t", "nope", *good],
        [*register, "x", "-t", "\x1b[31m", *good],
        [*register, "x", "-t", LONG, *good],
        [*register, "x", "-t", "httpbasic", "-a", "token", *good],
        [*register, "x", "-t", "httpbasic", "-a", "", *good],
        [*register, "x", "-t", "aws", *good],  # several methods, none chosen
        [*register, "x", "-t", "httpbasic"],
        [*register, "x", "-t", "httpbasic", "url=http://x"],
        [*register, "x", "-t", "httpbasic", *good, "colour=red"],
        [*register, "x", "-t", "httpbasic", *good, "url=http://y"],
        [*register, "x", "-t", "httpbasic", *good, "username=v"],
        [*register, "x", "-t", "httpbasic", *good, "stray"],
        [*register, "x", "-t", "httpbasic", *good, "=value"],
        [*register, "x", "-t", "httpbasic", *good, "--=value"],
        [*register, "x", "-t", "httpbasic", *good, "1abc=value"],
        [*register, "x", "-t", "httpbasic", *good, "na.me=value"],
        [*register, "x", "-t", "httpbasic", *good, "námé=value"],
        [*register, "x", "-t", "httpbasic", *good, "\x1b[31m=value"],
        [*register, "x", "-t", "httpbasic", *good, f"{LONG}=value"],
        [*register, "x", "-t", "httpbasic", *good, "-x"],
        [*register, "x", "-t", "httpbasic", *good, "-l", "oops"],
        [*register, "x", "-t", "httpbasic", *good, "-l", "=v"],
        [*register, "x", "-t", "httpbasic", *good, "-l"],
        [*register, "x", "-t", "httpbasic", *good, "--auto-configure-option", "x"],
        [*register, "x", "-t", "httpbasic", *good, "--expiration-seconds", "60"],
        [*register, "x", "-t", "httpbasic", *good, "--expiration-seconds", "0"],
        [*register, "x", "-t", "httpbasic", *good, "--expiration-seconds", "-5"],
        [*register, "x", "-t", "httpbasic", *good, "--expiration-seconds", "abc"],
        [*register, "x", "-t", "httpbasic", *good, "--expiration-seconds", "1e400"],
        [*register, "x", "-t", "httpbasic", *good, "-r", "bucket"],
        [*register, "x", "-t", "httpbasic", *good, "-r", ""],
        [*register, "x", "-t", "httpbasic", *good, "--resource-id", "/reports"],
        [*register, "x", "-t", "httpbasic", *good, "-r", "http-endpoint", "--resource-id", ""],
        [*register, "x", "-t", "httpbasic", *good, "-r", "http-endpoint", "--resource-id", "a b"],
        [*register, "x", "-t", "httpbasic", *good, "-r", "http-endpoint", "--resource-id", LONG],
        [*register, "x", "-t", "httpbasic", *good, "-r", "http-server", "--resource-id", "h:1"],
        [*register, "x", "-t", "httpbasic", *good, "--auto-configure", "-a", "token"],
        [*register, "x", "-t", "docker", "--auto-configure"],
        [*register, "x", "-t", "aws", "-a", "secret-key", "region=nowhere", *good[1:]],
        [*register, "x", "-t", "aws", "-a", "iam-role", "region=eu-west-1", "role_arn=bad"],
        [*register, "x", "-t", "aws", "-a", "implicit", "region=eu-west-1", "--expiration-seconds"],
        [*register, "x", "-t", "aws", "-a", "session-token", "--expiration-seconds", "10"],
        [
            *register,
            "x",
            "-t",
            "aws",
            "-a",
            "federation-token",
            "region=eu-west-1",
            "aws_access_key_id=a",
            "aws_secret_access_key=b",
            "policy_arns=[oops",
        ],
        [
            *register,
            "x",
            "-t",
            "aws",
            "-a",
            "federation-token",
            "region=eu-west-1",
            "region=eu-west-2",
            "aws_access_key_id=a",
            "aws_secret_access_key=b",
        ],
        [
            *register,
            "x",
            "-t",
            "aws",
            "-a",
            "iam-role",
            "region=eu-west-1",
            "aws_access_key_id=a",
            "aws_secret_access_key=b",
            "role_arn=arn:aws:iam::1:role/r",
            'policy_arns={"a": 1}',
        ],
        [*register, "x", "-t", "kubernetes", "-a", "token", "server=not a url", "token=t"],
        [*register, "x", "-t", "httpbasic", "url=http://127.0.0.1:9", "username=u", "password=p"],
    ]
    for value in ["@", f"@{FILES}/missing", f"@{FILES}/adir", f"@{FILES}/binary"]:
        for attribute in ("password", "url"):
            extra = [f"{attribute}={value}", *(g for g in good if not g.startswith(attribute))]
            table.append([*register, "x", "-t", "httpbasic", *extra])
    table += [
        [*register, "x", "-t", "httpbasic", *good[:2], f"password=@{FILES}/huge"],
        [*register, "x", "-t", "httpbasic", *good[:2], "password=@/dev/zero"],
        [*register, "x", "-t", "httpbasic", *good[:2], "password=@/dev/null/x"],
        [*register, "x", "-t", "httpbasic", *good[:2], "password=@~nosuchuser/x"],
    ]
    # list, list-resources, list-types
    table += [
        ["connector", "list", "-t", "nope"],
        ["connector", "list", "-t", ""],
        ["connector", "list", "-t", "\x1b[31m"],
        ["connector", "list", "-l", "=x"],
        ["connector", "list", "-l", ""],
        ["connector", "list", "-n"],
        ["connector", "list", "--label"],
        ["connector", "list", "--bogus"],
        ["connector", "list-resources", "-t", "nope"],
        ["connector", "list-resources", "--resource-id", "/reports"],
        ["connector", "list-resources", "extra"],
        ["connector", "list-types", "extra"],
        ["connector", "list-types", "-a"],
    ]
    # commands that take a connector
    for command in ("describe", "verify", "update", "login", "delete"):
        for name in [*HOSTILE_NAMES, "ghost", "WEB", "00000000", "web "]:
            if name in ("-", "--") or name.startswith("-"):
                continue
            extra = ["--yes"] if command == "delete" else []
            table.append(["connector", command, name, *extra])
        table.append(["connector", command])
        table += [
            ["connector", command, "web", "--bogus"],
            ["connector", command, "web", "extra", "args"],
        ]
    for command in ("describe", "verify", "login"):
        table += [
            ["connector", command, "web", "-r", "bucket"],
            ["connector", command, "web", "-r", ""],
            ["connector", command, "web", "-r"],
            ["connector", command, "web", "--resource-id", "/reports"],
            ["connector", command, "web", "-r", "http-endpoint", "--resource-id", "bad path!"],
            ["connector", command, "web", "-r", "http-endpoint", "--resource-id", "\x1b[2J"],
            ["connector", command, "scoped", "-r", "http-server"],
            ["connector", command, "scoped", "--resource-id", "/metrics"],
        ]
    table += [
        ["connector", "verify", "web", "-r", "http-endpoint", "--resource-id", "/nope"],
        ["connector", "login", "web", "-r", "http-endpoint"],  # several endpoints: choose one
        ["connector", "describe", "web", "-x", "-r", "bucket"],
    ]
    # update
    update = ["connector", "update", "web"]
    table += [
        [*update, "colour=red"],
        [*update, "password=wrong"],  # verification fails: nothing changes
        [*update, "url=http://127.0.0.1:9"],
        [*update, "username="],
        [*update, "stray"],
        [*update, "password=p", "password=q"],
        [*update, f"password=@{FILES}/missing"],
        [*update, f"password=@{FILES}/binary"],
        [*update, "password=@"],
        [*update, "-a", "token"],
        [*update, "-r", "bucket"],
        [*update, "-r", "http-endpoint", "--resource-id", "bad path!"],
        [*update, "--resource-id", "/nope"],
        [*update, "--new-name", ""],
        [*update, "--new-name", "a b"],
        [*update, "--new-name", "scoped"],
        [*update, "--new-name", "\x1b[31m"],
        [*update, "--new-name", "x" * 129],
        [*update, "-l", "oops"],
        [*update, "-l", "=v"],
        [*update, "--expiration-seconds", "60"],
        [*update, "--expiration-seconds", "0"],
        [*update, "--expiration-seconds", "x"],
        [*update, "--remove-attr", "url"],
        [*update, "--remove-attr", "password"],
        ["connector", "update", "scoped", "--resource-id", "bad path!"],
        ["connector", "update", "scoped", "-r", "bucket"],
    ]
    for name in HOSTILE_NAMES:
        if name and not name.startswith("-"):
            table.append([*update, "--new-name", name])
            table.append(["connector", "list", "-t", name])
            table.append(["connector", "list-resources", "-t", name])
            table.append(["connector", "describe-type", "httpbasic", "-a", name])
    for label in ["=", " =x", "novalue", "\x1b[31m"]:
        table.append([*register, "x", "-t", "httpbasic", *good, "-l", label])
        table.append([*update, "-l", label])
    table += [
        [*register, "x", "-i"],  # the answers (standard input) end at once
        [*register, "x", "-i", "-t", "httpbasic"],
        [*register, "x", "-i", "-t", "httpbasic", "url=http://x", "username=u"],
        [*register, "web", "-i"],
    ]
    # delete
    table += [
        ["connector", "delete", "web", "nosuch", "--yes"],
        ["connector", "delete", "nosuch", "web", "ghost", "--yes"],
        ["connector", "delete", "web"],  # no terminal to confirm on, no --yes
        ["connector", "delete", "web", "scoped"],
        ["connector", "delete", "--yes"],
    ]
    return [(f"{i:03d}-{' '.join(args)[:60]!r}", args) for i, args in enumerate(table)]


CASES = cases()


def test_the_sweep_is_broad() -> None:
    assert len(CASES) >= 300
    commands = {args[1] for _, args in CASES if len(args) > 1 and args[0] == "connector"}
    assert commands >= {
        "list-types",
        "describe-type",
        "register",
        "list",
        "describe",
        "verify",
        "update",
        "delete",
        "list-resources",
        "login",
    }


@pytest.mark.parametrize("args", [c[1] for c in CASES], ids=[c[0] for c in CASES])
def test_bad_input_fails_cleanly_and_changes_nothing(
    world: dict[str, Any], isolated_home: Path, args: list[str]
) -> None:
    before = snapshot(world, isolated_home)
    result = invoke(world, args)
    assert result.exit_code in (1, 2), result.output
    assert isinstance(result.exception, SystemExit), repr(result.exception)
    assert result.stdout == "", result.stdout
    lines = [line for line in result.stderr.splitlines() if line.strip()]
    errors = [line for line in lines if line.startswith("Error:")]
    if args:  # bare 'keybroker' shows its usage (and exits 2), like every click program
        assert len(errors) == 1 and lines[-1] == errors[0], result.stderr
        assert not CONTROL.search(errors[0])
    assert not INTERNAL_ERROR.search(result.output)
    assert "Traceback" not in result.output
    assert snapshot(world, isolated_home) == before


SUBPROCESS_CASES = [
    ["connector", "describe-type", "nope"],
    ["connector", "register", "x", "-t", "httpbasic", "password=@/nonexistent/file"],
    ["connector", "list", "--bogus"],
    ["connector", "describe", "\x1b[31mghost"],
    ["connector", "delete", "web", "nosuch", "--yes"],
    ["connector", "delete", "web"],
    ["connector", "verify", "web", "-r", "http-endpoint", "--resource-id", "/nope"],
    ["connector", "update", "web", "password=wrong"],
]


@pytest.mark.parametrize("args", SUBPROCESS_CASES)
def test_bad_input_in_a_real_process(world: dict[str, Any], args: list[str]) -> None:
    before = snapshot(world, world["home"])
    env = {"KEYBROKER_CONFIG_DIR": str(world["home"] / "keybroker"), "COLUMNS": ""}
    result = keybroker(*args, env={**os.environ, **env})
    assert result.returncode in (1, 2), result.stderr
    assert result.stdout == ""
    lines = result.stderr.strip().splitlines()
    assert lines[-1].startswith("Error:") and [ln for ln in lines if "Error" in ln] == lines[-1:]
    assert not CONTROL.search(lines[-1])
    assert not INTERNAL_ERROR.search(result.stderr) and "Traceback" not in result.stderr
    assert snapshot(world, world["home"]) == before
