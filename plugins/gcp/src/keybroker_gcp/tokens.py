"""Access tokens per auth method, minted with google-auth and cached until shortly before expiry.

Every connector hands out access tokens, never the key or refresh token it
holds. Tokens for one GCS bucket are exchanged for down-scoped ones
(:mod:`keybroker_gcp.downscoping`) and cached per bucket.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from keybroker import redaction
from keybroker.plugin import (
    AuthorizationError,
    Connector,
    CredentialCache,
    credentials_fingerprint,
    utcnow,
)
from keybroker_gcp.configs import (
    GCPConfig,
    ImpersonationConfig,
    ImplicitConfig,
    OAuth2TokenConfig,
    ServiceAccountConfig,
    UserAccountConfig,
)
from keybroker_gcp.endpoints import api_url
from keybroker_gcp.errors import call

SCOPES = ["https://www.googleapis.com/auth/cloud-platform"]
#: assumed lifetime of a token whose expiry Google did not say (kept short: fail closed)
UNKNOWN_LIFETIME = timedelta(minutes=10)


@dataclass(frozen=True)
class AccessToken:
    """A Google OAuth2 access token and when it expires (timezone-aware)."""

    token: str = field(repr=False)
    expires_at: datetime


def _aware(expiry: datetime | None) -> datetime:
    """google-auth's naive-UTC expiry as an aware datetime; unknown means soon."""
    if expiry is None:
        return utcnow() + UNKNOWN_LIFETIME
    return expiry if expiry.tzinfo else expiry.replace(tzinfo=UTC)


def token_lifetime(connector: Connector) -> int:
    """Seconds an impersonated token lives: the connector's expiration, else one hour."""
    return connector.expiration_seconds or 3600


def _remember_parts(info: dict[str, Any], *names: str) -> None:
    """Have keybroker scrub the secret parts of a key file on their own, not only the whole."""
    redaction.remember(*(str(info[n]) for n in names if info.get(n)))


def google_credentials(connector: Connector, config: GCPConfig) -> Any:
    """google-auth credentials for the connector's own identity (not yet refreshed)."""
    if isinstance(config, ImplicitConfig):
        import google.auth

        credentials, _ = call(
            "application default credentials", lambda: google.auth.default(scopes=SCOPES)
        )
        return credentials
    if isinstance(config, UserAccountConfig):
        from google.oauth2.credentials import Credentials as UserCredentials

        info = config.user_info()
        _remember_parts(info, "client_secret", "refresh_token")
        # from_authorized_user_info() would ignore the file's token_uri; honour it as for keys
        return UserCredentials(
            token=None,
            refresh_token=info["refresh_token"],
            token_uri=info.get("token_uri") or api_url(None, "oauth2", "/token"),
            client_id=info["client_id"],
            client_secret=info["client_secret"],
            quota_project_id=info.get("quota_project_id"),
        )
    if isinstance(config, ServiceAccountConfig):
        from google.oauth2.service_account import Credentials as KeyCredentials

        _remember_parts(config.key_info(), "private_key")
        key = call(
            "service account key",
            lambda: KeyCredentials.from_service_account_info(config.key_info(), scopes=SCOPES),
        )
        if not isinstance(config, ImpersonationConfig):
            return key
        from google.auth.impersonated_credentials import Credentials as Impersonated

        target = config.target_principal
        return Impersonated(
            source_credentials=key,
            target_principal=target,
            target_scopes=SCOPES,
            delegates=[f"projects/-/serviceAccounts/{d}" for d in config.delegates or []],
            lifetime=token_lifetime(connector),
            iam_endpoint_override=api_url(
                config.api_endpoint,
                "iamcredentials",
                f"/v1/projects/-/serviceAccounts/{target}:generateAccessToken",
            ),
        )
    raise AuthorizationError(f"auth method '{connector.auth_method}' mints no tokens")


