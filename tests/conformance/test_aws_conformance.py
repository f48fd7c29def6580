"""The ``aws`` connector type against the conformance kit, with a moto server.

moto checks no credentials until IAM enforcement is switched on, so the
working credentials are used with enforcement off and the refused ones with
it on (after the users exist). Under enforcement moto refuses EKS listing even
with good keys (a moto limit), which is why the refusal check is the only one
run with it on.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from keybroker.testing import ConnectorTypeConformance, WorkingCredentials
from peers.aws_world import ALLOW_ALL, AwsWorld
from peers.moto_server import REGION, MotoServer, running_moto


@pytest.fixture(scope="module")
def moto(tmp_path_factory: pytest.TempPathFactory) -> Iterator[MotoServer]:
    with running_moto(tmp_path_factory.mktemp("moto") / "moto.log") as server:
        yield server


@pytest.fixture
def aws(moto: MotoServer) -> AwsWorld:
    moto.reset()
    return AwsWorld(moto)


class TestAwsConformance(ConnectorTypeConformance):
    connector_type = "aws"

    @pytest.fixture
    def credentials(
        self, aws: AwsWorld, keybroker_home: Path, monkeypatch: pytest.MonkeyPatch
    ) -> list[WorkingCredentials]:
        aws.bucket("reports")
        aws.cluster("prod")
        aws.client("ecr").create_repository(repositoryName="app")
        keys = aws.user("conformance", ALLOW_ALL)
        base: dict[str, Any] = {**keys, "region": REGION, "endpoint_url": aws.url}
        session = aws.client("sts", **keys).get_session_token()["Credentials"]
        # 'implicit' takes what boto3 finds in the environment of the process
        monkeypatch.setenv("AWS_ACCESS_KEY_ID", keys["aws_access_key_id"])
        monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", keys["aws_secret_access_key"])
        return [
            WorkingCredentials("implicit", {"region": REGION, "endpoint_url": aws.url}),
            WorkingCredentials("secret-key", base),
            WorkingCredentials(
                "sts-token",
                {
                    "region": REGION,
                    "endpoint_url": aws.url,
                    "aws_access_key_id": session["AccessKeyId"],
                    "aws_secret_access_key": session["SecretAccessKey"],
                    "aws_session_token": session["SessionToken"],
                },
            ),
            WorkingCredentials("session-token", base),
            WorkingCredentials("iam-role", {**base, "role_arn": aws.role("reader", ALLOW_ALL)}),
            WorkingCredentials("federation-token", base),
        ]

    @pytest.fixture
    def refused_credentials(
        self, aws: AwsWorld, credentials: list[WorkingCredentials]
    ) -> list[WorkingCredentials]:
        aws.moto.enforce_iam(True)
        wrong = {"aws_access_key_id": "AKIAWRONGKEY00000000", "aws_secret_access_key": "wrong"}
        return [
            WorkingCredentials(c.auth_method, {**c.attributes, **wrong})
            for c in credentials
            if c.auth_method != "sts-token"  # moto limit: it cannot check session tokens
        ]
