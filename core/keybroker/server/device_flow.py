"""The OAuth 2.0 Device Authorization Grant (RFC 8628): start, decide in a browser, poll.

A client (``keybroker connect``) asks for a device authorization and gets a device
code (its secret) and a user code (for a person). The person signs in on the
server's pages, types the user code, sees which device is asking and approves or
denies it. Meanwhile the client polls the token endpoint with the device code;
after an approval the first poll creates the device and its token (30 days for a
trusted device, else 24 hours, by default) and the device code is spent.

Every state lives in the database (``device_authorizations``), so any replica can
answer any step. Codes are stored only as keyed hashes and looked up through an
index, then compared in constant time: an unknown code and a wrong one take the
same path. Transitions are conditional updates, so two replicas answering at once
cannot both approve, or both hand out a token.
"""

from __future__ import annotations

import hmac
import unicodedata
import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import StrEnum
from typing import TYPE_CHECKING, Any

from keybroker.server.audit import AuditLog, Outcome
from keybroker.server.database import aware, naive, reader, stored_time, utcnow
from keybroker.server.device_codes import (
    device_code_hashes,
    looks_like_device_code,
    new_device_code,
    new_user_code,
    normalize_user_code,
    user_code_hashes,
)
from keybroker.server.principal import AccountKind, Principal
from keybroker.server.tokens import CredentialKind, TokenHasher

if TYPE_CHECKING:
    from sqlalchemy.engine import Connection, Engine

    from keybroker.server.credentials import CredentialService
    from keybroker.server.settings import ServerSettings
    from keybroker.server.user_code_limits import DeviceRequestLimiter, UserCodeLimiter

#: the one client of this server's device flow
CLI_CLIENT_ID = "keybroker-cli"
KNOWN_CLIENTS = frozenset({CLI_CLIENT_ID})
DEVICE_CODE_GRANT = "urn:ietf:params:oauth:grant-type:device_code"
#: RFC 8628 §3.5: each slow_down adds this to the polling interval
SLOW_DOWN_SECONDS = 5
#: how long a finished request is kept, so that a late poll hears expired_token or
#: access_denied rather than invalid_grant
KEEP_FINISHED = timedelta(days=1)
#: the device details a client may send, with their longest accepted length
DEVICE_FIELDS = {"hostname": 255, "os": 255, "client_version": 64}


class Status(StrEnum):
    """Where a device authorization stands."""

    PENDING = "pending"
    APPROVED = "approved"
    DENIED = "denied"
    ISSUED = "issued"  # the token was handed out: the device code is spent


class OAuthError(Exception):
    """An OAuth error answer (RFC 6749 §5.2, RFC 8628 §3.5): ``error`` is the code."""

    def __init__(
        self,
        error: str,
        description: str,
        status: int = 400,
        retry_after: int | None = None,
    ) -> None:
        super().__init__(description)
        self.error = error
        self.description = description
        self.status = status
        self.retry_after = retry_after


@dataclass(frozen=True)
class DeviceDetails:
    """What a client says about itself: untrusted text, shown escaped."""

    hostname: str = ""
    os: str = ""
    client_version: str = ""


@dataclass(frozen=True)
class AuthorizationStarted:
    """The answer to a device authorization request (RFC 8628 §3.2)."""

    device_code: str
    user_code: str  # normalized; shown as XXXX-XXXX
    expires_in: int
    interval: int


@dataclass(frozen=True)
class DeviceTokenIssued:
    """The token a successful poll hands out."""

    access_token: str
    expires_at: datetime
    device_id: str


@dataclass(frozen=True)
class PendingAuthorization:
    """A pending request as the confirmation page shows it."""

    id: str
    user_code: str
    details: DeviceDetails
    client_ip: str | None
    created: datetime
    expires_at: datetime


@dataclass(frozen=True)
class Decision:
    """What a person decided for a request, and what it grants."""

    approved: bool
    trusted: bool
    token_lifetime: timedelta
    details: DeviceDetails


