"""API keys of service accounts: create, list, describe, rotate, (de)activate, delete.

A key is a named row of ``api_keys``; its secret value is a ``credentials`` row
of kind ``api_key`` (``kbk_`` and 256 random bits), stored only as a keyed hash and
shown once, when created or rotated. Rotating replaces the value: the old one is
deleted at once, or kept until ``now + retain`` (its ``expires_at``), after which
authentication refuses it. Whether a key is active is read from the database at
every authentication, so a change holds from the next request on, on every replica.
"""

from __future__ import annotations

import uuid
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any

from keybroker.errors import ConflictError, NotFoundError
from keybroker.server.audit import AuditLog
from keybroker.server.database import aware, naive, reader, stored_time, utcnow
from keybroker.server.service_account_models import ApiKeyInfo, ApiKeyIssued, activity_changes

if TYPE_CHECKING:
    from sqlalchemy.engine import Connection, Engine, Row

    from keybroker.server.credentials import CredentialService
    from keybroker.server.principal import Principal
    from keybroker.server.service_accounts import ServiceAccountService


def _info(row: Row[Any], account: str) -> ApiKeyInfo:
    retained = naive(row.retained_until)
    return ApiKeyInfo(
        id=row.id,
        name=row.name,
        service_account=account,
        description=row.description,
        active=bool(row.active),
        created=stored_time(row.created),
        updated=stored_time(row.updated),
        rotated=aware(naive(row.rotated)),
        last_used=aware(naive(row.last_used)),
        retained_until=aware(retained) if retained and retained > utcnow() else None,
    )


