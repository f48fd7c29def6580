"""Auth attributes on the command line: values read from files, list attributes."""

from __future__ import annotations

import json
import os
import threading
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import parse_qs

import pytest

from keybroker.cli.arguments import MAX_FILE_BYTES
from peers.basic_auth_server import BasicAuthService
from peers.cli_runner import run, run_json
from peers.moto_server import REGION, MotoServer, running_moto
from peers.plugin_install import plugin_on_path, write_plugin
from peers.recording_proxy import recording_proxy


def register(web: BasicAuthService, *attributes: str, name: str = "web") -> object:
    return run("connector", "register", name, "-t", "httpbasic", f"url={web.url}", *attributes)


def stored_names() -> list[str]:
    return [c["name"] for c in run_json("connector", "list")]


# -- @PATH -----------------------------------------------------------------------------


@pytest.mark.parametrize("ending", ["\n", "\r\n", ""])
def test_a_secret_read_from_a_file_loses_one_trailing_newline(
    web: BasicAuthService, tmp_path: Path, ending: str
) -> None:
    secret = tmp_path / "password.txt"
    secret.write_bytes((web.password + ending).encode())
    result = run(
        "connector",
        "register",
        "web",
        "-t",
        "httpbasic",
        f"url={web.url}",
        f"username={web.username}",
        f"password=@{secret}",
    )
    assert result.exit_code == 0, result.output  # the real service accepted the password
    shown = run_json("connector", "describe", "web", "-x")
    assert shown["secrets"]["password"] == web.password


def test_only_one_trailing_newline_is_removed(web: BasicAuthService, tmp_path: Path) -> None:
    # the password: the example plugin refuses a user name with a line break
    secret = tmp_path / "password.txt"
    secret.write_text("pw\n\n")
    result = register(web, "username=alice", f"password=@{secret}", "--no-verify")
    assert result.exit_code == 0, result.output
    assert run_json("connector", "describe", "web", "-x")["secrets"]["password"] == "pw\n"


def test_a_file_of_exactly_the_limit_is_read(web: BasicAuthService, tmp_path: Path) -> None:
    big = tmp_path / "big.txt"
    big.write_text("a" * MAX_FILE_BYTES)
    result = register(web, f"username=@{big}", "password=x", "--no-verify")
    assert result.exit_code == 0, result.output
    assert len(run_json("connector", "describe", "web")["configuration"]["username"]) == (
        MAX_FILE_BYTES
    )


def _bad_files(tmp_path: Path) -> dict[str, tuple[str, str]]:
    """name -> (path, expected problem)."""
    (tmp_path / "binary").write_bytes(b"\xff\xfe\x00\x01secret")
    (tmp_path / "latin1").write_bytes("caf\xe9\n".encode("latin-1"))
    (tmp_path / "nul").write_bytes(b"abc\x00def")
    (tmp_path / "huge").write_bytes(b"a" * (MAX_FILE_BYTES + 1))
    (tmp_path / "adir").mkdir()
    return {
        "missing": (str(tmp_path / "nope.txt"), "no such file"),
        "directory": (str(tmp_path / "adir"), "it is a directory"),
        "binary": (str(tmp_path / "binary"), "binary"),
        "latin1": (str(tmp_path / "latin1"), "not UTF-8 text (invalid byte at offset 3)"),
        "nul": (str(tmp_path / "nul"), "contains NUL bytes"),
        "huge": (str(tmp_path / "huge"), "larger than 64 KiB"),
        "device": ("/dev/zero", "not a regular file or a pipe"),
        "under a file": (str(tmp_path / "latin1" / "x"), "cannot use file"),
    }


@pytest.mark.parametrize(
    "case",
    ["missing", "directory", "binary", "latin1", "nul", "huge", "device", "under a file"],
)
def test_an_unusable_file_is_one_clear_error_and_nothing_is_sent_or_stored(
    web: BasicAuthService, tmp_path: Path, case: str
) -> None:
    path, problem = _bad_files(tmp_path)[case]
    result = register(web, "username=alice", f"password=@{path}")
    assert result.exit_code == 2, result.output
    error = result.output.strip().splitlines()[-1]
    assert error.startswith("Error: attribute 'password': cannot use file ")
    assert path in error and problem in error
    assert "unexpected" not in result.output and "Traceback" not in result.output
    assert web.requests == []  # nothing was verified
    assert stored_names() == []


