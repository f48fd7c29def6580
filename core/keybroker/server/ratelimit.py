"""Sign-in rate limits per user name and per client address, shared by every replica.

Failed attempts are rows in the database, so a limit holds however many replicas
answer. User names are stored as keyed hashes: a password typed into the name
field never lands in the database in clear.
"""

from __future__ import annotations

import hashlib
import hmac
import math
from datetime import datetime, timedelta
from typing import TYPE_CHECKING

from keybroker.server.database import naive, reader, utcnow
from keybroker.server.errors import RateLimited

if TYPE_CHECKING:
    from sqlalchemy import Table
    from sqlalchemy.engine import Connection, Engine


def seconds_until_under_limit(
    connection: Connection,
    failures: Table,
    scope: str,
    subject: str,
    *,
    limit: int,
    window: timedelta,
    now: datetime,
) -> int | None:
    """Seconds until ``subject`` has fewer than ``limit`` failures of ``scope`` in the
    sliding ``window``; None when it has now.

    ``failures`` is a table of ``scope``, ``subject`` and ``at`` columns
    (``sign_in_failures``, ``user_code_failures``).
    """
    from sqlalchemy import select

    rows = connection.execute(
        select(failures.c.at)
        .where(
            failures.c.scope == scope,
            failures.c.subject == subject,
            failures.c.at > now - window,
        )
        .order_by(failures.c.at.desc())
        .limit(limit)
    ).all()
    if len(rows) < limit:
        return None
    oldest_counted = naive(rows[-1].at) or now  # the column is NOT NULL; never ``now``
    return max(1, math.ceil((oldest_counted + window - now).total_seconds()))


class SignInLimiter:
    """Counts failed sign-ins in a sliding window and refuses past the limits."""

    def __init__(
        self,
        engine: Engine,
        key: bytes,
        *,
        per_user: int,
        per_address: int,
        window_seconds: int,
    ) -> None:
        self._engine = engine
        self._reader = reader(engine)
        self._key = key
        self._limits = {"user": per_user, "address": per_address}
        self._window = timedelta(seconds=window_seconds)

    def __repr__(self) -> str:
        return f"SignInLimiter(limits={self._limits}, window={self._window})"

    def _subjects(self, username: str, address: str | None) -> dict[str, str]:
        subjects = {
            "user": hmac.new(self._key, b"user:" + username.encode(), hashlib.sha256).hexdigest()
        }
        if address:
            subjects["address"] = address[:64]
        return subjects

    def _retry_after(self, connection: Connection, scope: str, subject: str) -> int | None:
        """Seconds until ``subject`` is under its limit again; None when it is now."""
        from keybroker.server.schema import sign_in_failures

        return seconds_until_under_limit(
            connection,
            sign_in_failures,
            scope,
            subject,
            limit=self._limits[scope],
            window=self._window,
            now=utcnow(),
        )

    def check(self, username: str, address: str | None) -> None:
        """Raise ``RateLimited`` (with Retry-After) when either limit is reached."""
        with self._reader.connect() as connection:
            for scope, subject in self._subjects(username, address).items():
                wait = self._retry_after(connection, scope, subject)
                if wait is not None:
                    what = "this user name" if scope == "user" else "your address"
                    raise RateLimited(
                        f"too many failed sign-ins for {what}; try again in {wait} s", wait
                    )

    def record_failure(self, username: str, address: str | None) -> None:
        """Count one failed attempt against the user name and the address."""
        from sqlalchemy import delete, insert

        from keybroker.server.schema import sign_in_failures as failures

        now = utcnow()
        with self._engine.begin() as connection:
            for scope, subject in self._subjects(username, address).items():
                connection.execute(insert(failures).values(scope=scope, subject=subject, at=now))
            connection.execute(delete(failures).where(failures.c.at < now - self._window))

    def forget_user(self, username: str) -> None:
        """Clear the user name's failures after a successful sign-in."""
        from sqlalchemy import delete

        from keybroker.server.schema import sign_in_failures as failures

        subject = self._subjects(username, None)["user"]
        with self._engine.begin() as connection:
            connection.execute(
                delete(failures).where(failures.c.scope == "user", failures.c.subject == subject)
            )
