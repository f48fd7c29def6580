"""Bearer credentials: issue a session, resolve a token to a principal, revoke.

Resolving a token is one HMAC and one indexed query joining the credential, its
account, and (for issue 10's kinds) its device or API key. Every check (expiry,
account active, device not locked, key active) reads the database on every
request, so a change made through one replica holds on the next request through
any other.
"""

from __future__ import annotations

import hmac
import uuid
from datetime import datetime, timedelta
from types import SimpleNamespace
from typing import TYPE_CHECKING, Any

from keybroker.errors import UnauthenticatedError
from keybroker.server.database import aware, naive, utcnow
from keybroker.server.errors import DeviceLocked
from keybroker.server.principal import AccountKind, Principal
from keybroker.server.tokens import (
    CredentialKind,
    TokenHasher,
    is_api_key_attempt,
    looks_like_token,
    new_token,
)

if TYPE_CHECKING:
    from sqlalchemy.engine import Connection, Engine

    from keybroker.store.direct_reads import DirectReader, DirectSelect

#: ``last_used`` is written at most this often per credential (a write per read is costly)
LAST_USED_RESOLUTION = timedelta(seconds=60)

_REFUSED = (
    "the token is not valid (unknown, revoked or expired); sign in again with 'keybroker connect'"
)
#: the one answer to an unknown, malformed or deleted API key, whatever the reason
KEY_REFUSED = (
    "the API key is not valid (unknown, deleted, or replaced by a rotation); "
    "use a current key of the service account"
)


class CredentialRefused(UnauthenticatedError):
    """A refused bearer credential; ``account`` names its account when it was found.

    The message is the client's; ``account`` and ``reason`` are for the audit log.
    """

    def __init__(self, message: str, account: str | None = None, reason: str = "") -> None:
        super().__init__(message)
        self.account = account
        self.reason = reason