class ApiKeyService:
    """The ``api_keys`` table and the key values in ``credentials``; changes are audited."""

    def __init__(
        self,
        engine: Engine,
        credentials: CredentialService,
        accounts: ServiceAccountService,
        audit: AuditLog,
    ) -> None:
        self._engine = engine
        self._reader = reader(engine)
        self._credentials = credentials
        self._accounts = accounts
        self._audit = audit

    def _select(self) -> Any:
        from sqlalchemy import func, select

        from keybroker.server.schema import api_keys, credentials

        retained = (
            select(func.max(credentials.c.expires_at))
            .where(credentials.c.api_key_id == api_keys.c.id)
            .scalar_subquery()
        )
        return select(api_keys, retained.label("retained_until"))

    def insert(
        self, connection: Connection, account_id: str, name: str, description: str, now: datetime
    ) -> str:
        """Add a key and its value inside the caller's transaction; the value (shown once).

        ``IntegrityError`` when the account already has a key of that name.
        """
        from sqlalchemy import insert

        from keybroker.server.schema import api_keys

        key_id = str(uuid.uuid4())
        connection.execute(
            insert(api_keys).values(
                id=key_id,
                user_id=account_id,
                name=name,
                description=description,
                active=True,
                created=now,
                updated=now,
                rotated=None,
                last_used=None,
            )
        )
        return self._credentials.insert_api_key(connection, account_id, key_id, now)

    def _row(self, caller: Principal, account: str, name: str) -> tuple[Row[Any], Row[Any]]:
        """The account and key rows, if the caller manages the account; else not found."""
        from keybroker.server.schema import api_keys

        owner = self._accounts.row(caller, account)
        with self._reader.connect() as connection:
            row = connection.execute(
                self._select().where(api_keys.c.user_id == owner.id, api_keys.c.name == name)
            ).first()
        if row is None or row.name != name:
            raise NotFoundError(
                f"the service account '{account}' has no API key named '{name[:64]}'; "
                f"'keybroker service-account api-key {account} list' shows them",
                parameter="name",
            )
        return owner, row

    def get(self, caller: Principal, account: str, name: str) -> ApiKeyInfo:
        """One key of a service account the caller manages."""
        owner, row = self._row(caller, account, name)
        return _info(row, owner.name)

    def list(
        self, caller: Principal, account: str, limit: int, after: str | None = None
    ) -> tuple[list[ApiKeyInfo], str | None]:
        """The keys of a service account by name, after the name ``after``."""
        from keybroker.server.schema import api_keys

        owner = self._accounts.row(caller, account)
        statement = (
            self._select()
            .where(api_keys.c.user_id == owner.id)
            .order_by(api_keys.c.name)
            .limit(limit + 1)
        )
        if after is not None:
            statement = statement.where(api_keys.c.name > after)
        with self._reader.connect() as connection:
            rows = connection.execute(statement).all()
        page = [_info(row, owner.name) for row in rows[:limit]]
        return page, (page[-1].name if len(rows) > limit else None)

    def create(
        self,
        caller: Principal,
        account: str,
        name: str,
        *,
        description: str = "",
        client_ip: str | None = None,
    ) -> ApiKeyIssued:
        """A new key of a service account; its value is in the answer only."""
        from sqlalchemy.exc import IntegrityError

        target = f"service_account:{account[:64]}"
        self._accounts.require_person(caller, "api_key.create", target, client_ip)
        owner = self._accounts.row(caller, account)
        try:
            with self._engine.begin() as connection:
                token = self.insert(connection, owner.id, name, description, utcnow())
        except IntegrityError:
            raise ConflictError(
                f"the service account '{account}' already has an API key named '{name}'",
                parameter="name",
            ) from None
        self._audit.append(
            "api_key.create",
            principal=caller,
            target=target,
            client_ip=client_ip,
            detail=f"key '{name}'",
        )
        return ApiKeyIssued(api_key=self.get(caller, account, name), key=token)

    def rotate(
        self,
        caller: Principal,
        account: str,
        name: str,
        *,
        retain_seconds: int = 0,
        client_ip: str | None = None,
    ) -> ApiKeyIssued:
        """Replace a key's value. The old value is refused at once, or after ``retain_seconds``.

        The key row is updated first: that locks it, so two rotations at once end
        with one current value, not two.
        """
        from sqlalchemy import and_, delete, or_, update

        from keybroker.server.schema import api_keys, credentials

        target = f"service_account:{account[:64]}"
        self._accounts.require_person(caller, "api_key.rotate", target, client_ip)
        owner, row = self._row(caller, account, name)
        now = utcnow()
        retain_until = now + timedelta(seconds=retain_seconds)
        of_key = credentials.c.api_key_id == row.id
        with self._engine.begin() as connection:
            connection.execute(
                update(api_keys).where(api_keys.c.id == row.id).values(rotated=now, updated=now)
            )
            if retain_seconds:
                connection.execute(
                    delete(credentials).where(
                        of_key,
                        credentials.c.expires_at.is_not(None),
                        credentials.c.expires_at <= now,
                    )
                )
                connection.execute(
                    update(credentials)
                    .where(
                        of_key,
                        or_(
                            credentials.c.expires_at.is_(None),
                            and_(
                                credentials.c.expires_at.is_not(None),
                                credentials.c.expires_at > retain_until,
                            ),
                        ),
                    )
                    .values(expires_at=retain_until)
                )
            else:
                connection.execute(delete(credentials).where(of_key))
            token = self._credentials.insert_api_key(connection, owner.id, row.id, now)
        self._audit.append(
            "api_key.rotate",
            principal=caller,
            target=target,
            expires_at=retain_until if retain_seconds else None,
            client_ip=client_ip,
            detail=(
                f"key '{name}'; the old value works for {retain_seconds} s more"
                if retain_seconds
                else f"key '{name}'; the old value is refused from now on"
            ),
        )
        return ApiKeyIssued(api_key=self.get(caller, account, name), key=token)

    def update(
        self,
        caller: Principal,
        account: str,
        name: str,
        *,
        active: bool | None = None,
        description: str | None = None,
        client_ip: str | None = None,
    ) -> ApiKeyInfo:
        """Activate, deactivate or describe a key; deactivation holds from the next request."""
        from sqlalchemy import update

        from keybroker.server.schema import api_keys

        target = f"service_account:{account[:64]}"
        self._accounts.require_person(caller, "api_key.update", target, client_ip)
        _, row = self._row(caller, account, name)
        values, changed = activity_changes(active, description)
        with self._engine.begin() as connection:
            connection.execute(update(api_keys).where(api_keys.c.id == row.id).values(**values))
        self._audit.append(
            "api_key.update",
            principal=caller,
            target=target,
            client_ip=client_ip,
            detail=f"key '{name}': " + ", ".join(changed),
        )
        return self.get(caller, account, name)

    def delete(
        self, caller: Principal, account: str, name: str, client_ip: str | None = None
    ) -> ApiKeyInfo:
        """Delete a key and its values; they are refused at once."""
        from sqlalchemy import delete

        from keybroker.server.schema import api_keys, credentials

        target = f"service_account:{account[:64]}"
        self._accounts.require_person(caller, "api_key.delete", target, client_ip)
        owner, row = self._row(caller, account, name)
        with self._engine.begin() as connection:
            connection.execute(delete(credentials).where(credentials.c.api_key_id == row.id))
            connection.execute(delete(api_keys).where(api_keys.c.id == row.id))
        self._audit.append(
            "api_key.delete",
            principal=caller,
            target=target,
            client_ip=client_ip,
            detail=f"key '{name}'",
        )
        return _info(row, owner.name)
