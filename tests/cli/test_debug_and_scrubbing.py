"""What the CLI prints never holds a secret: errors, --debug logs, wire logs.

Plugins installed like any third-party plugin talk to the real basic-auth
peer, which can be told to echo the credentials it got in every encoding.
"""

from __future__ import annotations

import base64
import json
from pathlib import Path
from urllib.parse import quote, quote_plus

from peers.basic_auth_server import basic_auth_service
from peers.cli_runner import keybroker, run
from peers.plugin_install import write_plugin

ECHOING_DECLARATION = """
from pydantic import SecretStr
from keybroker.hookspecs import hookimpl
from keybroker.types import AuthConfig, AuthMethod, ConnectorType, ResourceType

class Config(AuthConfig):
    url: str
    username: str
    password: SecretStr

@hookimpl
def declare_connector_type():
    return ConnectorType(
        connector_type="echoing", name="Echoing", implementation="kb_echoing.impl",
        auth_methods=[AuthMethod(auth_method="password", name="password", config_schema=Config)],
        resource_types=[ResourceType(resource_type="thing", name="thing")],
    )
"""

ECHOING_IMPL = """
import base64, logging, urllib.error, urllib.request
from keybroker.errors import AuthorizationError
from keybroker.hookspecs import hookimpl

log = logging.getLogger("keybroker_echoing")

@hookimpl
def verify(connector, config, resource_type, resource_id):
    token = base64.b64encode(
        f"{config.username}:{config.password.get_secret_value()}".encode()
    ).decode()
    request = urllib.request.Request(config.url + "/index",
                                     headers={"Authorization": "Basic " + token})
    log.debug("sending Authorization: Basic %s", token)
    # the wire log of an HTTP library, which keybroker must keep quiet by default
    logging.getLogger("urllib3.connectionpool").debug("wire: GET /index token=%s", token)
    try:
        urllib.request.urlopen(request, timeout=5)
    except urllib.error.HTTPError as exc:
        body = exc.read().decode()
        log.debug("answer: %s", body)
        raise AuthorizationError(f"{config.url} refused the credentials: {body}") from None
    return []
"""

WRONG_PASSWORD = 'Tr0ub4dor&3 wrong/pa+ss"é'


def encodings(secret: str) -> list[str]:
    raw = secret.encode()
    return [
        secret,
        secret.upper(),
        quote(secret, safe=""),
        quote_plus(secret),
        base64.b64encode(raw).decode(),
        base64.urlsafe_b64encode(raw).decode().rstrip("="),
        base64.b64encode(f"alice:{secret}".encode()).decode(),
        json.dumps(secret)[1:-1],
    ]


def install(tmp_path: Path) -> dict[str, str]:
    site = write_plugin(
        tmp_path / "site",
        "kb-echoing",
        {"kb_echoing.declaration": ECHOING_DECLARATION, "kb_echoing.impl": ECHOING_IMPL},
        {"keybroker.connector_types": {"echoing": "kb_echoing.declaration"}},
    )
    return {"PYTHONPATH": str(site)}


def register_echoing(url: str, env: dict[str, str], *flags: str) -> tuple[int, str]:
    result = keybroker(
        "connector",
        "register",
        "echo",
        "-t",
        "echoing",
        f"url={url}",
        "username=alice",
        f"password={WRONG_PASSWORD}",
        *flags,
        env=env,
    )
    return result.returncode, result.stdout + result.stderr


def test_a_server_echoing_the_password_in_every_encoding_never_gets_it_printed(
    tmp_path: Path,
) -> None:
    env = install(tmp_path)
    with basic_auth_service(echo_credentials=True) as web:
        code, output = register_echoing(web.url, env, "--debug")
    assert code == 1
    assert "refused the credentials: rejected raw=***" in output  # the echo reached us
    for form in encodings(WRONG_PASSWORD):
        assert form not in output, form
    assert "DEBUG keybroker_echoing: answer: rejected" in output  # our debug log, scrubbed


def test_debug_after_the_subcommand_keeps_wire_logs_quiet_unless_asked(tmp_path: Path) -> None:
    env = install(tmp_path)
    with basic_auth_service() as web:
        code, quiet = register_echoing(web.url, env, "--debug")
        assert code == 1
        assert "DEBUG keybroker_echoing: sending Authorization" in quiet
        assert "wire: GET /index" not in quiet
        code, wire = register_echoing(web.url, env, "--debug-wire")
        assert code == 1
        assert "wire: GET /index token=" in wire
        assert "may still show credentials" in wire  # the warning that comes with wire logs
        code, by_env = register_echoing(web.url, {**env, "KEYBROKER_DEBUG_WIRE": "1"}, "--debug")
        assert "wire: GET /index" in by_env
    for output in (quiet, wire, by_env):
        for form in encodings(WRONG_PASSWORD):
            assert form not in output, form


def test_errors_name_the_option_of_the_parameter_at_fault() -> None:
    result = run("connector", "list", "-r", "nosuch")
    assert result.exit_code == 2
    assert result.output.startswith("Error: -r/--resource-type: unknown resource type 'nosuch'")
    assert "valid resource types:" in result.output and "http-endpoint" in result.output
    listed = run("connector", "list-types", "-a", "nosuch")
    assert listed.exit_code == 2
    assert "-a/--auth-method: unknown auth method 'nosuch'" in listed.output
    resources = run("connector", "list-resources", "-r", "nosuch", "--debug")
    assert resources.exit_code == 2 and "unknown resource type 'nosuch'" in resources.output


def test_debug_in_process_leaves_logging_as_it_was() -> None:
    import logging

    root = logging.getLogger()
    before = (list(root.handlers), root.level, logging.getLogger("botocore").level)
    result = run("connector", "list-types", "--debug", "--debug-wire")
    assert result.exit_code == 0, result.output
    after = (list(root.handlers), root.level, logging.getLogger("botocore").level)
    assert after == before
