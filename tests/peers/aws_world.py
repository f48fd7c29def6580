"""Setting up AWS state in the moto server for tests: buckets, users, roles, clusters."""

from __future__ import annotations

import base64
import json
import urllib.request
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any
from urllib.parse import parse_qs, urlsplit

import boto3

from peers.moto_server import ACCOUNT, REGION, MotoServer

ADMIN_KEYS = {"aws_access_key_id": "AKIAADMINEXAMPLE0000", "aws_secret_access_key": "admin-secret"}


@dataclass
class AwsWorld:
    """The moto server and boto3 clients that set up the test's AWS state."""

    moto: MotoServer

    @property
    def url(self) -> str:
        return self.moto.url

    def client(self, service: str, **keys: str) -> Any:
        return boto3.client(
            service, region_name=REGION, endpoint_url=self.url, **(keys or ADMIN_KEYS)
        )

    def bucket(self, name: str, objects: dict[str, bytes] | None = None) -> str:
        s3 = self.client("s3")
        s3.create_bucket(Bucket=name, CreateBucketConfiguration={"LocationConstraint": REGION})
        for key, body in (objects or {}).items():
            s3.put_object(Bucket=name, Key=key, Body=body)
        return f"s3://{name}"

    def user(self, name: str, policy: dict[str, Any]) -> dict[str, str]:
        """An IAM user with an inline policy; returns its access key as attributes."""
        iam = self.client("iam")
        iam.create_user(UserName=name)
        iam.put_user_policy(UserName=name, PolicyName="p", PolicyDocument=json.dumps(policy))
        key = iam.create_access_key(UserName=name)["AccessKey"]
        return {
            "aws_access_key_id": key["AccessKeyId"],
            "aws_secret_access_key": key["SecretAccessKey"],
        }

    def role(self, name: str, policy: dict[str, Any]) -> str:
        """An IAM role any principal may assume (moto checks the trust policy), with a policy."""
        iam = self.client("iam")
        trust = {
            "Version": "2012-10-17",
            "Statement": [
                {"Effect": "Allow", "Principal": {"AWS": "*"}, "Action": "sts:AssumeRole"}
            ],
        }
        arn = iam.create_role(RoleName=name, AssumeRolePolicyDocument=json.dumps(trust))["Role"][
            "Arn"
        ]
        iam.put_role_policy(RoleName=name, PolicyName="p", PolicyDocument=json.dumps(policy))
        return str(arn)

    def cluster(self, name: str) -> None:
        self.client("eks").create_cluster(
            name=name,
            roleArn=f"arn:aws:iam::{ACCOUNT}:role/eks",
            resourcesVpcConfig={"subnetIds": ["subnet-1"]},
        )


ALLOW_ALL = {
    "Version": "2012-10-17",
    "Statement": [{"Effect": "Allow", "Action": "*", "Resource": "*"}],
}


def attrs(world: AwsWorld, keys: dict[str, str] | None = None, **extra: str) -> list[str]:
    """Command-line attributes for a connector talking to the test's moto server."""
    values = {**(keys or ADMIN_KEYS), "region": REGION, "endpoint_url": world.url, **extra}
    return [f"{k}={v}" for k, v in values.items()]


def eks_token_reviewer(sts_url: str, cluster: str) -> Callable[[str], bool]:
    """How an EKS cluster checks a bearer token: the presigned STS GetCallerIdentity call.

    The token is ``k8s-aws-v1.`` and the base64 of a URL presigned for the cluster
    (header ``x-k8s-aws-id``); the cluster accepts it when STS answers that URL with
    the caller's identity. Here STS is the moto server at ``sts_url``.

    moto limit: moto routes a request to a service by its ``Authorization`` header,
    so a presigned GET (credentials in the query) lands on S3. The reviewer sends the
    same credential scope and signature from the query as that header.
    """

    def review(token: str) -> bool:
        if not token.startswith("k8s-aws-v1."):
            return False
        encoded = token.removeprefix("k8s-aws-v1.")
        try:
            url = base64.urlsafe_b64decode(encoded + "=" * (-len(encoded) % 4)).decode()
        except ValueError:
            return False
        if not url.startswith(sts_url + "/?Action=GetCallerIdentity"):
            return False
        query = {k: v[0] for k, v in parse_qs(urlsplit(url).query).items()}
        if "x-k8s-aws-id" not in query.get("X-Amz-SignedHeaders", ""):
            return False
        try:
            authorization = (
                f"{query['X-Amz-Algorithm']} Credential={query['X-Amz-Credential']}, "
                f"SignedHeaders={query['X-Amz-SignedHeaders']}, "
                f"Signature={query['X-Amz-Signature']}"
            )
        except KeyError:
            return False
        request = urllib.request.Request(
            url, headers={"x-k8s-aws-id": cluster, "Authorization": authorization}
        )
        try:
            with urllib.request.urlopen(request, timeout=10) as answer:
                return answer.status == 200 and b"<Arn>arn:aws:" in answer.read()
        except OSError:
            return False

    return review
