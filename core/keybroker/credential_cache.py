"""Temporary credentials issued once and reused until shortly before they expire.

A cloud plugin that mints short-lived credentials (an STS session, an OAuth2
access token) for a connector and a resource keeps them in a
:class:`CredentialCache` so that repeated operations in one process (a
``list-resources`` fan-out, a Python client renewing itself) do not mint new
ones every time. Keys are built with :func:`credentials_fingerprint`, which
never holds a secret in clear.
"""

from __future__ import annotations

import hashlib
import threading
from collections.abc import Callable, Hashable
from datetime import datetime, timedelta
from typing import Generic, TypeVar

from keybroker.connector import utcnow
from keybroker.types import AuthConfig

T = TypeVar("T")

#: credentials are replaced at most this long before they expire ...
MAX_RENEW_MARGIN = timedelta(minutes=5)
#: ... and at least this long, whatever their lifetime
MIN_RENEW_MARGIN = timedelta(seconds=10)


def renew_margin(lifetime: timedelta) -> timedelta:
    """How long before expiry credentials that lived ``lifetime`` are replaced.

    A fifth of the lifetime, between 10 seconds and 5 minutes: an hour-long token
    is replaced 5 minutes early, a 15-minute one 3 minutes early.
    """
    return max(MIN_RENEW_MARGIN, min(MAX_RENEW_MARGIN, lifetime / 5))


def credentials_fingerprint(config: AuthConfig, *parts: object) -> str:
    """A digest naming ``config`` (secrets included) and ``parts``; reveals neither."""
    text = config.model_dump_json(exclude_none=True, round_trip=True)
    secrets = sorted(
        (name, value.get_secret_value())
        for name, value in config
        if hasattr(value, "get_secret_value")
    )
    digest = hashlib.sha256()
    for piece in (text, repr(secrets), *map(repr, parts)):
        digest.update(piece.encode())
        digest.update(b"\0")
    return digest.hexdigest()


class _Entry(Generic[T]):
    __slots__ = ("expires_at", "lock", "renew_after", "value")

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.value: T | None = None
        self.expires_at: datetime | None = None
        self.renew_after: datetime | None = None


class CredentialCache(Generic[T]):
    """Credentials per key, issued on first use and again shortly before they expire.

    ``expiry`` tells when a value expires (timezone-aware). Concurrent callers
    asking for the same key wait for one issue instead of each minting their own.
    """

    def __init__(self, expiry: Callable[[T], datetime]) -> None:
        self._expiry = expiry
        self._entries: dict[Hashable, _Entry[T]] = {}
        self._lock = threading.Lock()

    def get(self, key: Hashable, issue: Callable[[], T]) -> T:
        """The cached value for ``key`` while fresh, else ``issue()``'s (then cached)."""
        with self._lock:
            entry = self._entries.setdefault(key, _Entry())
        with entry.lock:
            now = utcnow()
            if entry.value is not None and entry.renew_after and now < entry.renew_after:
                return entry.value
            value = issue()
            expires_at = self._expiry(value)
            entry.value = value
            entry.expires_at = expires_at
            entry.renew_after = expires_at - renew_margin(max(expires_at - now, timedelta(0)))
            return value

    def clear(self) -> None:
        """Forget every cached value: the next ``get`` of each key issues anew."""
        with self._lock:
            self._entries.clear()

    def __len__(self) -> int:
        with self._lock:
            return sum(1 for e in self._entries.values() if e.value is not None)


__all__ = ["CredentialCache", "credentials_fingerprint", "renew_margin"]
