"""Behaviour of the ``aws`` connector type, imported on first use."""

from __future__ import annotations

import base64
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

from pydantic import SecretStr

from keybroker.plugin import (
    AuthConfig,
    AutoConfiguration,
    Connector,
    OperationError,
    UsageError,
    config_as,
    docker_registry_client,
    hookimpl,
    kubernetes_cluster_client,
    utcnow,
)
from keybroker_aws import resources, sdk
from keybroker_aws.declaration import ECR, EKS, GENERIC, S3, RegionConfig
from keybroker_aws.eks_token import TOKEN_LIFETIME, eks_token
from keybroker_aws.errors import call
from keybroker_aws.resource_ids import canonical_bucket, canonical_cluster, canonical_registry
from keybroker_aws.sessions import (
    Identity,
    TemporaryCredentials,
    base_session,
    effective_session,
    issue,
    refreshable_session,
    session_from,
)

#: ECR authorization tokens last 12 hours (AWS documentation)
ECR_TOKEN_LIFETIME = timedelta(hours=12)


def check_known_region(config: RegionConfig) -> None:
    """Refuse a region AWS does not have, before any network call."""
    if config.region not in sdk.known_regions():
        raise UsageError(
            f"unknown AWS region '{config.region}'; see 'aws ec2 describe-regions' for the "
            "regions of your account, e.g. us-east-1, eu-west-1"
        )


@hookimpl
def canonical_resource_id(resource_type: str, resource_id: str, config: AuthConfig | None) -> str:
    """``arn:aws:s3:::b`` -> ``s3://b``, cluster ARN -> name, repository URI -> registry."""
    region = config.region if isinstance(config, RegionConfig) else None
    if resource_type == S3:
        return canonical_bucket(resource_id)
    if resource_type == EKS:
        return canonical_cluster(resource_id, region)
    if resource_type == ECR:
        return canonical_registry(resource_id, region)
    if resource_type == GENERIC:
        if region is not None and resource_id.strip() == region:
            return region
        raise UsageError(
            f"resource type '{GENERIC}' takes no resource id (got '{resource_id}'): its "
            "resource name is the connector's region"
        )
    return resource_id


@hookimpl
def default_resource_id(resource_type: str, config: AuthConfig) -> str | None:
    """``aws-generic`` is named by the region; the ECR registry needs the account (online)."""
    config = config_as(config, RegionConfig)
    return config.region if resource_type == GENERIC else None


@hookimpl
def verify(
    connector: Connector, config: AuthConfig, resource_type: str | None, resource_id: str | None
) -> list[str]:
    """GetCallerIdentity (multi-type), list (multi-instance) or check one resource."""
    config = config_as(config, RegionConfig)
    check_known_region(config)
    session = effective_session(connector, config, resource_type, resource_id)
    if resource_type is None:
        resources.caller_identity(session, config)
        return []
    found = resources.reachable(session, config, resource_type, resource_id)
    if resource_type == ECR and resource_id is not None and found != [resource_id]:
        raise UsageError(
            f"the credentials reach ECR registry {found[0]}, not '{resource_id}'",
            parameter="resource_id",
        )
    return found


@hookimpl
def auto_configure(auth_method: str | None, options: dict[str, str]) -> AutoConfiguration:
    """Credentials boto3 finds here; long-lived keys become a session-token connector."""
    from keybroker_aws.auto_configuration import discover

    return discover(auth_method, options)


def _acting_credentials(
    connector: Connector, config: RegionConfig, resource_type: str, resource_id: str | None
) -> tuple[Identity, TemporaryCredentials | None]:
    """The session that acts for the resource and its temporary credentials, if any."""
    credentials = issue(connector, config, resource_type, resource_id)
    if credentials is None:
        return base_session(config), None
    return session_from(credentials, config.region), credentials


def _eks_client(connector: Connector, config: RegionConfig, cluster: str) -> Connector:
    session, _ = _acting_credentials(connector, config, EKS, cluster)
    # describe with the connector's own credentials: federated ones may not call EKS
    described = resources.describe_cluster(base_session(config), config, cluster)
    endpoint = str(described.get("endpoint") or "")
    if not endpoint:
        raise UsageError(f"EKS cluster '{cluster}' has no API endpoint yet (is it still creating?)")
    ca_pem = None
    ca_data = (described.get("certificateAuthority") or {}).get("data")
    if ca_data:
        try:
            decoded = base64.b64decode(ca_data).decode()
        except (ValueError, UnicodeDecodeError):
            decoded = ""
        ca_pem = decoded if "BEGIN CERTIFICATE" in decoded else None
    return kubernetes_cluster_client(
        connector,
        server=endpoint,
        token=eks_token(session, config, cluster),
        certificate_authority=ca_pem,
        expires_at=utcnow() + TOKEN_LIFETIME,
    )


