"""The CLI as a user runs it: separate processes, terminals, pipes, shell completion."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

from peers.basic_auth_server import BasicAuthService
from peers.cli_runner import keybroker
from peers.httpbasic import register_web as register
from peers.plugin_install import write_plugin


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


def test_a_reader_that_goes_away_ends_the_output_quietly(web: BasicAuthService) -> None:
    """``keybroker connector list | head -1``: no error after the work was done."""
    assert register(web).exit_code == 0
    for args in (["connector", "list"], ["connector", "list-types", "-o", "json"]):
        process = subprocess.Popen(
            [sys.executable, "-m", "keybroker", *args],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
        )
        assert process.stdout is not None and process.stderr is not None
        process.stdout.close()  # the reader is gone before the first line is written
        error = process.stderr.read()
        assert process.wait(60) == 1  # what Python's docs recommend, and click does
        assert error == b"", error
    shell = subprocess.run(
        ["bash", "-c", f"'{sys.executable}' -m keybroker connector list-types | head -1"],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert shell.stdout.startswith("┌") and shell.stderr == ""


def test_an_argument_that_is_not_utf8_is_refused_by_position_without_echoing_it() -> None:
    """Python keeps such bytes as lone surrogates, which SQLite and stdout refuse later."""
    import os
    import subprocess
    import sys

    for argv, position in (
        ([b"connector", b"describe", b"\xff"], 3),
        ([b"connector", b"register", b"x", b"-t", b"httpbasic", b"url=http://h",
          b"username=u", b"password=s3cr\xffet", b"--no-verify"], 8),
    ):  # fmt: skip
        done = subprocess.run(
            [os.fsencode(sys.executable), b"-m", b"keybroker", *argv],
            capture_output=True,
            env=dict(os.environ),
            timeout=60,
        )
        assert done.returncode == 2
        stderr = done.stderr.decode()
        assert stderr.strip().splitlines()[-1] == (
            f"Error: argument {position} is not UTF-8 text; give names and values in UTF-8"
        )
        assert "s3cr" not in stderr and "unexpected" not in stderr