def _action(connector: Connector, config: GCPConfig) -> str:
    if isinstance(config, ImpersonationConfig):
        return f"impersonating {config.target_principal}"
    if isinstance(config, ServiceAccountConfig):
        return f"access token for {config.service_account_email()}"
    return f"access token ({connector.auth_method})"


def mint(connector: Connector, config: GCPConfig) -> AccessToken:
    """A new access token for the connector's identity."""
    from keybroker_gcp.rest import auth_transport

    credentials = google_credentials(connector, config)
    call(_action(connector, config), lambda: credentials.refresh(auth_transport()))
    redaction.remember(str(credentials.token))
    return AccessToken(token=str(credentials.token), expires_at=_aware(credentials.expiry))


def check_not_expired(config: OAuth2TokenConfig) -> None:
    """Refuse a given token whose stated expiry has passed (no network needed)."""
    expiry = config.credentials_expiry()
    if expiry is not None and expiry <= utcnow():
        raise AuthorizationError(
            f"the OAuth2 token expired at {expiry:%Y-%m-%d %H:%M:%S} UTC; give a fresh one "
            "with 'keybroker connector update NAME token=... expires_at=...'"
        )


def _given_token(config: OAuth2TokenConfig) -> AccessToken:
    """The configured token, with its expiry as given or as tokeninfo reports it."""
    check_not_expired(config)
    token = config.token.get_secret_value()
    expiry = config.credentials_expiry()
    if expiry is None:
        info = token_info(token, config.api_endpoint)
        expiry = utcnow() + timedelta(seconds=int(info.get("expires_in") or 0))
    return AccessToken(token=token, expires_at=expiry)


def token_info(token: str, api_endpoint: str | None) -> dict[str, Any]:
    """What Google's tokeninfo endpoint says about a live access token."""
    from keybroker_gcp.rest import ApiError, GoogleApi

    api = GoogleApi(token, api_endpoint)
    try:
        answer = api.request(
            "POST", "oauth2", "/tokeninfo", "tokeninfo", data={"access_token": token}
        )
    except (ApiError, AuthorizationError) as exc:
        if isinstance(exc, ApiError) and exc.status >= 500:
            raise
        # tokeninfo answers 400 invalid_token for a token that is not (or no longer) valid
        raise AuthorizationError(
            "Google does not accept the OAuth2 token: it is invalid, expired or revoked"
        ) from None
    try:
        left = int(answer.get("expires_in") or int(answer["exp"]) - int(utcnow().timestamp()))
    except (KeyError, TypeError, ValueError):
        left = 0
    if left <= 0:
        raise AuthorizationError("Google says the OAuth2 token has expired (tokeninfo)")
    answer["expires_in"] = left
    return answer


_TOKENS: CredentialCache[AccessToken] = CredentialCache(lambda t: t.expires_at)


def _key(connector: Connector, config: GCPConfig, *parts: object) -> tuple[str, str]:
    return (
        str(connector.id),
        credentials_fingerprint(
            config, connector.auth_method, connector.expiration_seconds, *parts
        ),
    )


def access_token(connector: Connector, config: GCPConfig) -> AccessToken:
    """The connector's access token, from the cache while it stays fresh."""
    if isinstance(config, OAuth2TokenConfig):
        check_not_expired(config)
        return _TOKENS.get(_key(connector, config), lambda: _given_token(config))
    return _TOKENS.get(_key(connector, config), lambda: mint(connector, config))


def bucket_token(connector: Connector, config: GCPConfig, bucket: str) -> AccessToken:
    """An access token down-scoped to one bucket, from the cache while it stays fresh."""
    from keybroker_gcp.downscoping import downscope

    if isinstance(config, OAuth2TokenConfig):
        check_not_expired(config)

    def issue() -> AccessToken:
        source = access_token(connector, config)
        return downscope(source, bucket, config.api_endpoint)

    return _TOKENS.get(_key(connector, config, "bucket", bucket), issue)


def forget_tokens() -> None:
    """Drop every cached token: the next request mints new ones (e.g. after a revocation)."""
    _TOKENS.clear()
