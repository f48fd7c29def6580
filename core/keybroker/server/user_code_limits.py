"""Limits on wrong user codes typed on the device pages, shared by every replica.

A wrong (or unknown, expired, used) user code counts against the signed-in
account and against the client address, in the database; past either limit the
pages answer 429 with ``Retry-After`` before looking the code up. A right code
clears nothing: an attacker could otherwise reset the count with a code of their
own. Device authorization requests are limited per address too, counted from the
requests themselves.
"""

from __future__ import annotations

import math
from datetime import datetime, timedelta
from typing import TYPE_CHECKING

from keybroker.server.database import naive, reader, utcnow
from keybroker.server.errors import RateLimited
from keybroker.server.ratelimit import seconds_until_under_limit

if TYPE_CHECKING:
    from sqlalchemy.engine import Engine


def _retry_after(oldest_counted: datetime | None, window: timedelta, now: datetime) -> int:
    if oldest_counted is None:
        return 1
    return max(1, math.ceil((oldest_counted + window - now).total_seconds()))


class UserCodeLimiter:
    """Counts wrong user codes per account and per address in a sliding window."""

    def __init__(
        self, engine: Engine, *, per_user: int, per_address: int, window_seconds: int
    ) -> None:
        self._engine = engine
        self._reader = reader(engine)
        self._limits = {"user": per_user, "address": per_address}
        self._window = timedelta(seconds=window_seconds)

    def __repr__(self) -> str:
        return f"UserCodeLimiter(limits={self._limits}, window={self._window})"

    @staticmethod
    def _subjects(user_id: str, address: str | None) -> dict[str, str]:
        subjects = {"user": user_id}
        if address:
            subjects["address"] = address[:64]
        return subjects

    def check(self, user_id: str, address: str | None) -> None:
        """Raise ``RateLimited`` (with Retry-After) when either limit is reached."""
        from keybroker.server.schema import user_code_failures

        now = utcnow()
        with self._reader.connect() as connection:
            for scope, subject in self._subjects(user_id, address).items():
                wait = seconds_until_under_limit(
                    connection,
                    user_code_failures,
                    scope,
                    subject,
                    limit=self._limits[scope],
                    window=self._window,
                    now=now,
                )
                if wait is not None:
                    raise RateLimited(
                        f"too many wrong codes; try again in {wait} s", retry_after=wait
                    )

    def record_failure(self, user_id: str, address: str | None) -> None:
        """Count one wrong code against the account and the address."""
        from sqlalchemy import delete, insert

        from keybroker.server.schema import user_code_failures as failures

        now = utcnow()
        with self._engine.begin() as connection:
            for scope, subject in self._subjects(user_id, address).items():
                connection.execute(insert(failures).values(scope=scope, subject=subject, at=now))
            connection.execute(delete(failures).where(failures.c.at < now - self._window))


class DeviceRequestLimiter:
    """Limits device authorization requests per client address (counted from the requests)."""

    def __init__(self, engine: Engine, *, per_address: int, window_seconds: int) -> None:
        self._reader = reader(engine)
        self._limit = per_address
        self._window = timedelta(seconds=window_seconds)

    def __repr__(self) -> str:
        return f"DeviceRequestLimiter(limit={self._limit}, window={self._window})"

    def check(self, address: str | None) -> None:
        """Raise ``RateLimited`` when ``address`` made too many requests in the window."""
        from sqlalchemy import select

        from keybroker.server.schema import device_authorizations as requests

        if not address:
            return
        now = utcnow()
        with self._reader.connect() as connection:
            rows = connection.execute(
                select(requests.c.created)
                .where(
                    requests.c.client_ip == address[:64], requests.c.created > now - self._window
                )
                .order_by(requests.c.created.desc())
                .limit(self._limit)
            ).all()
        if len(rows) >= self._limit:
            wait = _retry_after(naive(rows[-1].created), self._window, now)
            raise RateLimited(
                f"too many device authorization requests from your address; try again in {wait} s",
                retry_after=wait,
            )