def _ecr_client(connector: Connector, config: RegionConfig, registry: str | None) -> Connector:
    from keybroker_aws.sessions import client

    session, _ = _acting_credentials(connector, config, ECR, registry)
    response = call("GetAuthorizationToken", client(session, "ecr", config).get_authorization_token)
    data = response["authorizationData"][0]
    username, _, password = base64.b64decode(data["authorizationToken"]).decode().partition(":")
    host = resources.registry_host(config)
    expires_at: datetime | None = data.get("expiresAt")
    if expires_at is None or expires_at <= utcnow():
        expires_at = utcnow() + ECR_TOKEN_LIFETIME  # e.g. emulators that report a past expiry
    return docker_registry_client(
        connector,
        registry=host,
        username=username or "AWS",
        password=password,
        expires_at=expires_at.astimezone(UTC),
    )


def _scoped_sts_client(
    connector: Connector, config: RegionConfig, resource_type: str, resource_id: str | None
) -> Connector | None:
    credentials = issue(connector, config, resource_type, resource_id)
    if credentials is None:
        return None
    attributes: dict[str, Any] = {"region": config.region}
    if config.endpoint_url:
        attributes["endpoint_url"] = config.endpoint_url
    return Connector(
        name=connector.name,
        connector_type="aws",
        auth_method="sts-token",
        resource_type=resource_type,
        resource_id=resource_id,
        configuration=attributes,
        secrets={
            "aws_access_key_id": SecretStr(credentials.access_key_id),
            "aws_secret_access_key": SecretStr(credentials.secret_access_key),
            "aws_session_token": SecretStr(credentials.session_token),
        },
        expires_at=credentials.expiration.astimezone(UTC),
    )


@hookimpl
def derive_client(
    connector: Connector, config: AuthConfig, resource_type: str, resource_id: str | None
) -> Connector | None:
    """EKS -> kubernetes token connector, ECR -> docker connector, S3/generic -> scoped STS."""
    config = config_as(config, RegionConfig)
    check_known_region(config)
    if resource_type == EKS:
        if resource_id is None:
            raise UsageError(
                "a client for EKS serves one cluster: name it (its name or ARN)",
                parameter="resource_id",
            )
        return _eks_client(connector, config, resource_id)
    if resource_type == ECR:
        return _ecr_client(connector, config, resource_id)
    return _scoped_sts_client(connector, config, resource_type, resource_id)


def _credentials_of(client_connector: Connector) -> TemporaryCredentials:
    secrets = client_connector.secrets
    if client_connector.expires_at is None:  # an explicit check: asserts vanish under -O
        raise OperationError("temporary AWS credentials without an expiry time")
    return TemporaryCredentials(
        access_key_id=secrets["aws_access_key_id"].get_secret_value(),
        secret_access_key=secrets["aws_secret_access_key"].get_secret_value(),
        session_token=secrets["aws_session_token"].get_secret_value(),
        expiration=client_connector.expires_at,
    )


@hookimpl
def build_client(
    connector: Connector,
    config: AuthConfig,
    resource_type: str,
    resource_id: str | None,
    refresh: Callable[[], Connector] | None,
) -> Any:
    """A boto3 Session (aws-generic) or S3 client (s3-bucket) that renews its credentials.

    ``connector`` is the connector client issued for the resource (temporary
    ``sts-token`` credentials, or the connector itself for long-lived keys).
    EKS and ECR clients are kubernetes and docker connectors: their plugins
    build those Python clients.
    """
    config = config_as(config, RegionConfig)
    if resource_type not in (GENERIC, S3):
        return None
    check_known_region(config)
    if refresh is not None and connector.auth_method == "sts-token" and connector.expires_at:
        # ``connector`` is the connector client keybroker issued; ``refresh`` issues the next
        renew = refresh
        session = refreshable_session(
            config.region, _credentials_of(connector), lambda: _credentials_of(renew())
        )
    else:
        session = base_session(config).boto3_session(config.region)
    sdk.follow_proxy_rule(session, config.endpoint_url)
    if resource_type == GENERIC:
        return session
    return session.client("s3", region_name=config.region, endpoint_url=config.endpoint_url)
