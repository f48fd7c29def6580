"""boto3 sessions per auth method, and temporary credentials issued and cached per resource."""

from __future__ import annotations

import hashlib
import threading
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from keybroker.plugin import Connector, OperationError, config_as, utcnow
from keybroker_aws import sdk
from keybroker_aws.declaration import (
    FederationTokenConfig,
    IAMRoleConfig,
    ImplicitConfig,
    RegionConfig,
    SecretKeyConfig,
    STSTokenConfig,
)
from keybroker_aws.errors import call
from keybroker_aws.policies import ALLOW_ALL, as_json, resource_policy

#: temporary credentials are reused while they have at least this long left
MAX_RENEW_MARGIN = timedelta(minutes=5)


@dataclass(frozen=True)
class TemporaryCredentials:
    """An access key, secret key and session token, and when they expire."""

    access_key_id: str
    secret_access_key: str = field(repr=False)
    session_token: str = field(repr=False)
    expiration: datetime


def renew_margin(lifetime: timedelta) -> timedelta:
    """How long before expiry credentials of ``lifetime`` are replaced."""
    return min(MAX_RENEW_MARGIN, lifetime / 5)


@dataclass(frozen=True)
class Identity:
    """Whose credentials AWS calls are made with: explicit keys, or whatever boto3 finds."""

    access_key_id: str | None = None
    secret_access_key: str | None = field(default=None, repr=False)
    session_token: str | None = field(default=None, repr=False)
    implicit: bool = False
    profile_name: str | None = None

    def boto3_session(self, region: str) -> Any:
        """A boto3 session with these credentials, for Python code.

        Explicit credentials get an isolated session (nothing read from the
        machine); implicit ones the usual boto3 lookup, profile included.
        """
        if self.implicit:
            return call(
                "AWS profile",
                lambda: sdk.boto3_session(sdk.ambient_core(self.profile_name), region_name=region),
            )
        self.require_keys()
        return sdk.boto3_session(
            sdk.isolated_core(),
            aws_access_key_id=self.access_key_id,
            aws_secret_access_key=self.secret_access_key,
            aws_session_token=self.session_token,
            region_name=region,
        )

    def require_keys(self) -> None:
        """Refuse explicit credentials without keys (never fall back to ambient ones)."""
        if not self.access_key_id or not self.secret_access_key:
            raise OperationError("AWS credentials without an access key and secret key")


def base_session(config: RegionConfig) -> Identity:
    """The connector's own (configured or ambient) credentials."""
    if isinstance(config, ImplicitConfig):
        return Identity(implicit=True, profile_name=config.profile_name)
    config = config_as(config, SecretKeyConfig)
    token = (
        config.aws_session_token.get_secret_value() if isinstance(config, STSTokenConfig) else None
    )
    return Identity(
        access_key_id=config.aws_access_key_id.get_secret_value(),
        secret_access_key=config.aws_secret_access_key.get_secret_value(),
        session_token=token,
    )


def session_from(credentials: TemporaryCredentials, region: str) -> Identity:
    """Temporary credentials as an identity to call AWS with."""
    return Identity(
        access_key_id=credentials.access_key_id,
        secret_access_key=credentials.secret_access_key,
        session_token=credentials.session_token,
    )


def client(identity: Identity, service: str, config: RegionConfig) -> Any:
    """A client of ``service`` in the connector's region, at its endpoint_url if set.

    Clients with explicit keys come from one shared isolated botocore session
    (see :mod:`keybroker_aws.sdk`): creating a session costs far more CPU than
    creating a client, and list-resources creates clients for many connectors
    at once.
    """
    action = f"{service.upper()} client"
    if identity.implicit:
        return call(
            action,
            lambda: sdk.create_client(
                sdk.ambient_core(identity.profile_name),
                service,
                config.region,
                config.endpoint_url,
            ),
        )
    identity.require_keys()
    return call(
        action,
        lambda: sdk.create_client(
            sdk.shared_isolated_core(),
            service,
            config.region,
            config.endpoint_url,
            aws_access_key_id=identity.access_key_id,
            aws_secret_access_key=identity.secret_access_key,
            aws_session_token=identity.session_token,
        ),
    )


_accounts: dict[str, str] = {}
_accounts_lock = threading.Lock()


def _fingerprint(config: RegionConfig) -> str:
    """A digest identifying the credentials (never the credentials themselves)."""
    text = config.model_dump_json(exclude_none=True, round_trip=True)
    secrets = {k: v.get_secret_value() for k, v in config if hasattr(v, "get_secret_value")}
    return hashlib.sha256((text + repr(sorted(secrets.items()))).encode()).hexdigest()


def account_id(config: RegionConfig) -> str:
    """The AWS account of the connector's credentials (cached per process)."""
    key = _fingerprint(config)
    with _accounts_lock:
        if key in _accounts:
            return _accounts[key]
    sts = client(base_session(config), "sts", config)
    identity = call("GetCallerIdentity", sts.get_caller_identity)
    with _accounts_lock:
        _accounts[key] = str(identity["Account"])
    return _accounts[key]


