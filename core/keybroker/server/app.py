"""The ASGI application: :func:`create_app` builds it from :class:`ServerSettings`.

The server only authenticates and routes: handlers call the user, sign-in and
audit services (and, next, the connector operations). Every failure answers the
JSON error shape of :mod:`keybroker.server.errors`.
"""

from __future__ import annotations

import logging
import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from sqlalchemy.exc import InterfaceError, OperationalError
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from keybroker import __version__
from keybroker.errors import KeybrokerError
from keybroker.server.context import ServerContext
from keybroker.server.errors import RateLimited, code_for, error_body
from keybroker.server.lanes import open_database_lane
from keybroker.server.models import ErrorResponse
from keybroker.server.settings import ServerSettings

log = logging.getLogger("keybroker.server")

API_PREFIX = "/api/v1"

_CODES_BY_STATUS = {
    400: "bad_request",
    401: "not_authenticated",
    403: "forbidden",
    404: "not_found",
    405: "method_not_allowed",
    406: "not_acceptable",
    413: "payload_too_large",
    415: "unsupported_media_type",
}

_ERROR_RESPONSES: dict[int | str, dict[str, Any]] = {
    status: {"model": ErrorResponse, "description": description}
    for status, description in [
        (400, "bad request"),
        (401, "missing, unknown, expired or revoked token"),
        (403, "not allowed for this account"),
        (404, "not found"),
        (405, "method not allowed"),
        (409, "conflict with what is stored"),
        (422, "request fields failed validation"),
        (429, "too many attempts; see Retry-After"),
        (500, "unexpected server failure; quote request_id"),
        (503, "the database did not answer; retry"),
    ]
}


def _log_unexpected(exc: BaseException, request_id: str, method: str, path: str) -> None:
    """Log where an unexpected exception came from, never its message (it may hold secrets)."""
    import traceback

    frames = traceback.extract_tb(exc.__traceback__)
    where = " <- ".join(
        f"{f.filename.rsplit('/', 1)[-1]}:{f.lineno}" for f in reversed(frames[-6:])
    )
    log.error(
        "unexpected %s answering %s %s (request %s) at %s",
        type(exc).__name__,
        method,
        path,
        request_id,
        where,
    )


class CatchAllMiddleware:
    """Turns an exception no handler took into a 500 with a request id, logged without secrets.

    Pure ASGI (no per-request task overhead) and the outermost layer of our own, so
    the exception never reaches the server's own traceback logging.
    """

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = False

        async def tracking_send(message: Message) -> None:
            nonlocal started
            if message["type"] == "http.response.start":
                started = True
            await send(message)

        try:
            await self.app(scope, receive, tracking_send)
        except Exception as exc:
            request_id = uuid.uuid4().hex
            _log_unexpected(exc, request_id, scope.get("method", ""), scope.get("path", ""))
            if started:
                return
            response = JSONResponse(
                error_body(
                    "internal_error",
                    "the server failed unexpectedly; report the request id to its operators",
                    request_id=request_id,
                ),
                status_code=500,
            )
            await response(scope, receive, send)


#: HTTP Strict Transport Security for answers over TLS: one year, subdomains left alone
HSTS = b"max-age=31536000"