class CredentialService:
    """Issues and checks bearer credentials, stored only as keyed hashes."""

    def __init__(
        self,
        engine: Engine,
        hasher: TokenHasher,
        session_lifetime: timedelta,
        direct: DirectReader | None = None,
    ) -> None:
        from keybroker.store.direct_reads import DirectReader

        self._engine = engine
        self._direct = direct or DirectReader(engine)
        self._hasher = hasher
        self._session_lifetime = session_lifetime

    def issue_session(self, user_id: str, client_ip: str | None) -> tuple[str, datetime]:
        """A new session token for ``user_id`` and its expiry; expired sessions are purged."""
        from sqlalchemy import delete, insert

        from keybroker.server.schema import credentials

        token = new_token(CredentialKind.SESSION)
        now = utcnow()
        expires = now + self._session_lifetime
        with self._engine.begin() as connection:
            connection.execute(
                delete(credentials).where(
                    credentials.c.user_id == user_id,
                    credentials.c.expires_at.is_not(None),
                    credentials.c.expires_at < now,
                )
            )
            connection.execute(
                insert(credentials).values(
                    id=str(uuid.uuid4()),
                    kind=CredentialKind.SESSION.value,
                    token_hash=self._hasher.hash(token),
                    user_id=user_id,
                    device_id=None,
                    api_key_id=None,
                    created=now,
                    expires_at=expires,
                    last_used=None,
                    client_ip=client_ip,
                )
            )
        return token, aware(expires)  # type: ignore[return-value]

    def _lookup(self, candidates: int) -> DirectSelect:
        """The credential, its account and what it hangs on, for ``candidates`` hashes
        (parameters ``hash0``, ``hash1``, ...)."""

        def build() -> Any:
            from sqlalchemy import bindparam, select

            from keybroker.server.schema import api_keys, credentials, devices, users

            owners = users.alias("owners")
            joined = (
                credentials.join(users, users.c.id == credentials.c.user_id)
                .outerjoin(owners, owners.c.id == users.c.owner_id)
                .outerjoin(devices, devices.c.id == credentials.c.device_id)
                .outerjoin(api_keys, api_keys.c.id == credentials.c.api_key_id)
            )
            hashes: list[Any] = [bindparam(f"hash{index}") for index in range(candidates)]
            return (
                select(
                    credentials.c.id,
                    credentials.c.kind,
                    credentials.c.token_hash,
                    credentials.c.expires_at,
                    credentials.c.last_used,
                    credentials.c.device_id,
                    credentials.c.api_key_id,
                    users.c.id.label("user_id"),
                    users.c.name,
                    users.c.kind.label("account_kind"),
                    users.c.is_admin,
                    users.c.active,
                    devices.c.locked.label("device_locked"),
                    api_keys.c.active.label("key_active"),
                    owners.c.name.label("owner_name"),
                    owners.c.active.label("owner_active"),
                )
                .select_from(joined)
                .where(credentials.c.token_hash.in_(hashes))
            )

        return self._direct.compiled(("credential", candidates), build)

    def authenticate(self, token: str) -> Principal:
        """The principal ``token`` stands for; ``CredentialRefused`` for anything else.

        An unknown token and a wrong one are the same case (one keyed-hash lookup,
        compared in constant time) and get the same answer.
        """
        from sqlalchemy import update

        from keybroker.server.schema import api_keys, credentials, devices

        unknown = KEY_REFUSED if is_api_key_attempt(token) else _REFUSED
        if not looks_like_token(token):
            raise CredentialRefused(unknown, reason="malformed")
        hashes = self._hasher.candidates(token)
        lookup = self._lookup(len(hashes))
        found = self._direct.fetch(lookup, {f"hash{i}": h for i, h in enumerate(hashes)})
        row = SimpleNamespace(**lookup.mapping(found[0])) if found else None
        if row is None or not any(hmac.compare_digest(row.token_hash, h) for h in hashes):
            raise CredentialRefused(unknown, reason="unknown")
        now = utcnow()
        expires_at, last_used = naive(row.expires_at), naive(row.last_used)
        if expires_at is not None and expires_at <= now:
            if row.kind == CredentialKind.API_KEY:
                raise CredentialRefused(
                    "this API key was rotated and its retention has ended; use the new key",
                    row.name,
                    "rotated key past its retention",
                )
            raise CredentialRefused(
                "your session has expired; sign in again with 'keybroker connect'",
                row.name,
                "expired",
            )
        if not row.active:
            machine = row.account_kind == AccountKind.SERVICE_ACCOUNT
            raise CredentialRefused(
                f"the service account '{row.name}' is deactivated; ask its owner or an admin"
                if machine
                else f"the account '{row.name}' is deactivated; ask an admin",
                row.name,
                "account deactivated",
            )
        if row.owner_active is not None and not row.owner_active:
            raise CredentialRefused(
                f"the owner '{row.owner_name}' of the service account '{row.name}' is "
                "deactivated, and a service account may do only what its owner could; "
                "ask an admin",
                row.name,
                "owner deactivated",
            )
        if row.device_locked:
            raise DeviceLocked(
                "this device has been locked; run 'keybroker connect' to authorize it again"
            )
        if row.key_active is not None and not row.key_active:
            raise CredentialRefused(
                f"this API key is deactivated (service account '{row.name}'); "
                "ask its owner or an admin",
                row.name,
                "API key deactivated",
            )
        if last_used is None or now - last_used > LAST_USED_RESOLUTION:
            with self._engine.begin() as connection:
                connection.execute(
                    update(credentials).where(credentials.c.id == row.id).values(last_used=now)
                )
                if row.device_id is not None:
                    connection.execute(
                        update(devices).where(devices.c.id == row.device_id).values(last_used=now)
                    )
                if row.api_key_id is not None:
                    connection.execute(
                        update(api_keys)
                        .where(api_keys.c.id == row.api_key_id)
                        .values(last_used=now)
                    )
        return Principal(
            user_id=row.user_id,
            name=row.name,
            kind=AccountKind(row.account_kind),
            is_admin=bool(row.is_admin) and row.account_kind == AccountKind.USER,
            credential_id=row.id,
            credential_kind=CredentialKind(row.kind),
            expires_at=aware(expires_at),
            device_id=row.device_id,
        )

    def insert_device_token(
        self,
        connection: Connection,
        *,
        user_id: str,
        device_id: str,
        expires_at: datetime,
        client_ip: str | None,
    ) -> tuple[str, str]:
        """Add a device token inside the caller's transaction; its value (shown once) and id."""
        from sqlalchemy import insert

        from keybroker.server.schema import credentials

        token = new_token(CredentialKind.DEVICE)
        credential_id = str(uuid.uuid4())
        connection.execute(
            insert(credentials).values(
                id=credential_id,
                kind=CredentialKind.DEVICE.value,
                token_hash=self._hasher.hash(token),
                user_id=user_id,
                device_id=device_id,
                api_key_id=None,
                created=utcnow(),
                expires_at=naive(expires_at),
                last_used=None,
                client_ip=client_ip,
            )
        )
        return token, credential_id

    def insert_api_key(
        self, connection: Connection, user_id: str, api_key_id: str, now: datetime
    ) -> str:
        """Add a value of an API key inside the caller's transaction; the value (shown once)."""
        from sqlalchemy import insert

        from keybroker.server.schema import credentials

        token = new_token(CredentialKind.API_KEY)
        connection.execute(
            insert(credentials).values(
                id=str(uuid.uuid4()),
                kind=CredentialKind.API_KEY.value,
                token_hash=self._hasher.hash(token),
                user_id=user_id,
                device_id=None,
                api_key_id=api_key_id,
                created=now,
                expires_at=None,
                last_used=None,
                client_ip=None,
            )
        )
        return token

    def revoke(self, credential_id: str) -> None:
        """Delete one credential; the next request with it is refused."""
        from sqlalchemy import delete

        from keybroker.server.schema import credentials

        with self._engine.begin() as connection:
            connection.execute(delete(credentials).where(credentials.c.id == credential_id))
