"""docker's credential helper reaches the server with the client's sign-in, on every call.

``keybroker connector login`` of an AWS connector kept on a real server writes
docker's ``credHelpers`` and keybroker's mapping: where the server is and how to
sign in (the session in the config directory, or the *path* of a token file),
never a secret. Each ``docker-credential-keybroker get`` asks the server for a
fresh ECR password. Signed out, the helper says what to do and prints nothing.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from peers.aws_world import ADMIN_KEYS, AwsWorld, attrs
from peers.keybroker_server import ADMIN_PASSWORD, RunningServer, connect, start_server
from peers.keybroker_server import keybroker as cli
from peers.moto_server import ACCOUNT, REGION, running_moto

PASSWORD = "lee-password-for-ecr-1"
ECR_HOST = f"{ACCOUNT}.dkr.ecr.{REGION}.amazonaws.com"

pytestmark = [pytest.mark.peer]


@pytest.fixture
def world(tmp_path: Path) -> Iterator[tuple[AwsWorld, RunningServer]]:
    with running_moto(tmp_path / "moto.log") as moto:
        aws = AwsWorld(moto)
        aws.client("ecr").create_repository(repositoryName="app")
        (tmp_path / "server").mkdir()
        server = start_server(tmp_path / "server")
        try:
            admin = server.sign_in("admin", ADMIN_PASSWORD)
            status, _, body = server.request(
                "POST", "/api/v1/users", {"name": "lee", "password": PASSWORD}, admin
            )
            assert status == 201, body
            yield aws, server
        finally:
            server.stop()


def helper_get(env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    helper = Path(sys.executable).with_name("docker-credential-keybroker")
    return subprocess.run(
        [str(helper), "get"], input=ECR_HOST, capture_output=True, text=True, env=env, timeout=60
    )


def issued(server: RunningServer) -> list[dict[str, Any]]:
    admin = server.sign_in("admin", ADMIN_PASSWORD)
    status, _, page = server.request(
        "GET", "/api/v1/audit?user=lee&action=connector.issue&limit=100", None, admin
    )
    assert status == 200, page
    return list(page["items"])


def register_ecr(aws: AwsWorld, *extra: str) -> None:
    """Register the AWS connector ``aws-ecr`` for the registry through the real CLI."""
    registered = cli(
        "connector",
        "register",
        "aws-ecr",
        "-t",
        "aws",
        "-a",
        "secret-key",
        "-r",
        "docker-registry",
        *extra,
        *attrs(aws),
    )
    assert registered.returncode == 0, registered.stderr


def docker_files() -> str:
    directory = Path(os.environ["DOCKER_CONFIG"])
    return "".join(p.read_text() for p in sorted(directory.glob("*.json")))


def test_the_docker_helper_fetches_from_the_server_per_call_and_stores_nothing_secret(
    world: tuple[AwsWorld, RunningServer], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    aws, server = world
    connect(server, "lee", PASSWORD)
    register_ecr(aws)
    login = cli("connector", "login", "aws-ecr")
    assert login.returncode == 0, login.stderr
    config = json.loads((Path(os.environ["DOCKER_CONFIG"]) / "config.json").read_text())
    assert config["credHelpers"] == {ECR_HOST: "keybroker"}

    before = len(issued(server))
    answers = [helper_get(dict(os.environ)) for _ in range(2)]
    for answer in answers:
        assert answer.returncode == 0, answer.stderr
    secrets = [json.loads(a.stdout)["Secret"] for a in answers]
    assert all(json.loads(a.stdout)["Username"] == "AWS" for a in answers) and all(secrets)
    assert len(issued(server)) == before + 2  # one connector client per call

    session = json.loads(
        (Path(os.environ["KEYBROKER_CONFIG_DIR"]) / "server-session.json").read_text()
    )
    written = docker_files()
    for secret in (*secrets, session["token"], ADMIN_KEYS["aws_secret_access_key"]):
        assert secret not in written
    assert server.url in written  # where the helper goes, with the same sign-in

    assert cli("disconnect").returncode == 0
    signed_out = helper_get(dict(os.environ))
    assert signed_out.returncode == 1 and signed_out.stdout == ""
    assert f"run 'keybroker connect --url {server.url}'" in signed_out.stderr

    # signed in by a token file instead (a pipeline): the mapping names the file, not the token
    token_file = tmp_path / "token"
    token_file.write_text(server.sign_in("lee", PASSWORD))
    monkeypatch.setenv("KEYBROKER_STORE_URL", server.url)
    monkeypatch.setenv("KEYBROKER_STORE_TOKEN_FILE", str(token_file))
    login = cli("connector", "login", "aws-ecr")
    assert login.returncode == 0, login.stderr
    written = docker_files()
    assert str(token_file) in written and token_file.read_text() not in written
    tool_env = {
        k: v
        for k, v in os.environ.items()
        if k not in ("KEYBROKER_STORE_URL", "KEYBROKER_STORE_TOKEN_FILE")
    }
    from_file = helper_get(tool_env)
    assert from_file.returncode == 0, from_file.stderr
    assert json.loads(from_file.stdout)["Username"] == "AWS"


def test_a_pipeline_with_only_the_two_variables_logs_docker_in_through_a_service_account(
    world: tuple[AwsWorld, RunningServer], monkeypatch: pytest.MonkeyPatch
) -> None:
    aws, server = world
    lee = server.sign_in("lee", PASSWORD)
    status, _, created = server.request("POST", "/api/v1/service-accounts", {"name": "ci"}, lee)
    assert status == 201, created
    api_key = created["key"]
    connect(server, "lee", PASSWORD)
    register_ecr(aws, "--share")
    assert cli("disconnect").returncode == 0

    # a CI job: no session file, only the server URL and the service account's key
    monkeypatch.setenv("KEYBROKER_STORE_URL", server.url)
    monkeypatch.setenv("KEYBROKER_STORE_API_KEY", api_key)
    login = cli("connector", "login", "aws-ecr")
    assert login.returncode == 0, login.stderr
    assert api_key not in docker_files()
    answer = helper_get(dict(os.environ))  # docker runs the helper with the job's environment
    assert answer.returncode == 0, answer.stderr
    assert json.loads(answer.stdout)["Username"] == "AWS"

    listed = subprocess.run(
        [
            sys.executable,
            "-c",
            "from keybroker import ConnectorService\n"
            "print([c.name for c in ConnectorService().list()])",
        ],
        capture_output=True,
        text=True,
        env=dict(os.environ),
        timeout=60,
    )
    assert listed.returncode == 0, listed.stderr
    assert "aws-ecr" in listed.stdout

    admin = server.sign_in("admin", ADMIN_PASSWORD)
    status, _, page = server.request("GET", "/api/v1/audit?user=ci&limit=100", None, admin)
    assert status == 200
    actions = {(e["action"], e["connector_name"]) for e in page["items"]}
    # the login and the helper's fetch are the service account's, not lee's
    assert {("connector.login", "aws-ecr"), ("connector.issue", "aws-ecr")} <= actions

    # the key deactivated: the very next helper call is refused and says why
    status, _, _ = server.request(
        "PATCH", "/api/v1/service-accounts/ci/api-keys/default", {"active": False}, lee
    )
    assert status == 200
    refused = helper_get(dict(os.environ))
    assert refused.returncode == 1 and refused.stdout == ""
    assert "deactivated" in refused.stderr