class StrictTransportMiddleware:
    """Adds ``Strict-Transport-Security`` to every answer sent over https.

    A browser that once reached the server over TLS then refuses plain http to it,
    so the device pages' sign-in cannot be downgraded. Over plain http the header
    would mean nothing (RFC 6797 §7.2) and is not sent. Behind a TLS-terminating
    proxy the scheme comes from ``X-Forwarded-Proto`` of a trusted proxy.
    """

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope.get("scheme") != "https":
            await self.app(scope, receive, send)
            return

        async def send_with_hsts(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = list(message.get("headers", []))
                headers.append((b"strict-transport-security", HSTS))
                message = {**message, "headers": headers}
            await send(message)

        await self.app(scope, receive, send_with_hsts)


async def _keybroker_error(request: Request, exc: Exception) -> JSONResponse:
    if not isinstance(exc, KeybrokerError):  # registered for KeybrokerError only
        raise exc
    status = exc.http_status
    headers: dict[str, str] = {}
    if isinstance(exc, RateLimited):
        headers["Retry-After"] = str(exc.retry_after)
    if status == 401:
        headers["WWW-Authenticate"] = "Bearer"
    return JSONResponse(
        error_body(code_for(exc), exc.message, exc.parameter), status_code=status, headers=headers
    )


async def _database_unavailable(request: Request, exc: Exception) -> JSONResponse:
    """A lost or refused database connection: retryable, logged without its message."""
    log.warning(
        "database unavailable answering %s %s: %s",
        request.method,
        request.url.path,
        type(exc).__name__,
    )
    return JSONResponse(
        error_body("store_unavailable", "the database did not answer; try again"),
        status_code=503,
        headers={"Retry-After": "1"},
    )


async def _validation_error(request: Request, exc: Exception) -> JSONResponse:
    errors = exc.errors() if isinstance(exc, RequestValidationError) else []
    first = errors[0] if errors else {"loc": (), "msg": "invalid request", "type": ""}
    if first.get("type") == "json_invalid":
        return JSONResponse(
            error_body("invalid_json", "the request body is not valid JSON"), status_code=400
        )
    if tuple(first.get("loc", ())) == ("body",):
        return JSONResponse(
            error_body(
                "validation_error",
                "the request body must be a JSON object (Content-Type: application/json)",
            ),
            status_code=422,
        )
    location = [str(part) for part in first.get("loc", ()) if part not in ("body", "query", "path")]
    parameter = ".".join(location) or None
    message = str(first.get("msg", "invalid value"))
    if parameter:
        message = f"{parameter}: {message}"
    if len(errors) > 1:
        message += f" (and {len(errors) - 1} more problem{'s' if len(errors) > 2 else ''})"
    return JSONResponse(error_body("validation_error", message, parameter), status_code=422)


def _allowed_methods(request: Request) -> list[str]:
    """The methods the OpenAPI document lists for this path (for the ``Allow`` header)."""
    import re

    table: list[tuple[re.Pattern[str], list[str]]] | None = getattr(
        request.app.state, "allowed_methods", None
    )
    if table is None:
        table = []
        for template, operations in request.app.openapi().get("paths", {}).items():
            pattern = re.sub(r"\\{[^/]+?\\}", "[^/]+", re.escape(template))
            table.append((re.compile(f"^{pattern}$"), sorted(m.upper() for m in operations)))
        request.app.state.allowed_methods = table
    path = request.url.path
    return next((methods for pattern, methods in table if pattern.match(path)), [])


async def _http_error(request: Request, exc: Exception) -> JSONResponse:
    status = exc.status_code if isinstance(exc, StarletteHTTPException) else 500
    code = _CODES_BY_STATUS.get(status, "http_error")
    if status == 404:
        message = f"no such endpoint: {request.method} {request.url.path}; see /openapi.json"
    elif status == 405:
        message = f"{request.method} is not allowed on {request.url.path}"
        allowed = _allowed_methods(request)
        if allowed:
            return JSONResponse(
                error_body(code, message), status_code=405, headers={"Allow": ", ".join(allowed)}
            )
    else:
        message = str(getattr(exc, "detail", "")) or code.replace("_", " ")
    headers = getattr(exc, "headers", None)
    return JSONResponse(error_body(code, message), status_code=status, headers=headers)


def create_app(settings: ServerSettings | None = None, *, prepare: bool = True) -> FastAPI:
    """The server application for ``settings`` (from the environment when None).

    With ``prepare`` the database is migrated (under a lock) and the first admin
    created when the application starts; a generated admin password is printed
    once to stdout.
    """
    from keybroker.server.routes import (
        audit,
        auth,
        connectors,
        device_pages,
        devices,
        health,
        oauth,
        service_accounts,
        users,
    )

    settings = settings or ServerSettings.from_env()
    context = ServerContext.create(settings)

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        open_database_lane(settings.database_threads)
        if prepare:
            from starlette.concurrency import run_in_threadpool

            generated = await run_in_threadpool(context.prepare)
            if generated:
                print_generated_admin_password(generated)
        yield
        context.close()

    app = FastAPI(
        title="keybroker",
        version=__version__,
        summary="Team server for keybroker service connectors",
        lifespan=lifespan,
        responses=_ERROR_RESPONSES,
        docs_url=None,
        redoc_url=None,
    )
    app.state.context = context
    app.add_exception_handler(KeybrokerError, _keybroker_error)
    app.add_exception_handler(RequestValidationError, _validation_error)
    app.add_exception_handler(StarletteHTTPException, _http_error)
    app.add_exception_handler(OperationalError, _database_unavailable)
    app.add_exception_handler(InterfaceError, _database_unavailable)
    app.add_middleware(CatchAllMiddleware)
    app.add_middleware(StrictTransportMiddleware)
    app.include_router(health.router)
    for module in (auth, users, audit, connectors):
        app.include_router(module.router, prefix=API_PREFIX)
    app.include_router(devices.router, prefix=API_PREFIX)
    app.include_router(service_accounts.router, prefix=API_PREFIX)
    app.include_router(oauth.router, prefix=API_PREFIX)
    app.include_router(oauth.well_known)
    app.include_router(device_pages.router)
    return app


def print_generated_admin_password(password: str) -> None:
    """Show a generated admin password once, on stdout (never through logging)."""
    print(
        "keybroker server: created the user 'admin' with the generated password\n\n"
        f"    {password}\n\n"
        "It is shown only this once: sign in with it and change it "
        "('keybroker user update admin --password-prompt').",
        flush=True,
    )


def app_from_env() -> FastAPI:
    """Factory for ``uvicorn --factory keybroker.server.app:app_from_env``."""
    return create_app()
