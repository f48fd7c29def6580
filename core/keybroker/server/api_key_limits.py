"""Failed API-key attempts, limited per client address across replicas.

An API key presented and refused (unknown, malformed, deleted, deactivated,
rotated away) counts against the client's address, as a row of
``sign_in_failures`` (scope ``api_key``), so every replica sees the same count.
Past the limit, every API-key request from that address, a right key included,
is answered 429 with ``Retry-After`` before any key is looked up, until the
oldest counted failure leaves the window. A success clears nothing: an attacker
holding one valid key could otherwise reset the count between guesses.
"""

from __future__ import annotations

from datetime import timedelta
from typing import TYPE_CHECKING

from keybroker.server.database import reader, utcnow
from keybroker.server.errors import RateLimited
from keybroker.server.ratelimit import seconds_until_under_limit

if TYPE_CHECKING:
    from sqlalchemy.engine import Engine

SCOPE = "api_key"


class ApiKeyLimiter:
    """Counts refused API keys per client address in a sliding window."""

    def __init__(self, engine: Engine, *, per_address: int, window_seconds: int) -> None:
        self._engine = engine
        self._reader = reader(engine)
        self._limit = per_address
        self._window = timedelta(seconds=window_seconds)

    def __repr__(self) -> str:
        return f"ApiKeyLimiter(limit={self._limit}, window={self._window})"

    def check(self, address: str | None) -> None:
        """Raise ``RateLimited`` (with Retry-After) when ``address`` reached the limit."""
        from keybroker.server.schema import sign_in_failures

        if not address:
            return
        with self._reader.connect() as connection:
            wait = seconds_until_under_limit(
                connection,
                sign_in_failures,
                SCOPE,
                address[:64],
                limit=self._limit,
                window=self._window,
                now=utcnow(),
            )
        if wait is None:
            return
        raise RateLimited(
            f"too many refused API keys from your address; try again in {wait} s", wait
        )

    def record_failure(self, address: str | None) -> None:
        """Count one refused API key against ``address``."""
        from sqlalchemy import delete, insert

        from keybroker.server.schema import sign_in_failures as failures

        if not address:
            return
        now = utcnow()
        with self._engine.begin() as connection:
            connection.execute(insert(failures).values(scope=SCOPE, subject=address[:64], at=now))
            connection.execute(
                delete(failures).where(
                    failures.c.scope == SCOPE, failures.c.at < now - self._window
                )
            )
