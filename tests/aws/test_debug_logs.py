"""``--debug`` against moto: no secret key, session token or ECR token is ever printed.

botocore logs request headers and response bodies at DEBUG: STS answers carry
secret keys and session tokens, ECR's carries the registry password. keybroker
keeps those wire logs quiet under ``--debug`` and scrubs them under
``--debug-wire``.
"""

from __future__ import annotations

import base64
import re

import pytest

from peers.aws_world import ALLOW_ALL, AwsWorld
from peers.cli_runner import keybroker, run
from peers.moto_server import ACCOUNT

# moto's fixed answers (see moto/sts/responses.py and moto/ecr/responses.py)
STS_SECRET_KEY = "wJalrXUtnFEMI/K7MDENG/bPxRfiCYzEXAMPLEKEY"
STS_SESSION_TOKEN_START = "AQoEXAMPLEH4aoAH0gNCAP"
ECR_PASSWORD = f"{ACCOUNT}-auth-token"
ECR_TOKEN = base64.b64encode(f"AWS:{ECR_PASSWORD}".encode()).decode()
ADMIN_SECRET = "admin-secret"
#: assume-role answers are random: any unmasked credential element is a leak
UNMASKED = re.compile(r"<(SecretAccessKey|SessionToken)>(?!\*\*\*<)")
ASSUMED_SESSION_TOKEN = re.compile(r"FQoGZXIvYXdzE[A-Za-z0-9+/]{8}")


def assert_no_secret(output: str) -> None:
    for secret in (STS_SECRET_KEY, STS_SESSION_TOKEN_START, ECR_PASSWORD, ECR_TOKEN, ADMIN_SECRET):
        assert secret not in output, secret
    assert not UNMASKED.search(output), UNMASKED.search(output)
    assert not ASSUMED_SESSION_TOKEN.search(output)


def register(aws: AwsWorld, name: str, method: str, *extra: str) -> None:
    from peers.aws_world import attrs

    role = [f"role_arn={aws.role('debug-reader', ALLOW_ALL)}"] if method == "iam-role" else []
    result = run(
        "connector", "register", name, "-t", "aws", "-a", method, *extra, *attrs(aws), *role
    )
    assert result.exit_code == 0, result.output


@pytest.mark.parametrize("flag", ["--debug", "--debug-wire"])
def test_debug_verify_and_ecr_login_print_no_credentials(aws: AwsWorld, flag: str) -> None:
    aws.bucket("reports")
    aws.client("ecr").create_repository(repositoryName="app")
    register(aws, "aws-session", "session-token")
    register(aws, "aws-role", "iam-role", "-r", "s3-bucket")
    register(aws, "aws-ecr", "secret-key", "-r", "docker-registry")
    outputs = []
    for command in (
        ["connector", "verify", "aws-session", "-r", "s3-bucket", flag],
        ["connector", "verify", "aws-role", flag],
        ["connector", "login", "aws-ecr", flag],
    ):
        result = keybroker(*command)
        assert result.returncode == 0, result.stderr
        outputs.append(result.stdout + result.stderr)
    for output in outputs:
        assert_no_secret(output)
    if flag == "--debug-wire":
        joined = "\n".join(outputs)
        # the wire logs are there (so the check above saw them), with credentials masked
        assert "botocore" in joined and "<SessionToken>***</SessionToken>" in joined
        assert '"authorizationToken": "***"' in joined or "authorizationToken" not in joined


def test_wire_logs_never_show_the_proxy_password_botocore_half_masks() -> None:
    """botocore masks a proxy URL by replacing the password's first occurrence.

    A password that is also part of the scheme ('ttp') is therefore shown
    after it: ``h***://***:ttp@``. keybroker masks URL passwords itself (this
    one even though it is too short to be remembered as a secret).
    """
    import socket

    with socket.socket() as probe:  # a port nothing listens on: the proxy is down
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    result = keybroker(
        "connector",
        "register",
        "behind-proxy",
        "-t",
        "aws",
        "-a",
        "secret-key",
        "region=us-east-1",
        "aws_access_key_id=AKIAIOSFODNN7EXAMPLE",
        "aws_secret_access_key=not-a-real-secret-key",
        "--debug-wire",
        env={"HTTPS_PROXY": f"http://proxy-user:ttp@127.0.0.1:{port}", "NO_PROXY": ""},
    )
    assert result.returncode == 1
    assert "ProxyConnectionError" in result.stderr  # botocore's own message was logged
    assert ":ttp@" not in result.stderr and ":***@127.0.0.1" in result.stderr
    assert result.stderr.strip().splitlines()[-1] == (
        f"Error: GetCallerIdentity: cannot reach the proxy 127.0.0.1:{port} named by HTTPS_PROXY"
    )
