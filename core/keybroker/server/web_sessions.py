"""Browser sessions of the device pages, and the CSRF tokens bound to them.

Every visitor holds one cookie. Before signing in it is an anonymous value the
server keeps nothing for (``kba_...``: a page view costs no database write); a
sign-in replaces it with a fresh session value (``kbw_...``) whose keyed hash is a
row of ``web_sessions``, short-lived (15 minutes by default) and never accepted
as an API credential. Replacing the value at sign-in defeats session fixation.

Every form carries a synchronizer token derived from the cookie's value with a
server key (an HMAC): a page of another site can neither read the cookie nor
compute the token, and a token stops matching when the session changes.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import secrets
import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import TYPE_CHECKING

from keybroker.server.database import aware, naive, reader, utcnow
from keybroker.server.principal import AccountKind, Principal
from keybroker.server.tokens import CredentialKind, TokenHasher

if TYPE_CHECKING:
    from sqlalchemy.engine import Engine

ANONYMOUS_PREFIX = "kba_"
SESSION_PREFIX = "kbw_"
_CSRF_LABEL = b"keybroker/server/csrf/v1"
_MAX_COOKIE = 100


@dataclass(frozen=True)
class WebUser:
    """The person signed in to a browser session."""

    session_id: str
    user_id: str
    name: str
    is_admin: bool
    expires_at: datetime

    def principal(self) -> Principal:
        """This person as the actor of audit entries (credential kind ``web``)."""
        return Principal(
            user_id=self.user_id,
            name=self.name,
            kind=AccountKind.USER,
            is_admin=self.is_admin,
            credential_id=self.session_id,
            credential_kind=CredentialKind.WEB,
            expires_at=self.expires_at,
        )


def new_anonymous_value() -> str:
    """A cookie value for a visitor who has not signed in."""
    return ANONYMOUS_PREFIX + secrets.token_urlsafe(32)


def is_cookie_value(value: str | None) -> bool:
    """Whether ``value`` has the shape of one of our cookie values."""
    return (
        value is not None
        and len(value) <= _MAX_COOKIE
        and value.startswith((ANONYMOUS_PREFIX, SESSION_PREFIX))
        and value.isascii()
        and value[4:].replace("-", "").replace("_", "").isalnum()
    )


class WebSessions:
    """Signed-in browser sessions, stored as keyed hashes, and their CSRF tokens."""

    def __init__(
        self, engine: Engine, hasher: TokenHasher, key: bytes, lifetime: timedelta
    ) -> None:
        self._engine = engine
        self._reader = reader(engine)
        self._hasher = hasher
        self._csrf_key = hmac.new(key, _CSRF_LABEL, hashlib.sha256).digest()
        self._lifetime = lifetime

    def __repr__(self) -> str:
        return f"WebSessions(lifetime={self._lifetime})"

    @property
    def lifetime(self) -> timedelta:
        """How long a signed-in session lasts."""
        return self._lifetime

    def csrf_token(self, cookie_value: str) -> str:
        """The synchronizer token of the session ``cookie_value``."""
        digest = hmac.new(self._csrf_key, cookie_value.encode(), hashlib.sha256).digest()
        return base64.urlsafe_b64encode(digest).decode().rstrip("=")

    def csrf_matches(self, cookie_value: str | None, submitted: str | None) -> bool:
        """Whether a form's token belongs to the session its cookie names (constant time)."""
        if not is_cookie_value(cookie_value) or not submitted or len(submitted) > 100:
            return False
        expected = self.csrf_token(cookie_value)  # type: ignore[arg-type]  # checked above
        return hmac.compare_digest(expected.encode(), submitted.encode("utf-8", "replace"))

    def start(self, user_id: str, client_ip: str | None) -> tuple[str, datetime]:
        """A new signed-in session for ``user_id``: its cookie value and expiry."""
        from sqlalchemy import delete, insert

        from keybroker.server.schema import web_sessions

        value = SESSION_PREFIX + secrets.token_urlsafe(32)
        now = utcnow()
        expires = now + self._lifetime
        with self._engine.begin() as connection:
            connection.execute(delete(web_sessions).where(web_sessions.c.expires_at < now))
            connection.execute(
                insert(web_sessions).values(
                    id=str(uuid.uuid4()),
                    token_hash=self._hasher.hash(value),
                    user_id=user_id,
                    created=now,
                    expires_at=expires,
                    client_ip=client_ip[:64] if client_ip else None,
                )
            )
        return value, aware(expires)  # type: ignore[return-value]

    def current(self, cookie_value: str | None) -> WebUser | None:
        """The person signed in to the session ``cookie_value``, or None (anonymous,
        unknown, expired, or the account was deactivated)."""
        from sqlalchemy import select

        from keybroker.server.schema import users, web_sessions

        if not is_cookie_value(cookie_value) or not cookie_value.startswith(SESSION_PREFIX):  # type: ignore[union-attr]
            return None
        hashes = self._hasher.candidates(cookie_value)  # type: ignore[arg-type]
        with self._reader.connect() as connection:
            row = connection.execute(
                select(
                    web_sessions.c.id,
                    web_sessions.c.token_hash,
                    web_sessions.c.expires_at,
                    users.c.id.label("user_id"),
                    users.c.name,
                    users.c.is_admin,
                    users.c.active,
                )
                .select_from(web_sessions.join(users, users.c.id == web_sessions.c.user_id))
                .where(web_sessions.c.token_hash.in_(hashes))
            ).first()
        if row is None or not any(hmac.compare_digest(row.token_hash, h) for h in hashes):
            return None
        expires = naive(row.expires_at)
        if expires is None or expires <= utcnow() or not row.active:
            return None
        return WebUser(
            session_id=row.id,
            user_id=row.user_id,
            name=row.name,
            is_admin=bool(row.is_admin),
            expires_at=aware(expires),  # type: ignore[arg-type]
        )

    def end(self, cookie_value: str | None) -> None:
        """Sign a browser session out (nothing to do for an anonymous one)."""
        from sqlalchemy import delete

        from keybroker.server.schema import web_sessions

        if not is_cookie_value(cookie_value) or not cookie_value.startswith(SESSION_PREFIX):  # type: ignore[union-attr]
            return
        hashes = self._hasher.candidates(cookie_value)  # type: ignore[arg-type]
        with self._engine.begin() as connection:
            connection.execute(delete(web_sessions).where(web_sessions.c.token_hash.in_(hashes)))