def test_at_at_is_a_literal_at_and_a_lone_at_is_refused(web: BasicAuthService) -> None:
    literal = register(web, "username=@@alice", "password=@@", "--no-verify")
    assert literal.exit_code == 0, literal.output
    shown = run_json("connector", "describe", "web", "-x")
    assert shown["configuration"]["username"] == "@alice"
    assert shown["secrets"]["password"] == "@"
    lone = register(web, "username=@", "password=x", name="other")
    assert lone.exit_code == 2
    assert "attribute 'username': '@' needs a file path after it" in lone.output
    assert "'@@'" in lone.output


def test_a_value_from_a_pipe(web: BasicAuthService, tmp_path: Path) -> None:
    """``password=@<(pass show web)``: the shell hands over a pipe, not a file."""
    fifo = tmp_path / "fifo"
    os.mkfifo(fifo)

    def feed() -> None:
        with fifo.open("w") as writer:
            writer.write(web.password + "\n")

    feeder = threading.Thread(target=feed)
    feeder.start()
    result = register(web, f"username={web.username}", f"password=@{fifo}")
    feeder.join(10)
    assert result.exit_code == 0, result.output


def test_update_reads_files_the_same_way(web: BasicAuthService, tmp_path: Path) -> None:
    assert register(web, f"username={web.username}", f"password={web.password}").exit_code == 0
    missing = run("connector", "update", "web", f"password=@{tmp_path / 'gone'}")
    assert missing.exit_code == 2 and "no such file" in missing.output
    secret = tmp_path / "pw"
    secret.write_text(web.password + "\n")
    updated = run("connector", "update", "web", f"password=@{secret}")
    assert updated.exit_code == 0, updated.output


# -- list attributes ---------------------------------------------------------------------

LISTY_DECLARATION = """
from keybroker.hookspecs import hookimpl
from keybroker.types import AuthConfig, AuthMethod, ConnectorType, ResourceType

class Config(AuthConfig):
    owner: str
    tags: list[str]
    extras: list[str] | None = None

@hookimpl
def declare_connector_type():
    return ConnectorType(
        connector_type="listy", name="Lists", implementation="kb_listy.impl",
        auth_methods=[AuthMethod(auth_method="token", name="token", config_schema=Config)],
        resource_types=[ResourceType(resource_type="tag", name="tag", supports_instances=True)],
    )
"""

LISTY_IMPL = """
from keybroker.hookspecs import hookimpl

@hookimpl
def verify(connector, config, resource_type, resource_id):
    return [*config.tags, *(config.extras or [])]  # what the plugin was given, as resources
"""


@pytest.fixture
def listy(tmp_path: Path) -> Iterator[None]:
    """A plugin whose auth method has list attributes; it lists their values as resources."""
    site = write_plugin(
        tmp_path / "site",
        "kb-listy",
        {"kb_listy.declaration": LISTY_DECLARATION, "kb_listy.impl": LISTY_IMPL},
        {"keybroker.connector_types": {"listy": "kb_listy.declaration"}},
    )
    with plugin_on_path(site):
        yield


def register_listy(*attributes: str) -> object:
    return run("connector", "register", "l", "-t", "listy", "-r", "tag", *attributes)


@pytest.mark.usefixtures("listy")
@pytest.mark.parametrize(
    ("attributes", "expected"),
    [
        (["tags=a", "tags=b", "tags=c"], ["a", "b", "c"]),
        (["tags=a"], ["a"]),
        (['tags=["a", "b"]'], ["a", "b"]),
        (['--tags=["a,b", "c d"]'], ["a,b", "c d"]),
        (["tags=[]"], []),
        (["--tags", "x", "--tags", "y"], ["x", "y"]),
    ],
)
def test_list_attributes_by_repetition_or_json(attributes: list[str], expected: list[str]) -> None:
    result = register_listy("owner=me", *attributes, "-o", "json")
    assert result.exit_code == 0, result.output
    verified = json.loads(result.output)["verification"]["resources"][0]["resource_ids"]
    assert verified == expected  # what the plugin received
    assert run_json("connector", "describe", "l")["configuration"]["tags"] == expected


