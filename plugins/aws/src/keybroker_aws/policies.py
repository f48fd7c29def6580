"""Inline session policies that narrow temporary credentials to one resource."""

from __future__ import annotations

import json
from typing import Any

from keybroker_aws.declaration import ECR, EKS, S3
from keybroker_aws.resource_ids import bucket_name

ALLOW_ALL: dict[str, Any] = {
    "Version": "2012-10-17",
    "Statement": [{"Effect": "Allow", "Action": "*", "Resource": "*"}],
}


def resource_policy(
    resource_type: str | None, resource_id: str | None, region: str, account: str | None
) -> dict[str, Any] | None:
    """The session policy allowing only ``resource_id``; None when nothing narrows it."""
    if resource_type is None or (resource_id is None and resource_type != ECR):
        return None
    statements: list[dict[str, Any]]
    if resource_type == S3:
        assert resource_id is not None
        bucket = bucket_name(resource_id)
        statements = [
            {
                "Effect": "Allow",
                "Action": "s3:*",
                "Resource": [f"arn:aws:s3:::{bucket}", f"arn:aws:s3:::{bucket}/*"],
            }
        ]
    elif resource_type == EKS:
        statements = [
            {
                "Effect": "Allow",
                "Action": "eks:*",
                "Resource": f"arn:aws:eks:{region}:{account or '*'}:cluster/{resource_id}",
            }
        ]
    elif resource_type == ECR:
        statements = [
            {"Effect": "Allow", "Action": "ecr:GetAuthorizationToken", "Resource": "*"},
            {
                "Effect": "Allow",
                "Action": "ecr:*",
                "Resource": f"arn:aws:ecr:{region}:{account or '*'}:repository/*",
            },
        ]
    else:
        return None
    return {"Version": "2012-10-17", "Statement": statements}


def as_json(policy: dict[str, Any]) -> str:
    """The compact JSON STS takes."""
    return json.dumps(policy, separators=(",", ":"))
