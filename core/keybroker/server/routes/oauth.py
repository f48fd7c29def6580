"""OAuth endpoints: RFC 8414 metadata and the RFC 8628 device authorization grant.

Requests are form-encoded, answers JSON, both as the RFCs say; errors answer
``{"error": ..., "error_description": ...}`` (RFC 6749 §5.2) rather than the rest
of the API's error shape, so that any standard OAuth client can drive the flow.
The one client is the public client ``keybroker-cli``: it has no secret, and a
request that tries to authenticate it (HTTP Basic, ``client_secret``) is refused.
"""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse
from starlette.concurrency import run_in_threadpool

from keybroker.server.dependencies import Context
from keybroker.server.device_codes import display_user_code
from keybroker.server.device_flow import (
    DEVICE_CODE_GRANT,
    OAuthError,
    check_client,
    check_device_details,
)
from keybroker.server.device_models import (
    AuthorizationServerMetadata,
    DeviceAuthorizationResponse,
    OAuthErrorResponse,
    TokenResponse,
)
from keybroker.server.forms import FORM_TYPE, FormError, read_form

API_PREFIX = "/api/v1"
METADATA_PATH = "/.well-known/oauth-authorization-server"
DEVICE_AUTHORIZATION_PATH = "/oauth/device-authorization"
TOKEN_PATH = "/oauth/token"  # noqa: S105 - a path
VERIFICATION_PATH = "/device"

#: RFC 6749 §5.1: token answers must not be cached
NO_STORE = {"Cache-Control": "no-store", "Pragma": "no-cache"}

well_known = APIRouter(tags=["oauth"])
router = APIRouter(prefix="/oauth", tags=["oauth"])

_OAUTH_ERRORS: dict[int | str, dict[str, Any]] = {
    400: {"model": OAuthErrorResponse, "description": "an OAuth error (RFC 6749 §5.2)"},
    401: {"model": OAuthErrorResponse, "description": "invalid_client: client authentication"},
    429: {"model": OAuthErrorResponse, "description": "too many requests; see Retry-After"},
}


def _form_body(fields: dict[str, dict[str, Any]], required: list[str]) -> dict[str, Any]:
    """The OpenAPI request body of a form-encoded endpoint."""
    return {
        "requestBody": {
            "required": True,
            "content": {
                FORM_TYPE: {
                    "schema": {"type": "object", "properties": fields, "required": required}
                }
            },
        }
    }


def issuer(request: Request) -> str:
    """The server's issuer URL: ``KEYBROKER_SERVER_PUBLIC_URL``, or as this request reached it."""
    configured: str | None = request.app.state.context.settings.public_url
    if configured:
        return configured
    return f"{request.url.scheme}://{request.url.netloc}"


def oauth_error(exc: OAuthError) -> JSONResponse:
    """The JSON answer of an OAuth error."""
    headers = dict(NO_STORE)
    if exc.retry_after is not None:
        headers["Retry-After"] = str(exc.retry_after)
    if exc.status == 401:
        headers["WWW-Authenticate"] = 'Basic realm="keybroker"'
    return JSONResponse(
        {"error": exc.error, "error_description": exc.description},
        status_code=exc.status,
        headers=headers,
    )


#: the parameters each endpoint reads (RFC 8628 §3.1 and §3.4, and the device's details)
AUTHORIZATION_FIELDS = frozenset(
    {"client_id", "client_secret", "scope", "hostname", "os", "client_version"}
)
TOKEN_FIELDS = frozenset({"grant_type", "device_code", "client_id", "client_secret"})


async def _oauth_form(request: Request, known: frozenset[str]) -> dict[str, str]:
    """The request's form, refusing client authentication a public client cannot do."""
    if request.headers.get("authorization", "").lower().startswith("basic"):
        raise OAuthError(
            "invalid_client",
            "keybroker-cli is a public client: send client_id without authentication",
            status=401,
        )
    try:
        fields = await read_form(request, known)
    except FormError as exc:
        raise OAuthError("invalid_request", exc.message) from None
    if "client_secret" in fields:
        raise OAuthError(
            "invalid_client", "keybroker-cli is a public client: it has no client_secret"
        )
    return fields