_cache: dict[tuple[str, ...], TemporaryCredentials] = {}
_cache_lock = threading.Lock()


def _lifetime(connector: Connector, default: int) -> int:
    return connector.expiration_seconds or default


def _from_response(response: dict[str, Any]) -> TemporaryCredentials:
    data = response["Credentials"]
    return TemporaryCredentials(
        access_key_id=data["AccessKeyId"],
        secret_access_key=data["SecretAccessKey"],
        session_token=data["SessionToken"],
        expiration=data["Expiration"],
    )


def _session_name(connector: Connector) -> str:
    safe = "".join(c if c.isalnum() or c in "+=,.@-" else "-" for c in connector.name)
    return f"keybroker-{safe}"[:32]


def issue(
    connector: Connector,
    config: RegionConfig,
    resource_type: str | None,
    resource_id: str | None,
) -> TemporaryCredentials | None:
    """Temporary credentials for one resource, from the cache while they stay fresh.

    None for auth methods that hand out their own credentials (implicit,
    secret-key, sts-token).
    """
    if not isinstance(config, IAMRoleConfig | FederationTokenConfig) and (
        connector.auth_method != "session-token"
    ):
        return None
    key = (
        str(connector.id),
        _fingerprint(config),
        connector.auth_method,
        resource_type or "",
        resource_id or "",
        str(connector.expiration_seconds),
    )
    with _cache_lock:
        cached = _cache.get(key)
    now = utcnow()
    if cached is not None and cached.expiration - now > renew_margin(
        timedelta(seconds=_lifetime(connector, 3600))
    ):
        return cached
    fresh = _mint(connector, config, resource_type, resource_id)
    with _cache_lock:
        _cache[key] = fresh
    return fresh


def _mint(
    connector: Connector,
    config: RegionConfig,
    resource_type: str | None,
    resource_id: str | None,
) -> TemporaryCredentials:
    sts = client(base_session(config), "sts", config)
    if isinstance(config, IAMRoleConfig):
        account = config.role_arn.split(":")[4] or None
        policy = resource_policy(resource_type, resource_id, config.region, account)
        arguments: dict[str, Any] = {
            "RoleArn": config.role_arn,
            "RoleSessionName": _session_name(connector),
            "DurationSeconds": _lifetime(connector, 3600),
        }
        if policy is not None:
            arguments["Policy"] = as_json(policy)
        if config.policy_arns:
            arguments["PolicyArns"] = [{"arn": arn} for arn in config.policy_arns]
        return _from_response(call("AssumeRole", lambda: sts.assume_role(**arguments)))
    if isinstance(config, FederationTokenConfig):
        policy = resource_policy(
            resource_type,
            resource_id,
            config.region,
            account_id(config)
            if resource_type in ("kubernetes-cluster", "docker-registry")
            else None,
        )
        arguments = {
            "Name": f"kb-{uuid.uuid4().hex[:12]}",
            "DurationSeconds": _lifetime(connector, 12 * 3600),
            "Policy": as_json(policy or ALLOW_ALL),
        }
        if config.policy_arns:
            arguments["PolicyArns"] = [{"arn": arn} for arn in config.policy_arns]
        return _from_response(
            call("GetFederationToken", lambda: sts.get_federation_token(**arguments))
        )
    return _from_response(
        call(
            "GetSessionToken",
            lambda: sts.get_session_token(DurationSeconds=_lifetime(connector, 12 * 3600)),
        )
    )


def effective_session(
    connector: Connector,
    config: RegionConfig,
    resource_type: str | None,
    resource_id: str | None,
) -> Identity:
    """The session that acts for a resource: the role's for iam-role, else the connector's own.

    Verification uses it, so an iam-role connector is verified as the role.
    """
    if isinstance(config, IAMRoleConfig):
        credentials = issue(connector, config, resource_type, resource_id)
        if credentials is None:  # an explicit check: asserts vanish under python -O
            raise OperationError(f"connector '{connector.name}': AssumeRole gave no credentials")
        return session_from(credentials, config.region)
    return base_session(config)


def refreshable_session(
    region: str,
    first: TemporaryCredentials,
    renew: Callable[[], TemporaryCredentials],
) -> Any:
    """A boto3 session whose temporary credentials renew themselves through ``renew()``."""
    from botocore.credentials import RefreshableCredentials

    def metadata(credentials: TemporaryCredentials) -> dict[str, str]:
        return {
            "access_key": credentials.access_key_id,
            "secret_key": credentials.secret_access_key,
            "token": credentials.session_token,
            "expiry_time": credentials.expiration.isoformat(),
        }

    lifetime = first.expiration - utcnow()
    refreshable = RefreshableCredentials.create_from_metadata(
        metadata=metadata(first), refresh_using=lambda: metadata(renew()), method="keybroker"
    )
    margin = int(renew_margin(max(lifetime, timedelta(minutes=1))).total_seconds())
    refreshable._advisory_refresh_timeout = margin
    refreshable._mandatory_refresh_timeout = margin
    session = sdk.boto3_session(sdk.isolated_core(), region_name=region)
    session._session._credentials = refreshable
    return session
