"""AWS resource ids as users write them, and their canonical forms (no SDK needed)."""

from __future__ import annotations

import re

from keybroker.plugin import UsageError

REGION_PATTERN = re.compile(r"^[a-z]{2}(-[a-z]+)+-\d{1,2}$")
BUCKET_PATTERN = re.compile(r"^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$")
EKS_ARN = re.compile(
    r"^arn:aws[a-z-]*:eks:([a-z0-9-]+):(\d{12}):cluster/([A-Za-z0-9][A-Za-z0-9_-]*)$"
)
EKS_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_-]{0,99}$")
ECR_HOST = re.compile(r"^(\d{12})\.dkr\.ecr\.([a-z0-9-]+)\.amazonaws\.com(?:\.cn)?$")
ECR_ARN = re.compile(r"^arn:aws[a-z-]*:ecr:([a-z0-9-]+):(\d{12}):repository(?:/.*)?$")


def check_region(region: str) -> str:
    """``region`` if it looks like an AWS region name; ``UsageError`` otherwise."""
    if not REGION_PATTERN.match(region):
        raise UsageError(
            f"invalid AWS region '{region}': use a region name such as us-east-1 or eu-west-1"
        )
    return region


def canonical_bucket(resource_id: str) -> str:
    """``s3://name`` from ``s3://name``, ``arn:aws:s3:::name`` or ``name``."""
    text = resource_id.strip()
    for prefix in ("s3://", "arn:aws:s3:::", "arn:aws-cn:s3:::", "arn:aws-us-gov:s3:::"):
        if text.startswith(prefix):
            text = text[len(prefix) :]
            break
    else:
        if text.startswith("arn:"):
            raise UsageError(f"invalid S3 bucket ARN '{resource_id}': use arn:aws:s3:::BUCKET")
    text = text.rstrip("/")
    if "/" in text or not BUCKET_PATTERN.match(text) or ".." in text:
        raise UsageError(
            f"invalid S3 bucket '{resource_id}': use s3://BUCKET, arn:aws:s3:::BUCKET or BUCKET, "
            "where BUCKET is 3-63 lowercase letters, digits, '.' or '-'"
        )
    return f"s3://{text}"


def bucket_name(canonical: str) -> str:
    """The bare name of a canonical ``s3://name``."""
    return canonical.removeprefix("s3://")


def canonical_cluster(resource_id: str, region: str | None) -> str:
    """An EKS cluster name from a name or an ARN (whose region must be the connector's)."""
    text = resource_id.strip()
    match = EKS_ARN.match(text)
    if match:
        arn_region, _account, name = match.groups()
        if region and arn_region != region:
            raise UsageError(
                f"EKS cluster '{resource_id}' is in region {arn_region}, but the connector is "
                f"configured for {region}; EKS cluster names are region scoped"
            )
        return name
    if text.startswith("arn:"):
        raise UsageError(
            f"invalid EKS cluster ARN '{resource_id}': use arn:aws:eks:REGION:ACCOUNT:cluster/NAME"
        )
    if not EKS_NAME.match(text):
        raise UsageError(
            f"invalid EKS cluster name '{resource_id}': use letters, digits, '-' and '_'"
        )
    return text


def canonical_registry(resource_id: str, region: str | None) -> str:
    """``ACCOUNT.dkr.ecr.REGION.amazonaws.com`` from a registry URI (with or without a
    repository) or a repository ARN."""
    text = resource_id.strip()
    match = ECR_ARN.match(text)
    if match:
        arn_region, account = match.groups()
    else:
        host = text.removeprefix("https://").removeprefix("http://").split("/", 1)[0].lower()
        host_match = ECR_HOST.match(host)
        if not host_match:
            raise UsageError(
                f"invalid ECR registry '{resource_id}': use ACCOUNT.dkr.ecr.REGION.amazonaws.com"
                "[/REPOSITORY] or arn:aws:ecr:REGION:ACCOUNT:repository[/REPOSITORY]"
            )
        account, arn_region = host_match.groups()
    if region and arn_region != region:
        raise UsageError(
            f"ECR registry '{resource_id}' is in region {arn_region}, but the connector is "
            f"configured for {region}"
        )
    return f"{account}.dkr.ecr.{arn_region}.amazonaws.com"
