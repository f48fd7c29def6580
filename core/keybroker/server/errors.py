"""Errors the HTTP layer answers, their status codes, and the one JSON error shape.

Every failure, including validation errors, unknown routes and wrong methods,
answers::

    {"error": {"code": "not_found", "message": "...", "parameter": "name" | null,
               "request_id": "..." | null}}

``code`` is stable and machine-readable, ``message`` is for a person, ``parameter``
names the request field at fault when there is one.
"""

from __future__ import annotations

from keybroker.errors import (
    AuthorizationError,
    ConflictError,
    ConnectionFailure,
    KeybrokerError,
    NotFoundError,
    OperationError,
    PluginError,
    StoreError,
    UsageError,
)


class NotAuthenticated(KeybrokerError):
    """No credential, or one the server does not accept (HTTP 401)."""


class Forbidden(AuthorizationError):
    """The caller is known but may not do this (HTTP 403)."""


class RateLimited(OperationError):
    """Too many attempts; try again after ``retry_after`` seconds (HTTP 429)."""

    def __init__(self, message: str, retry_after: int) -> None:
        super().__init__(message)
        self.retry_after = retry_after


class InvalidParameter(UsageError):
    """A request value is wrong; ``parameter`` names it (HTTP 400)."""

    def __init__(self, message: str, parameter: str | None = None) -> None:
        super().__init__(message)
        self.parameter = parameter


#: error class -> (HTTP status, code); the most specific class listed first wins
STATUS_BY_ERROR: list[tuple[type[Exception], int, str]] = [
    (NotAuthenticated, 401, "not_authenticated"),
    (Forbidden, 403, "forbidden"),
    (RateLimited, 429, "rate_limited"),
    (NotFoundError, 404, "not_found"),
    (ConflictError, 409, "conflict"),
    (UsageError, 400, "bad_request"),
    (AuthorizationError, 403, "forbidden"),
    (ConnectionFailure, 502, "upstream_unreachable"),
    (PluginError, 502, "plugin_failed"),
    (StoreError, 503, "store_unavailable"),
    (OperationError, 422, "operation_failed"),
    (KeybrokerError, 400, "bad_request"),
]


def status_for(exc: Exception) -> tuple[int, str]:
    """The HTTP status and error code of ``exc`` (500 ``internal_error`` if unknown)."""
    for cls, status, code in STATUS_BY_ERROR:
        if isinstance(exc, cls):
            return status, code
    return 500, "internal_error"


def error_body(
    code: str, message: str, parameter: str | None = None, request_id: str | None = None
) -> dict[str, dict[str, str | None]]:
    """The JSON body of an error answer."""
    return {
        "error": {
            "code": code,
            "message": message,
            "parameter": parameter,
            "request_id": request_id,
        }
    }
