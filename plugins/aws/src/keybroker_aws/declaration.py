"""The light module the entry point names: the ``aws`` connector type, no boto3."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, TypeVar

from pydantic import Field, SecretStr, field_validator

from keybroker.plugin import (
    AuthConfig,
    AuthMethod,
    ConnectorType,
    ResourceIdFormat,
    ResourceType,
    UsageError,
    hookimpl,
)
from keybroker_aws.resource_ids import (
    check_access_key_id,
    check_endpoint_url,
    check_policy_arns,
    check_region,
    check_role_arn,
    check_token_text,
)

T = TypeVar("T")

HOUR = 3600

GENERIC = "aws-generic"
S3 = "s3-bucket"
EKS = "kubernetes-cluster"
ECR = "docker-registry"


def _as_value_error(check: Callable[..., T], *arguments: Any) -> T:
    """Run a check raising ``UsageError`` as a pydantic validator (which needs ValueError)."""
    try:
        return check(*arguments)
    except UsageError as exc:
        raise ValueError(str(exc)) from None


class RegionConfig(AuthConfig):
    """Attributes every AWS auth method has."""

    region: str = Field(
        title="AWS region", description="Region the connector works in, e.g. eu-west-1"
    )
    endpoint_url: str | None = Field(
        default=None,
        title="AWS endpoint URL",
        description="Send every AWS call (STS, S3, EKS, ECR, ...) to this URL instead of "
        "AWS, e.g. a LocalStack or moto server",
    )

    @field_validator("region")
    @classmethod
    def _region_format(cls, value: str) -> str:
        return _as_value_error(check_region, value.strip())

    @field_validator("endpoint_url")
    @classmethod
    def _endpoint_url_format(cls, value: str | None) -> str | None:
        if value is None or not value.strip():
            return None
        return _as_value_error(check_endpoint_url, value)


class ImplicitConfig(RegionConfig):
    """Attributes of the ``implicit`` auth method."""

    profile_name: str | None = Field(
        default=None, title="AWS profile", description="Profile of the local AWS config to use"
    )


class SecretKeyConfig(RegionConfig):
    """Attributes of the ``secret-key`` and ``session-token`` auth methods."""

    aws_access_key_id: SecretStr = Field(title="AWS access key ID")
    aws_secret_access_key: SecretStr = Field(title="AWS secret access key")

    @field_validator("aws_access_key_id")
    @classmethod
    def _access_key_format(cls, value: SecretStr) -> SecretStr:
        _as_value_error(check_access_key_id, value.get_secret_value())
        return value

    @field_validator("aws_secret_access_key")
    @classmethod
    def _secret_key_format(cls, value: SecretStr) -> SecretStr:
        _as_value_error(check_token_text, "aws_secret_access_key", value.get_secret_value())
        return value


class STSTokenConfig(SecretKeyConfig):
    """Attributes of the ``sts-token`` auth method."""

    aws_session_token: SecretStr = Field(title="AWS session token")

    @field_validator("aws_session_token")
    @classmethod
    def _session_token_format(cls, value: SecretStr) -> SecretStr:
        _as_value_error(check_token_text, "aws_session_token", value.get_secret_value())
        return value


class IAMRoleConfig(SecretKeyConfig):
    """Attributes of the ``iam-role`` auth method."""

    role_arn: str = Field(
        title="IAM role ARN", description="The role to assume, arn:aws:iam::ACCOUNT:role/NAME"
    )
    policy_arns: list[str] | None = Field(
        default=None,
        title="Managed policy ARNs",
        description="Managed policies that further limit the issued credentials (at most 10)",
    )

    @field_validator("role_arn")
    @classmethod
    def _role_arn_format(cls, value: str) -> str:
        return _as_value_error(check_role_arn, value)

    @field_validator("policy_arns")
    @classmethod
    def _policy_arns_format(cls, value: list[str] | None) -> list[str] | None:
        return None if value is None else _as_value_error(check_policy_arns, value)


class FederationTokenConfig(SecretKeyConfig):
    """Attributes of the ``federation-token`` auth method."""

    policy_arns: list[str] | None = Field(
        default=None,
        title="Managed policy ARNs",
        description="Managed policies that further limit the issued credentials (at most 10)",
    )

    @field_validator("policy_arns")
    @classmethod
    def _policy_arns_format(cls, value: list[str] | None) -> list[str] | None:
        return None if value is None else _as_value_error(check_policy_arns, value)


DOC_IMPLICIT = """\
Uses whatever credentials boto3 finds where keybroker runs: environment
variables, the shared credentials and config files (optionally a named
profile), container or instance metadata. Nothing secret is stored in the
connector. Because it hands out the credentials of the process that runs it,
a team server refuses this method unless its administrator allows it."""

DOC_LONG_LIVED_KEYS = """\
A long-lived access key of an IAM user (or, not recommended, of the account
root user). Clients get the key itself, with all of the user's permissions,
and it never expires. Prefer session-token, iam-role or federation-token,
which hand out temporary credentials instead."""

DOC_GIVEN_STS = """\
Temporary credentials (access key, secret key and session token) obtained
elsewhere, e.g. from 'aws sts get-session-token' or SSO. They are handed out
as they are and stop working when AWS says they expire; the connector then
needs new ones ('keybroker connector update')."""

DOC_ASSUME_ROLE = """\
Assumes an IAM role with an IAM user's access key (STS AssumeRole) and hands
out the role's temporary credentials. Credentials issued for one resource
carry an inline session policy that allows only that resource (the bucket,
the cluster, the registry), so a client cannot reach anything else even if
the role can. Optional managed policy ARNs limit them further. AWS allows
15 minutes to 12 hours (1 hour when roles are chained)."""

DOC_GET_SESSION = """\
Calls STS GetSessionToken with an IAM user's access key and hands out the
resulting temporary credentials: the user's permissions, for 15 minutes to 36
hours (12 hours by default; at most 1 hour for root credentials). Long-running
jobs that cannot renew credentials do well with these. Auto-configuration
picks this method when it finds long-lived keys, so that the keys themselves
never leave the connector."""

DOC_FEDERATION = """\
Calls STS GetFederationToken with an IAM user's access key. The issued
credentials hold the intersection of the user's permissions and an inline
policy: for one resource, only that resource; otherwise everything the user
may do. Optional managed policy ARNs limit them further. 15 minutes to 36
hours (12 hours by default). Federated credentials cannot call IAM or STS
(except GetCallerIdentity), so they do not suit EKS clusters whose aws-auth
mapping names the IAM user."""


CONNECTOR_TYPE = ConnectorType(
    connector_type="aws",
    name="AWS connector",
    emoji="🔶",
    description=(
        "Reaches AWS services in one region: any service through a boto3 session, S3 "
        "buckets, EKS clusters and the ECR registry. Six auth methods range from long-lived "
        "keys to temporary, down-scoped credentials minted per resource. EKS clusters and "
        "ECR are handed to kubectl, docker and Python code as short-lived kubernetes and "
        "docker connector clients. endpoint_url redirects every AWS call, STS included."
    ),
    auth_methods=[
        AuthMethod(
            auth_method="implicit",
            name="AWS implicit credentials",
            description=DOC_IMPLICIT,
            config_schema=ImplicitConfig,
            server_opt_in=True,
        ),
        AuthMethod(
            auth_method="secret-key",
            name="AWS secret key",
            description=DOC_LONG_LIVED_KEYS,
            config_schema=SecretKeyConfig,
        ),
        AuthMethod(
            auth_method="sts-token",
            name="AWS STS token",
            description=DOC_GIVEN_STS,
            config_schema=STSTokenConfig,
        ),
        AuthMethod(
            auth_method="iam-role",
            name="AWS IAM role",
            description=DOC_ASSUME_ROLE,
            config_schema=IAMRoleConfig,
            issues_temporary_credentials=True,
            default_expiration_seconds=HOUR,
            min_expiration_seconds=15 * 60,
            max_expiration_seconds=12 * HOUR,
        ),
        AuthMethod(
            auth_method="session-token",
            name="AWS session token",
            description=DOC_GET_SESSION,
            config_schema=SecretKeyConfig,
            issues_temporary_credentials=True,
            default_expiration_seconds=12 * HOUR,
            min_expiration_seconds=15 * 60,
            max_expiration_seconds=36 * HOUR,
        ),
        AuthMethod(
            auth_method="federation-token",
            name="AWS federation token",
            description=DOC_FEDERATION,
            config_schema=FederationTokenConfig,
            issues_temporary_credentials=True,
            default_expiration_seconds=12 * HOUR,
            min_expiration_seconds=15 * 60,
            max_expiration_seconds=36 * HOUR,
        ),
    ],
    resource_types=[
        ResourceType(
            resource_type=GENERIC,
            name="AWS services (generic)",
            emoji="🔶",
            description=(
                "Any AWS service through a boto3 session for the connector's region; the "
                "resource name is the region. Needs whatever the code using it calls; "
                "verification only calls sts:GetCallerIdentity."
            ),
        ),
        ResourceType(
            resource_type=S3,
            name="AWS S3 bucket",
            emoji="📦",
            supports_instances=True,
            description=(
                "S3 buckets; Python code gets a boto3 S3 client. IAM permissions on the "
                "bucket ARNs (arn:aws:s3:::BUCKET and arn:aws:s3:::BUCKET/*): s3:ListBucket, "
                "s3:GetObject, s3:PutObject, s3:DeleteObject, and s3:ListAllMyBuckets to "
                "list buckets."
            ),
            resource_id_formats=[
                ResourceIdFormat(
                    label="S3 URI", pattern="s3://{bucket}", canonical=True, example="s3://reports"
                ),
                ResourceIdFormat(
                    label="S3 bucket ARN",
                    pattern="arn:aws:s3:::{bucket}",
                    example="arn:aws:s3:::reports",
                ),
                ResourceIdFormat(label="bucket name", pattern="{bucket}", example="reports"),
            ],
        ),
        ResourceType(
            resource_type=EKS,
            name="AWS EKS Kubernetes cluster",
            emoji="🌀",
            supports_instances=True,
            description=(
                "EKS clusters of the connector's region, handed out as short-lived kubernetes "
                "connector clients (an EKS token with the cluster's endpoint and CA). IAM "
                "permissions on arn:aws:eks:REGION:ACCOUNT:cluster/NAME: eks:ListClusters, "
                "eks:DescribeCluster; the IAM principal must also be mapped in the cluster's "
                "access entries or aws-auth ConfigMap."
            ),
            resource_id_formats=[
                ResourceIdFormat(
                    label="EKS cluster name", pattern="{cluster}", canonical=True, example="prod"
                ),
                ResourceIdFormat(
                    label="EKS cluster ARN",
                    pattern="arn:aws:eks:{region}:{account}:cluster/{cluster}",
                    example="arn:aws:eks:us-east-1:123456789012:cluster/prod",
                ),
            ],
        ),
        ResourceType(
            resource_type=ECR,
            name="AWS ECR container registry",
            emoji="🐳",
            description=(
                "The account's ECR registry in the connector's region (every repository the "
                "credentials may use), handed out as a short-lived docker connector client. "
                "IAM permissions: ecr:GetAuthorizationToken, ecr:DescribeRepositories, "
                "ecr:BatchGetImage, ecr:GetDownloadUrlForLayer, ecr:BatchCheckLayerAvailability "
                "and, to push, ecr:InitiateLayerUpload, ecr:UploadLayerPart, "
                "ecr:CompleteLayerUpload, ecr:PutImage."
            ),
            resource_id_formats=[
                ResourceIdFormat(
                    label="registry URI",
                    canonical=True,
                    pattern="{account}.dkr.ecr.{region}.amazonaws.com",
                    example="123456789012.dkr.ecr.us-east-1.amazonaws.com",
                ),
                ResourceIdFormat(
                    label="repository URI",
                    pattern="[https://]{account}.dkr.ecr.{region}.amazonaws.com/{repo}",
                    example="https://123456789012.dkr.ecr.us-east-1.amazonaws.com/app",
                ),
                ResourceIdFormat(
                    label="repository ARN",
                    pattern="arn:aws:ecr:{region}:{account}:repository[/{repo}]",
                    example="arn:aws:ecr:us-east-1:123456789012:repository/app",
                ),
            ],
        ),
    ],
    supports_auto_configuration=True,
    implementation="keybroker_aws.implementation",
    requires_modules=["boto3", "botocore"],
    install_hint="pip install 'keybroker[aws]'",
)


@hookimpl
def declare_connector_type() -> ConnectorType:
    """Declare the ``aws`` connector type."""
    return CONNECTOR_TYPE