def check_device_details(fields: dict[str, str]) -> DeviceDetails:
    """The device details of a request, checked: printable text of bounded length.

    Control and formatting characters (including bidirectional overrides, which
    could make a host name read as another) are refused, not silently removed.
    """
    values: dict[str, str] = {}
    for name, longest in DEVICE_FIELDS.items():
        value = fields.get(name, "").strip()
        if len(value) > longest:
            raise OAuthError("invalid_request", f"{name} is longer than {longest} characters")
        if any(unicodedata.category(c) in ("Cc", "Cf", "Cs", "Co", "Cn") for c in value):
            raise OAuthError("invalid_request", f"{name} must be printable text")
        values[name] = value
    return DeviceDetails(**values)


def check_client(client_id: str | None) -> str:
    """``client_id`` when this server knows it; ``invalid_client`` otherwise."""
    if client_id is None:
        raise OAuthError("invalid_request", "client_id is missing")
    if client_id not in KNOWN_CLIENTS:
        raise OAuthError(
            "invalid_client", f"unknown client; this server knows only '{CLI_CLIENT_ID}'"
        )
    return client_id


def _matching(row: Any, column: str, hashes: list[str]) -> bool:
    """Whether a looked-up row's hash equals one of ``hashes``, compared in constant time."""
    stored = getattr(row, column)
    found = False
    for candidate in hashes:
        found |= hmac.compare_digest(stored, candidate)
    return found


