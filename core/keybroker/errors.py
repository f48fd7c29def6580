"""Errors raised by keybroker.

Every error carries a one-line, user-facing message that names the bad value and
what is accepted. The CLI maps :attr:`KeybrokerError.exit_code` to the process
exit code: ``2`` for bad usage, ``1`` for an operation that failed.
"""

from __future__ import annotations


class KeybrokerError(Exception):
    """Base class of every error keybroker reports to a user."""

    exit_code = 1

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message

    def __str__(self) -> str:
        return self.message


class UsageError(KeybrokerError):
    """The request itself is wrong: an unknown name, a bad value, a missing attribute."""

    exit_code = 2


class NotFoundError(UsageError):
    """A connector, connector type, auth method or resource type does not exist."""


class ConflictError(UsageError):
    """The request clashes with what is stored, e.g. a duplicate connector name."""


class OperationError(KeybrokerError):
    """An operation was well formed but did not succeed."""


class AuthorizationError(OperationError):
    """Credentials were refused, or do not grant access to the requested resource."""


class ConnectionFailure(OperationError):
    """The remote service could not be reached (or did not answer in time)."""


class PluginError(OperationError):
    """A plugin could not be loaded or misbehaved."""


class StoreError(OperationError):
    """The connector store failed (corrupt database, wrong encryption key, ...)."""
