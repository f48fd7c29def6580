"""Down-scoped credentials: issued for one bucket, they cannot read another.

moto records the inline session policy of AssumeRole but, unlike AWS, does not
evaluate it (moto limit: assumed-role requests are checked against the role's
own policies only). This test runs moto in-process so that the check AWS
performs, "the role's policies AND the session policy must allow it", can be
added to moto's evaluator; everything else is the real request path: the
plugin assumes the role over HTTP, and a boto3 client from keybroker reads S3.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import pytest
from botocore.exceptions import ClientError

import keybroker
from peers.aws_world import ALLOW_ALL, AwsWorld, attrs
from peers.cli_runner import run
from peers.moto_server import MotoServer


@pytest.fixture
def moto_with_session_policies(monkeypatch: pytest.MonkeyPatch) -> Iterator[MotoServer]:
    from moto.iam.access_control import (
        AssumedRoleAccessKey,
        IAMPolicy,
        IAMRequestBase,
        PermissionResult,
    )
    from moto.server import ThreadedMotoServer
    from moto.sts.models import sts_backends

    original = IAMRequestBase.check_action_permitted

    def check_with_session_policy(self: Any, resource: str) -> None:
        original(self, resource)
        key = self._access_key
        if not isinstance(key, AssumedRoleAccessKey):
            return
        for role in sts_backends[key.account_id][key.partition].assumed_roles:
            if role.access_key_id == key._access_key_id and role.policy:
                verdict = IAMPolicy(role.policy).is_action_permitted(self._action, resource)
                if verdict != PermissionResult.PERMITTED:
                    self._raise_access_denied()

    monkeypatch.setattr(IAMRequestBase, "check_action_permitted", check_with_session_policy)
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=0)
    server.start()
    host, port = server.get_host_and_port()
    moto = MotoServer(f"http://{host}:{port}")
    moto.reset()
    try:
        yield moto
    finally:
        moto.reset()
        server.stop()


def test_iam_role_credentials_for_one_bucket_cannot_read_another(
    moto_with_session_policies: MotoServer,
) -> None:
    world = AwsWorld(moto_with_session_policies)
    world.bucket("granted", {"ok.txt": b"yes"})
    world.bucket("other", {"secret.txt": b"no"})
    keys = world.user(
        "deployer",
        {
            "Version": "2012-10-17",
            "Statement": [
                {
                    "Effect": "Allow",
                    "Action": ["sts:AssumeRole", "sts:GetCallerIdentity"],
                    "Resource": "*",
                }
            ],
        },
    )
    role = world.role("data-reader", ALLOW_ALL)  # the role itself may read every bucket
    world.moto.enforce_iam()

    def register(name: str, *scope: str) -> None:
        result = run(
            "connector",
            "register",
            name,
            "-t",
            "aws",
            "-a",
            "iam-role",
            *attrs(world, keys, role_arn=role),
            "-r",
            "s3-bucket",
            *scope,
        )
        assert result.exit_code == 0, result.output

    register("scoped", "--resource-id", "s3://granted")
    s3 = keybroker.get_client("scoped")
    assert s3.get_object(Bucket="granted", Key="ok.txt")["Body"].read() == b"yes"
    with pytest.raises(ClientError) as denied:
        s3.get_object(Bucket="other", Key="secret.txt")
    assert denied.value.response["Error"]["Code"] == "AccessDenied"

    # a multi-instance connector's client is narrowed to the bucket it is asked for
    register("wide")
    wide = keybroker.get_client("wide", resource_id="s3://other")
    with pytest.raises(ClientError):
        wide.get_object(Bucket="granted", Key="ok.txt")
    assert wide.get_object(Bucket="other", Key="secret.txt")["Body"].read() == b"no"


def test_session_policy_names_only_the_bucket() -> None:
    from keybroker_aws.policies import as_json, resource_policy

    policy = json.loads(
        as_json(resource_policy("s3-bucket", "s3://granted", "eu-west-1", None) or {})
    )
    assert policy["Statement"] == [
        {
            "Effect": "Allow",
            "Action": "s3:*",
            "Resource": ["arn:aws:s3:::granted", "arn:aws:s3:::granted/*"],
        }
    ]
