"""Finding AWS credentials in the local environment: variables, shared files, profiles."""

from __future__ import annotations

import os
from typing import Any

from keybroker.plugin import AutoConfiguration, UsageError


def discover(auth_method: str | None, options: dict[str, str]) -> AutoConfiguration:
    """What boto3 would use here (``AWS_PROFILE`` or option ``profile`` honoured).

    Long-lived keys become a ``session-token`` connector unless another method
    is asked for, so that the keys themselves are never handed out.
    """
    import boto3
    from botocore.exceptions import ProfileNotFound

    profile = options.get("profile") or os.environ.get("AWS_PROFILE") or None
    try:
        session = boto3.Session(profile_name=profile)
    except ProfileNotFound:
        raise UsageError(f"AWS profile '{profile}' is not in the AWS config files") from None
    region = options.get("region") or session.region_name
    if not region:
        raise UsageError(
            "no AWS region configured: set AWS_DEFAULT_REGION or the profile's region, or "
            "give the auto-configure option region=REGION",
            parameter="auto_configure_options",
        )
    attributes: dict[str, Any] = {"region": region}
    endpoint = os.environ.get("AWS_ENDPOINT_URL")
    if endpoint:
        attributes["endpoint_url"] = endpoint
    if auth_method == "implicit":
        if profile:
            attributes["profile_name"] = profile
        return AutoConfiguration(auth_method="implicit", attributes=attributes)
    credentials = session.get_credentials()
    if credentials is None:
        raise UsageError("no AWS credentials found in the environment or the AWS config files")
    frozen = credentials.get_frozen_credentials()
    attributes["aws_access_key_id"] = frozen.access_key
    attributes["aws_secret_access_key"] = frozen.secret_key
    if frozen.token:
        chosen = auth_method or "sts-token"
        if chosen != "sts-token":
            raise UsageError(
                f"the local AWS credentials are temporary (they carry a session token); "
                f"they fit auth method 'sts-token', not '{chosen}'"
            )
        attributes["aws_session_token"] = frozen.token
        return AutoConfiguration(auth_method="sts-token", attributes=attributes)
    chosen = auth_method or "session-token"
    if chosen == "iam-role":
        role = options.get("role_arn")
        if not role:
            raise UsageError(
                "auth method 'iam-role' needs the auto-configure option role_arn=ARN",
                parameter="auto_configure_options",
            )
        attributes["role_arn"] = role
    if chosen == "sts-token":
        raise UsageError("the local AWS credentials are long-lived keys, not an STS token")
    return AutoConfiguration(auth_method=chosen, attributes=attributes)
