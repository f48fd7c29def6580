"""What the credentials reach, per resource type: listing and single-resource checks."""

from __future__ import annotations

from typing import Any

from keybroker.plugin import AuthorizationError, OperationError
from keybroker_aws.declaration import ECR, EKS, GENERIC, S3, RegionConfig
from keybroker_aws.errors import aws_errors, call
from keybroker_aws.resource_ids import bucket_name
from keybroker_aws.sessions import Identity, account_id, client


def caller_identity(session: Identity, config: RegionConfig) -> dict[str, Any]:
    """STS GetCallerIdentity: proves the credentials, names the account."""
    result: dict[str, Any] = call(
        "GetCallerIdentity", client(session, "sts", config).get_caller_identity
    )
    return result


def list_buckets(session: Identity, config: RegionConfig) -> list[str]:
    """Every bucket the credentials may list, as ``s3://name``."""
    response = call("ListBuckets", client(session, "s3", config).list_buckets)
    return sorted(f"s3://{b['Name']}" for b in response.get("Buckets", []))


def check_bucket(session: Identity, config: RegionConfig, resource_id: str) -> None:
    """Prove access to one bucket (HeadBucket)."""
    from botocore.exceptions import ClientError

    name = bucket_name(resource_id)
    s3 = client(session, "s3", config)
    with aws_errors(f"HeadBucket {name}"):
        try:
            s3.head_bucket(Bucket=name)
        except ClientError as exc:
            code = str(exc.response.get("Error", {}).get("Code", ""))
            if code in ("404", "NoSuchBucket", "NotFound"):
                raise OperationError(f"S3 bucket '{name}' does not exist") from None
            if code in ("403", "AccessDenied", "Forbidden"):
                raise AuthorizationError(
                    f"the credentials may not access S3 bucket '{name}' (HTTP 403)"
                ) from None
            raise


def list_clusters(session: Identity, config: RegionConfig) -> list[str]:
    """EKS cluster names in the connector's region."""
    eks = client(session, "eks", config)
    names: list[str] = []
    with aws_errors("ListClusters"):
        for page in eks.get_paginator("list_clusters").paginate():
            names.extend(page.get("clusters", []))
    return sorted(names)


def describe_cluster(session: Identity, config: RegionConfig, name: str) -> dict[str, Any]:
    """EKS DescribeCluster of one cluster."""
    eks = client(session, "eks", config)
    response = call(f"DescribeCluster {name}", lambda: eks.describe_cluster(name=name))
    cluster: dict[str, Any] = response["cluster"]
    return cluster


def registry_host(config: RegionConfig) -> str:
    """The account's ECR registry host in the connector's region."""
    return f"{account_id(config)}.dkr.ecr.{config.region}.amazonaws.com"


def check_registry(session: Identity, config: RegionConfig) -> None:
    """Prove ECR access: list a repository and get an authorization token."""
    ecr = client(session, "ecr", config)
    call("DescribeRepositories", lambda: ecr.describe_repositories(maxResults=1))
    call("GetAuthorizationToken", ecr.get_authorization_token)


def reachable(
    session: Identity, config: RegionConfig, resource_type: str, resource_id: str | None
) -> list[str]:
    """Canonical ids of ``resource_type`` reached (all of them, or the one given)."""
    if resource_type == GENERIC:
        caller_identity(session, config)
        return [config.region]
    if resource_type == S3:
        if resource_id is None:
            return list_buckets(session, config)
        check_bucket(session, config, resource_id)
        return [resource_id]
    if resource_type == EKS:
        if resource_id is None:
            return list_clusters(session, config)
        describe_cluster(session, config, resource_id)
        return [resource_id]
    if resource_type == ECR:
        check_registry(session, config)
        return [registry_host(config)]
    raise OperationError(f"unknown AWS resource type '{resource_type}'")