class DeviceFlow:
    """The device authorization grant's steps, each a short transaction."""

    def __init__(
        self,
        engine: Engine,
        hasher: TokenHasher,
        credentials: CredentialService,
        audit: AuditLog,
        settings: ServerSettings,
        requests: DeviceRequestLimiter,
        guesses: UserCodeLimiter,
    ) -> None:
        self._engine = engine
        self._reader = reader(engine)
        self._hasher = hasher
        self._credentials = credentials
        self._audit = audit
        self._lifetime = timedelta(seconds=settings.device_code_seconds)
        self._interval = settings.device_poll_interval_seconds
        self._trusted = timedelta(days=settings.trusted_device_days)
        self._untrusted = timedelta(hours=settings.device_hours)
        self._requests = requests
        self._guesses = guesses

    def __repr__(self) -> str:
        return f"DeviceFlow(lifetime={self._lifetime}, interval={self._interval})"

    def token_lifetime(self, trusted: bool) -> timedelta:
        """How long a device token lives."""
        return self._trusted if trusted else self._untrusted

    # -- RFC 8628 §3.1-3.2: the device authorization request --------------------

    def start(
        self, client_id: str, details: DeviceDetails, client_ip: str | None
    ) -> AuthorizationStarted:
        """Register a new request; ``slow_down``-free 429 when the address asks too often."""
        from sqlalchemy import delete, insert
        from sqlalchemy.exc import IntegrityError

        from keybroker.server.errors import RateLimited
        from keybroker.server.schema import device_authorizations as table

        try:
            self._requests.check(client_ip)
        except RateLimited as exc:
            raise OAuthError(
                "rate_limited", exc.message, status=429, retry_after=exc.retry_after
            ) from None
        now = utcnow()
        for _attempt in range(5):  # a user code may repeat one still stored: draw again
            device_code, user_code = new_device_code(), new_user_code()
            request_id = str(uuid.uuid4())
            try:
                with self._engine.begin() as connection:
                    connection.execute(
                        delete(table).where(table.c.expires_at < now - KEEP_FINISHED)
                    )
                    connection.execute(
                        insert(table).values(
                            id=request_id,
                            device_code_hash=device_code_hashes(self._hasher, device_code)[0],
                            user_code_hash=user_code_hashes(self._hasher, user_code)[0],
                            client_id=client_id,
                            hostname=details.hostname,
                            os=details.os,
                            client_version=details.client_version,
                            client_ip=client_ip[:64] if client_ip else None,
                            created=now,
                            expires_at=now + self._lifetime,
                            poll_interval=self._interval,
                            last_polled=None,
                            status=Status.PENDING.value,
                            user_id=None,
                            trusted=None,
                            decided=None,
                            device_id=None,
                        )
                    )
            except IntegrityError:
                continue
            self._audit.append(
                "device.authorization_request",
                principal=None,
                target=f"device-request:{request_id}",
                client_ip=client_ip,
                expires_at=aware(now + self._lifetime),
                detail=_describe(details),
            )
            return AuthorizationStarted(
                device_code=device_code,
                user_code=user_code,
                expires_in=int(self._lifetime.total_seconds()),
                interval=self._interval,
            )
        raise OAuthError(  # pragma: no cover - five collisions in a 2^34 space
            "temporarily_unavailable", "could not draw a free user code; try again", status=503
        )

    # -- RFC 8628 §3.4-3.5: polling the token endpoint ---------------------------

    def poll(self, client_id: str, device_code: str) -> DeviceTokenIssued:
        """The token for an approved request, or the RFC's error for every other state."""
        from sqlalchemy import select, update

        from keybroker.server.schema import device_authorizations as table
        from keybroker.server.schema import users

        unknown = OAuthError(
            "invalid_grant", "the device code is unknown, already used, or for another client"
        )
        if not looks_like_device_code(device_code):
            raise unknown
        hashes = device_code_hashes(self._hasher, device_code)
        query = (
            select(table, users.c.name.label("user_name"), users.c.is_admin, users.c.active)
            .select_from(table.outerjoin(users, users.c.id == table.c.user_id))
            .where(table.c.device_code_hash.in_(hashes))
        )
        with self._reader.connect() as connection:
            row = connection.execute(query).first()
        if (
            row is None
            or not _matching(row, "device_code_hash", hashes)
            or row.client_id != client_id
        ):
            raise unknown
        now = utcnow()
        expires_at = naive(row.expires_at)
        if row.status == Status.ISSUED:
            raise unknown
        if expires_at is None or expires_at <= now:
            raise OAuthError("expired_token", "the device code expired; start again")
        if row.status == Status.DENIED:
            raise OAuthError("access_denied", "the request was denied")
        if row.status == Status.PENDING:
            last, interval = naive(row.last_polled), int(row.poll_interval)
            too_soon = last is not None and now - last < timedelta(seconds=interval)
            changes: dict[str, Any] = {"last_polled": now}
            if too_soon:
                changes["poll_interval"] = interval + SLOW_DOWN_SECONDS
            with self._engine.begin() as connection:
                connection.execute(update(table).where(table.c.id == row.id).values(**changes))
            if too_soon:
                raise OAuthError(
                    "slow_down",
                    f"polled sooner than every {interval} s; wait "
                    f"{interval + SLOW_DOWN_SECONDS} s between requests from now on",
                )
            raise OAuthError("authorization_pending", "waiting for a person to approve")
        if not row.active:
            raise OAuthError("access_denied", "the account that approved is deactivated")
        return self._issue(row)

    def _issue(self, row: Any) -> DeviceTokenIssued:
        """Spend an approved request: create its device and token in one transaction."""
        from sqlalchemy import insert, update

        from keybroker.server.schema import device_authorizations as table
        from keybroker.server.schema import devices

        now = utcnow()
        trusted = bool(row.trusted)
        expires = now + self.token_lifetime(trusted)
        device_id = str(uuid.uuid4())
        with self._engine.begin() as connection:
            claimed = connection.execute(
                update(table)
                .where(table.c.id == row.id, table.c.status == Status.APPROVED.value)
                .values(status=Status.ISSUED.value)
            )
            if claimed.rowcount != 1:  # another poll, on this or another replica, won
                raise OAuthError("invalid_grant", "the device code was already used")
            connection.execute(
                insert(devices).values(
                    id=device_id,
                    user_id=row.user_id,
                    hostname=row.hostname,
                    os=row.os,
                    client_version=row.client_version,
                    ip_address=row.client_ip,
                    trusted=trusted,
                    locked=False,
                    created=now,
                    updated=now,
                    last_used=None,
                )
            )
            connection.execute(
                update(table).where(table.c.id == row.id).values(device_id=device_id)
            )
            token, credential_id = self._credentials.insert_device_token(
                connection,
                user_id=row.user_id,
                device_id=device_id,
                expires_at=expires,
                client_ip=row.client_ip,
            )
        principal = Principal(
            user_id=row.user_id,
            name=row.user_name,
            kind=AccountKind.USER,
            is_admin=bool(row.is_admin),
            credential_id=credential_id,
            credential_kind=CredentialKind.DEVICE,
            expires_at=aware(expires),
            device_id=device_id,
        )
        self._audit.append(
            "auth.device_token",
            principal=principal,
            target=f"device:{device_id}",
            expires_at=aware(expires),
            client_ip=row.client_ip,
            detail=f"{'trusted' if trusted else 'untrusted'} device",
        )
        return DeviceTokenIssued(
            access_token=token,
            expires_at=aware(expires),  # type: ignore[arg-type]  # never None here
            device_id=device_id,
        )

    # -- RFC 8628 §3.3: the person's side ------------------------------------------

    def find_pending(
        self, text: str, person: Principal, client_ip: str | None
    ) -> PendingAuthorization | None:
        """The pending request whose user code ``text`` is, or None.

        Unknown, malformed, expired and already decided codes are all the same
        miss, counted toward the person's and the address's limits (checked first:
        ``RateLimited`` past them).
        """
        self._guesses.check(person.user_id, client_ip)
        found = self._lookup_pending(text)
        if found is None:
            self._guesses.record_failure(person.user_id, client_ip)
        return found

    def _lookup_pending(self, text: str) -> PendingAuthorization | None:
        from sqlalchemy import select

        from keybroker.server.schema import device_authorizations as table

        code = normalize_user_code(text)
        # a malformed code costs the same lookup as a well-formed one
        hashes = user_code_hashes(self._hasher, code or "-")
        with self._reader.connect() as connection:
            row = connection.execute(
                select(table).where(table.c.user_code_hash.in_(hashes))
            ).first()
        if code is None or row is None or not _matching(row, "user_code_hash", hashes):
            return None
        expires_at = naive(row.expires_at)
        if row.status != Status.PENDING or expires_at is None or expires_at <= utcnow():
            return None
        return PendingAuthorization(
            id=row.id,
            user_code=code,
            details=DeviceDetails(
                hostname=row.hostname, os=row.os, client_version=row.client_version
            ),
            client_ip=row.client_ip,
            created=stored_time(row.created),
            expires_at=stored_time(row.expires_at),
        )

    def decide(
        self,
        text: str,
        person: Principal,
        *,
        approve: bool,
        trusted: bool,
        client_ip: str | None,
    ) -> Decision | None:
        """Approve or deny the pending request of user code ``text``; None when it is not
        (any longer) pending, counted like a wrong code."""
        from keybroker.server.schema import device_authorizations as table

        pending = self.find_pending(text, person, client_ip)
        if pending is None:
            return None
        now = utcnow()
        status = Status.APPROVED if approve else Status.DENIED
        with self._engine.begin() as connection:
            changed = _decide(
                connection, table, pending.id, status, person, trusted and approve, now
            )
        if not changed:  # decided elsewhere, or expired, in between
            self._guesses.record_failure(person.user_id, client_ip)
            return None
        lifetime = self.token_lifetime(trusted)
        self._audit.append(
            "device.approve" if approve else "device.deny",
            principal=person,
            outcome=Outcome.SUCCESS,
            target=f"device-request:{pending.id}",
            client_ip=client_ip,
            detail=(
                _describe(pending.details)
                + f", from {pending.client_ip or 'an unknown address'}"
                + (f", {'trusted' if trusted else 'untrusted'}" if approve else "")
            ),
        )
        return Decision(
            approved=approve,
            trusted=trusted and approve,
            token_lifetime=lifetime,
            details=pending.details,
        )


def _decide(
    connection: Connection,
    table: Any,
    request_id: str,
    status: Status,
    person: Principal,
    trusted: bool,
    now: datetime,
) -> bool:
    """Move a still pending, unexpired request to ``status``; whether it was."""
    from sqlalchemy import update

    result = connection.execute(
        update(table)
        .where(
            table.c.id == request_id,
            table.c.status == Status.PENDING.value,
            table.c.expires_at > now,
        )
        .values(status=status.value, user_id=person.user_id, trusted=trusted, decided=now)
    )
    return bool(result.rowcount == 1)


def _describe(details: DeviceDetails) -> str:
    """One line naming a device for the audit log."""
    return (
        f"host '{details.hostname or '?'}', os '{details.os or '?'}', "
        f"client {details.client_version or '?'}"
    )
