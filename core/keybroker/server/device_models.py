"""The JSON shapes of the authorized-devices API and of the OAuth endpoints."""

from __future__ import annotations

from datetime import datetime

from pydantic import BaseModel, Field, StrictBool

from keybroker.server.models import Strict


class DeviceInfo(BaseModel):
    """A device authorized through the browser sign-in, as its owner (or an admin) sees it."""

    id: str
    user: str = Field(description="the account the device acts as")
    hostname: str = Field(description="as the device reported it")
    os: str = Field(description="as the device reported it")
    client_version: str = Field(description="as the device reported it")
    ip_address: str | None = Field(description="the address it asked for authorization from")
    trusted: bool = Field(description="trusted devices get long-lived tokens")
    locked: bool = Field(description="a locked device's token is refused")
    created: datetime
    updated: datetime
    last_used: datetime | None
    expires_at: datetime | None = Field(description="when its token expires; null: no token")
    current: bool = Field(description="whether this request came with the device's token")


class DeviceUpdate(Strict):
    """Lock or unlock a device."""

    locked: StrictBool


class AuthorizationServerMetadata(BaseModel):
    """RFC 8414 authorization server metadata."""

    issuer: str
    device_authorization_endpoint: str
    token_endpoint: str
    grant_types_supported: list[str]
    response_types_supported: list[str]
    token_endpoint_auth_methods_supported: list[str]
    service_documentation: str | None = None


class DeviceAuthorizationResponse(BaseModel):
    """RFC 8628 §3.2: the answer to a device authorization request."""

    device_code: str
    user_code: str
    verification_uri: str
    verification_uri_complete: str
    expires_in: int
    interval: int


class TokenResponse(BaseModel):
    """RFC 6749 §5.1: a successful token answer."""

    access_token: str
    token_type: str
    expires_in: int


class OAuthErrorResponse(BaseModel):
    """RFC 6749 §5.2: an OAuth error answer."""

    error: str = Field(
        description="invalid_request, invalid_client, invalid_grant, unsupported_grant_type, "
        "invalid_scope, authorization_pending, slow_down, access_denied, expired_token, "
        "rate_limited"
    )
    error_description: str | None = None