@well_known.get(
    METADATA_PATH,
    response_model=AuthorizationServerMetadata,
    response_model_exclude_none=True,
    summary="OAuth authorization server metadata (RFC 8414)",
)
async def metadata(request: Request) -> JSONResponse:
    """Where the device authorization and token endpoints are, and what they support."""
    base = issuer(request)
    document = AuthorizationServerMetadata(
        issuer=base,
        device_authorization_endpoint=base + API_PREFIX + DEVICE_AUTHORIZATION_PATH,
        token_endpoint=base + API_PREFIX + TOKEN_PATH,
        grant_types_supported=[DEVICE_CODE_GRANT],
        response_types_supported=[],  # no authorization endpoint: the device grant only
        token_endpoint_auth_methods_supported=["none"],
    )
    return JSONResponse(
        document.model_dump(exclude_none=True), headers={"Cache-Control": "no-store"}
    )


@router.post(
    DEVICE_AUTHORIZATION_PATH.removeprefix("/oauth"),
    response_model=DeviceAuthorizationResponse,
    responses=_OAUTH_ERRORS,
    summary="Start a device authorization (RFC 8628 §3.1)",
    openapi_extra=_form_body(
        {
            "client_id": {"type": "string", "enum": ["keybroker-cli"]},
            "hostname": {"type": "string", "maxLength": 255},
            "os": {"type": "string", "maxLength": 255},
            "client_version": {"type": "string", "maxLength": 64},
        },
        ["client_id"],
    ),
)
async def device_authorization(request: Request, context: Context) -> JSONResponse:
    """A device code for the client and a user code for a person to enter at
    ``verification_uri``. Besides ``client_id``, the client may describe itself with
    ``hostname``, ``os`` and ``client_version`` (shown to the person who approves)."""
    try:
        fields = await _oauth_form(request, AUTHORIZATION_FIELDS)
        client_id = check_client(fields.get("client_id"))
        if fields.get("scope"):
            raise OAuthError("invalid_scope", "this server has no scopes: leave scope out")
        details = check_device_details(fields)
        address = request.client.host if request.client else None
        started = await run_in_threadpool(context.device_flow.start, client_id, details, address)
    except OAuthError as exc:
        return oauth_error(exc)
    verification_uri = issuer(request) + VERIFICATION_PATH
    shown = display_user_code(started.user_code)
    answer = DeviceAuthorizationResponse(
        device_code=started.device_code,
        user_code=shown,
        verification_uri=verification_uri,
        verification_uri_complete=f"{verification_uri}?user_code={shown}",
        expires_in=started.expires_in,
        interval=started.interval,
    )
    return JSONResponse(answer.model_dump(), headers=NO_STORE)


@router.post(
    TOKEN_PATH.removeprefix("/oauth"),
    response_model=TokenResponse,
    responses=_OAUTH_ERRORS,
    summary="Poll for the device's token (RFC 8628 §3.4)",
    openapi_extra=_form_body(
        {
            "grant_type": {"type": "string", "enum": [DEVICE_CODE_GRANT]},
            "device_code": {"type": "string", "maxLength": 100},
            "client_id": {"type": "string", "enum": ["keybroker-cli"]},
        },
        ["grant_type", "device_code", "client_id"],
    ),
)
async def token(request: Request, context: Context) -> JSONResponse:
    """The device token once a person approved the request; until then the RFC's
    ``authorization_pending``, ``slow_down`` (polled too fast: wait 5 s more from now
    on), ``access_denied``, ``expired_token``; ``invalid_grant`` for an unknown or
    already used device code."""
    try:
        fields = await _oauth_form(request, TOKEN_FIELDS)
        grant_type = fields.get("grant_type")
        if not grant_type:
            raise OAuthError("invalid_request", "grant_type is missing")
        if grant_type != DEVICE_CODE_GRANT:
            raise OAuthError(
                "unsupported_grant_type", f"this server supports only {DEVICE_CODE_GRANT}"
            )
        client_id = check_client(fields.get("client_id"))
        device_code = fields.get("device_code")
        if not device_code:
            raise OAuthError("invalid_request", "device_code is missing")
        issued = await run_in_threadpool(context.device_flow.poll, client_id, device_code)
    except OAuthError as exc:
        return oauth_error(exc)
    from keybroker.server.database import utcnow

    remaining = issued.expires_at.replace(tzinfo=None) - utcnow()
    answer = TokenResponse(
        access_token=issued.access_token,
        token_type="Bearer",  # noqa: S106 - the OAuth token type
        expires_in=max(0, int(remaining.total_seconds())),
    )
    return JSONResponse(answer.model_dump(), headers=NO_STORE)
