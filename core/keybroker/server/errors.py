"""How the HTTP layer answers errors: one JSON shape, codes beside keybroker's statuses.

Every failure, including validation errors, unknown routes and wrong methods,
answers::

    {"error": {"code": "not_found", "message": "...", "parameter": "name" | null,
               "request_id": "..." | null}}

The status is the error class's :attr:`~keybroker.errors.KeybrokerError.http_status`
(the one table in :mod:`keybroker.errors`); ``code`` is a stable machine-readable
name for it, ``message`` is for a person, ``parameter`` names the request field at
fault when there is one.
"""

from __future__ import annotations

from keybroker.errors import (
    AuthorizationError,
    ConflictError,
    ConnectionFailure,
    KeybrokerError,
    NotFoundError,
    OperationError,
    PermissionDeniedError,
    PluginError,
    StaleVersionError,
    StoreError,
    UnauthenticatedError,
    UsageError,
)


class RateLimited(OperationError):
    """Too many attempts; try again after ``retry_after`` seconds (HTTP 429)."""

    http_status = 429

    def __init__(self, message: str, retry_after: int) -> None:
        super().__init__(message)
        self.retry_after = retry_after


class DeviceLocked(UnauthenticatedError):
    """The device token belongs to a locked device (HTTP 401, code ``device_locked``).

    The client words its own message for this code: run ``keybroker connect`` again.
    """


#: error class -> stable error code; the most specific class listed first wins
CODES: list[tuple[type[KeybrokerError], str]] = [
    (RateLimited, "rate_limited"),
    (DeviceLocked, "device_locked"),
    (UnauthenticatedError, "not_authenticated"),
    (PermissionDeniedError, "forbidden"),
    (NotFoundError, "not_found"),
    (StaleVersionError, "stale_version"),
    (ConflictError, "conflict"),
    (UsageError, "bad_request"),
    (AuthorizationError, "credentials_refused"),
    (ConnectionFailure, "upstream_unreachable"),
    (PluginError, "plugin_failed"),
    (StoreError, "store_failed"),
    (OperationError, "operation_failed"),
    (KeybrokerError, "error"),
]


def code_for(exc: KeybrokerError) -> str:
    """The stable error code of ``exc``."""
    return next(code for cls, code in CODES if isinstance(exc, cls))


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