@pytest.mark.usefixtures("listy")
def test_a_list_from_a_file_and_a_repeated_plain_attribute(tmp_path: Path) -> None:
    tags = tmp_path / "tags.json"
    tags.write_text('["from", "file"]\n')
    result = register_listy("owner=me", f"tags=@{tags}", "-o", "json")
    assert result.exit_code == 0, result.output
    assert run_json("connector", "describe", "l")["configuration"]["tags"] == ["from", "file"]
    twice = run("connector", "register", "m", "-t", "listy", "owner=a", "owner=b", "tags=x")
    assert twice.exit_code == 2
    assert "attribute 'owner' is given twice; only list attributes may be repeated" in (
        twice.output
    )


@pytest.mark.usefixtures("listy")
@pytest.mark.parametrize(
    ("value", "message"),
    [
        ("[a", "attribute 'tags': not a valid JSON list"),
        ('["a",', "attribute 'tags': not a valid JSON list"),
        ("[1]", "attribute 'tags.0'"),
    ],
)
def test_a_malformed_json_list_is_refused(value: str, message: str) -> None:
    result = register_listy("owner=me", f"tags={value}")
    assert result.exit_code == 2, result.output
    assert message in result.output
    assert "unexpected" not in result.output
    assert run_json("connector", "list") == []


@pytest.mark.usefixtures("listy")
def test_update_replaces_a_list_and_describe_type_documents_the_syntax() -> None:
    assert register_listy("owner=me", "tags=a").exit_code == 0
    updated = run("connector", "update", "l", "tags=b", "tags=c", "extras=d")
    assert updated.exit_code == 0, updated.output
    assert run_json("connector", "verify", "l")["resources"][0]["resource_ids"] == ["b", "c", "d"]
    doc = run("connector", "describe-type", "listy", "-a", "token").output
    flat = " ".join(doc.split())
    assert "List attributes (tags, extras) take several values" in flat
    assert "tags=A tags=B" in flat and 'tags=\'["A", "B"]\'' in flat
    assert "@@" in flat  # the file syntax and its escape are documented too
    attributes = run_json("connector", "describe-type", "listy", "-a", "token")["attributes"]
    assert {a["name"]: a["type"] for a in attributes} == {
        "owner": "string",
        "tags": "list",
        "extras": "list",
    }


# -- the aws plugin's policy_arns, through to STS ------------------------------------------


@pytest.fixture(scope="module")
def moto(tmp_path_factory: pytest.TempPathFactory) -> Iterator[MotoServer]:
    with running_moto(tmp_path_factory.mktemp("moto") / "moto.log") as server:
        yield server


@pytest.mark.peer
def test_aws_policy_arns_reach_sts(moto: MotoServer) -> None:
    moto.reset()
    arns = ["arn:aws:iam::aws:policy/ReadOnlyAccess", "arn:aws:iam::aws:policy/AmazonS3ReadOnly"]
    with recording_proxy(moto.url) as proxy:
        registered = run(
            "connector",
            "register",
            "aws-fed",
            "-t",
            "aws",
            "-a",
            "federation-token",
            "aws_access_key_id=AKIAEXAMPLE000000000",
            "aws_secret_access_key=secret",
            f"region={REGION}",
            f"endpoint_url={proxy.url}",
            f"policy_arns={arns[0]}",
            f"policy_arns={arns[1]}",
        )
        assert registered.exit_code == 0, registered.output
        client = run_json("connector", "describe", "aws-fed", "-r", "aws-generic")
        assert client["auth_method"] == "sts-token"
    calls = [parse_qs(r.body.decode()) for r in proxy.requests if r.body]
    federation = [c for c in calls if c.get("Action") == ["GetFederationToken"]]
    assert federation, [c.get("Action") for c in calls]
    sent = [federation[-1][f"PolicyArns.member.{i}.arn"][0] for i in (1, 2)]
    assert sent == arns
