"""AWS resource ids as users write them, and their canonical forms (no SDK needed)."""

from __future__ import annotations

import re
from urllib.parse import urlsplit

from keybroker.plugin import UsageError

# every pattern is used with fullmatch: '$' would also accept a trailing newline
REGION_PATTERN = re.compile(r"[a-z]{2}(-[a-z]+)+-[0-9]{1,2}")
BUCKET_PATTERN = re.compile(r"[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]")
EKS_ARN = re.compile(
    r"arn:aws[a-z-]*:eks:([a-z0-9-]+):([0-9]{12}):cluster/([A-Za-z0-9][A-Za-z0-9_-]{0,99})"
)
EKS_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9_-]{0,99}")
ECR_HOST = re.compile(r"([0-9]{12})\.dkr\.ecr\.([a-z0-9-]+)\.amazonaws\.com(?:\.cn)?")
ECR_REPOSITORY = r"[a-z0-9][a-z0-9._/-]{0,255}"
ECR_ARN = re.compile(
    rf"arn:aws[a-z-]*:ecr:([a-z0-9-]+):([0-9]{{12}}):repository(?:/{ECR_REPOSITORY})?"
)
ROLE_ARN = re.compile(r"arn:aws[a-z-]*:iam::[0-9]{12}:role/[A-Za-z0-9_+=,.@/-]{1,576}")
POLICY_ARN = re.compile(r"arn:aws[a-z-]*:iam::(?:[0-9]{12}|aws):policy/[A-Za-z0-9_+=,.@/-]{1,640}")
ACCESS_KEY_ID = re.compile(r"[A-Za-z0-9_]{1,128}")
#: printable ASCII without spaces: what can travel in an HTTP header as it is
TOKEN_TEXT = re.compile(r"[\x21-\x7e]+")
#: STS accepts at most ten managed policy ARNs per request
MAX_POLICY_ARNS = 10


def check_region(region: str) -> str:
    """``region`` if it looks like an AWS region name; ``UsageError`` otherwise."""
    if not REGION_PATTERN.fullmatch(region):
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
    if "/" in text or not BUCKET_PATTERN.fullmatch(text) or ".." in text:
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
    match = EKS_ARN.fullmatch(text)
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
    if not EKS_NAME.fullmatch(text):
        raise UsageError(
            f"invalid EKS cluster name '{resource_id}': use letters, digits, '-' and '_'"
        )
    return text


def canonical_registry(resource_id: str, region: str | None) -> str:
    """``ACCOUNT.dkr.ecr.REGION.amazonaws.com`` from a registry URI (with or without a
    repository) or a repository ARN."""
    text = resource_id.strip()
    match = ECR_ARN.fullmatch(text)
    if match:
        arn_region, account = match.groups()
    else:
        host = text.removeprefix("https://").removeprefix("http://").split("/", 1)[0].lower()
        host_match = ECR_HOST.fullmatch(host)
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


def check_endpoint_url(value: str) -> str:
    """An ``endpoint_url`` botocore accepts: ``http(s)://HOST[:PORT][/PATH]``, nothing secret."""
    text = value.strip().rstrip("/")
    problem = None
    if any(c.isspace() or not c.isprintable() for c in text):
        problem = "it contains spaces or control characters"
    else:
        parts = urlsplit(text)
        try:
            parts.port  # noqa: B018 - raises on a malformed port
        except ValueError:
            problem = "its port is not a number from 0 to 65535"
        else:
            if parts.scheme not in ("http", "https") or not parts.hostname:
                problem = "it is not an http:// or https:// URL with a host"
            elif parts.username is not None or parts.password is not None:
                problem = "it carries credentials (user:password@), which would be shown in clear"
            elif parts.query or parts.fragment:
                problem = "it has a query or fragment"
    if problem is not None:
        shown = "" if "@" in text else f" '{text}'"  # never echo user:password@
        raise UsageError(
            f"invalid endpoint_url{shown}: {problem}; use http(s)://HOST[:PORT], "
            "e.g. http://127.0.0.1:5000"
        )
    return text


def check_access_key_id(value: str) -> str:
    """An AWS access key ID: letters, digits and '_' (AKIA... or ASIA... on AWS itself)."""
    if not ACCESS_KEY_ID.fullmatch(value):
        raise UsageError(
            "invalid aws_access_key_id: use the key ID as AWS shows it (letters and digits, "
            "e.g. AKIA...), without spaces or line breaks"
        )
    return value


def check_token_text(name: str, value: str) -> str:
    """A secret that AWS receives in a header (or signs with): no spaces or control characters.

    The message never includes the value.
    """
    if not TOKEN_TEXT.fullmatch(value):
        raise UsageError(
            f"invalid {name}: it is empty or contains spaces, line breaks or non-ASCII "
            "characters; give it exactly as AWS issued it"
        )
    return value


def check_role_arn(value: str) -> str:
    """An IAM role ARN, ``arn:aws:iam::ACCOUNT:role/[PATH/]NAME``."""
    text = value.strip()
    if not ROLE_ARN.fullmatch(text):
        raise UsageError(
            f"invalid role_arn '{text}': use arn:aws:iam::ACCOUNT:role/NAME (ACCOUNT is 12 digits)"
        )
    return text


def check_policy_arns(values: list[str]) -> list[str]:
    """Managed policy ARNs, ``arn:aws:iam::ACCOUNT-or-aws:policy/NAME``, at most ten."""
    cleaned = [value.strip() for value in values]
    for text in cleaned:
        if not POLICY_ARN.fullmatch(text):
            raise UsageError(
                f"invalid policy_arns entry '{text}': use arn:aws:iam::ACCOUNT:policy/NAME or "
                "arn:aws:iam::aws:policy/NAME"
            )
    if len(cleaned) > MAX_POLICY_ARNS:
        raise UsageError(
            f"policy_arns has {len(cleaned)} entries; AWS accepts at most {MAX_POLICY_ARNS}"
        )
    return cleaned
