"""Errors raised by keybroker.

Every error carries a one-line, user-facing message that names the bad value and
what is accepted, never a secret. When one request parameter is at fault, the
error names it in :attr:`KeybrokerError.parameter` (``resource_type``, not a
command-line flag): the CLI words it as its option, the HTTP API as a field.

Each class maps to exactly one process exit code (:attr:`~KeybrokerError.exit_code`:
``2`` for a request that is wrong, ``1`` for an operation that failed) and one
HTTP status (:attr:`~KeybrokerError.http_status`). ``docs/reference/errors.md`` has the
table.
"""

from __future__ import annotations


class KeybrokerError(Exception):
    """Base class of every error keybroker reports to a user."""

    exit_code = 1
    http_status = 500

    def __init__(self, message: str, *, parameter: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.parameter = parameter

    def __str__(self) -> str:
        return self.message


class UsageError(KeybrokerError):
    """The request itself is wrong: a bad value, a missing attribute, an unknown choice."""

    exit_code = 2
    http_status = 400


class NotFoundError(UsageError):
    """A connector or connector type that the request names does not exist."""

    http_status = 404


class ConflictError(UsageError):
    """The request clashes with what is stored: a duplicate name, a stale version."""

    http_status = 409


class StaleVersionError(ConflictError):
    """A connector changed between being read and being written back (optimistic check).

    Nothing was wrong with the request: running it again succeeds. So unlike
    other conflicts it exits 1 (a failed operation, worth retrying), not 2
    (a request to fix); its HTTP status stays 409.
    """

    exit_code = 1


class UnauthenticatedError(KeybrokerError):
    """The caller has not signed in, or the sign-in expired (a team server asks for it)."""

    http_status = 401


class PermissionDeniedError(KeybrokerError):
    """The caller is signed in but may not do this (e.g. another user's private connector)."""

    http_status = 403


class OperationError(KeybrokerError):
    """An operation was well formed but could not be carried out with the connector as it is."""

    http_status = 422


class AuthorizationError(OperationError):
    """A connector's credentials were refused, or do not reach the requested resource.

    About the connector's credentials at the cloud, not the caller's sign-in
    (that is :class:`UnauthenticatedError` / :class:`PermissionDeniedError`).
    """


class ConnectionFailure(OperationError):
    """The remote service could not be reached (or did not answer in time)."""

    http_status = 502


class PluginError(OperationError):
    """A plugin could not be loaded or misbehaved (a missing hook, a result of the wrong kind)."""

    http_status = 500


class StoreError(OperationError):
    """The connector store failed (corrupt database, wrong encryption key, ...)."""

    http_status = 500


#: every error class, for documentation and tests of the exit-code / status table
ERROR_CLASSES: tuple[type[KeybrokerError], ...] = (
    KeybrokerError,
    UsageError,
    NotFoundError,
    ConflictError,
    StaleVersionError,
    UnauthenticatedError,
    PermissionDeniedError,
    OperationError,
    AuthorizationError,
    ConnectionFailure,
    PluginError,
    StoreError,
)
