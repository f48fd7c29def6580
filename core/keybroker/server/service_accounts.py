"""Service accounts: machine accounts that sign in only with API keys.

A service account is a row of ``users`` (kind ``service_account``, never admin, no
password) owned by the user who created it. Its owner and admins manage it; a user
sees only the service accounts they own, admins all; another user's account is
"not found" to a non-admin, so its existence is not revealed. A service account
manages nothing here. Its state lives only in the database and is checked at every
authentication, so deactivating or deleting it holds from the next request on, on
every replica.
"""

from __future__ import annotations

import uuid
from typing import TYPE_CHECKING, Any

from keybroker.errors import ConflictError, NotFoundError, PermissionDeniedError
from keybroker.server.audit import AuditLog, Outcome
from keybroker.server.database import reader, stored_time, utcnow
from keybroker.server.principal import AccountKind
from keybroker.server.service_account_models import (
    ServiceAccountCreated,
    ServiceAccountInfo,
    activity_changes,
)
from keybroker.server.users import refuse_if_owning_connectors

if TYPE_CHECKING:
    from sqlalchemy.engine import Engine, Row

    from keybroker.server.api_keys import ApiKeyService
    from keybroker.server.principal import Principal

MACHINES_MAY_NOT = "a service account cannot manage service accounts or API keys; ask a person"


def _info(row: Row[Any]) -> ServiceAccountInfo:
    return ServiceAccountInfo(
        id=row.id,
        name=row.name,
        description=row.description,
        active=bool(row.active),
        owner=row.owner_name,
        created=stored_time(row.created),
        updated=stored_time(row.updated),
    )


class ServiceAccountService:
    """Service accounts behind the API; every change is audited."""

    def __init__(self, engine: Engine, audit: AuditLog) -> None:
        self._engine = engine
        self._reader = reader(engine)
        self._audit = audit
        self.keys: ApiKeyService | None = None  # set by the context (they need each other)

    # -- who may do what ------------------------------------------------------

    def require_person(
        self, caller: Principal, action: str, target: str | None, client_ip: str | None
    ) -> None:
        """Refuse (403, audited as denied) a service account trying to manage accounts or keys."""
        if caller.is_service_account:
            self._audit.append(
                action,
                principal=caller,
                outcome=Outcome.DENIED,
                target=target,
                client_ip=client_ip,
                detail="service accounts manage nothing",
            )
            raise PermissionDeniedError(MACHINES_MAY_NOT)

    def _select(self) -> Any:
        from sqlalchemy import select

        from keybroker.server.schema import users

        owners = users.alias("owners")
        return (
            select(
                users.c.id,
                users.c.name,
                users.c.description,
                users.c.active,
                users.c.owner_id,
                users.c.created,
                users.c.updated,
                owners.c.name.label("owner_name"),
            )
            .select_from(users.outerjoin(owners, owners.c.id == users.c.owner_id))
            .where(users.c.kind == AccountKind.SERVICE_ACCOUNT.value)
        )

    def row(self, caller: Principal, name: str) -> Row[Any]:
        """The service account ``name`` if the caller may manage it; ``NotFoundError`` else."""
        from keybroker.server.schema import users

        statement = self._select().where(users.c.name == name)
        if not caller.is_admin:
            statement = statement.where(users.c.owner_id == caller.user_id)
        with self._reader.connect() as connection:
            row = connection.execute(statement).first()
        if row is None or row.name != name:
            raise NotFoundError(
                f"no service account named '{name[:64]}' that you manage; "
                "'keybroker service-account list' shows them",
                parameter="name",
            )
        return row

    # -- operations -----------------------------------------------------------

    def create(
        self,
        caller: Principal,
        name: str,
        *,
        description: str = "",
        api_key_name: str = "default",
        client_ip: str | None = None,
    ) -> ServiceAccountCreated:
        """A new service account owned by ``caller``, with a first API key (value shown once)."""
        from sqlalchemy import insert
        from sqlalchemy.exc import IntegrityError

        from keybroker.server.schema import users

        target = f"service_account:{name}"
        self.require_person(caller, "service_account.create", target, client_ip)
        if self.keys is None:  # pragma: no cover - wired by ServerContext
            raise RuntimeError("ServiceAccountService.keys is not set")
        now = utcnow()
        account_id = str(uuid.uuid4())
        try:
            with self._engine.begin() as connection:
                connection.execute(
                    insert(users).values(
                        id=account_id,
                        name=name,
                        kind=AccountKind.SERVICE_ACCOUNT.value,
                        password_hash=None,
                        is_admin=False,
                        active=True,
                        description=description,
                        owner_id=caller.user_id,
                        created=now,
                        updated=now,
                    )
                )
                token = self.keys.insert(connection, account_id, api_key_name, "", now)
        except IntegrityError:
            raise ConflictError(
                f"an account named '{name}' already exists (user or service account); "
                "choose another name",
                parameter="name",
            ) from None
        self._audit.append(
            "service_account.create",
            principal=caller,
            target=target,
            client_ip=client_ip,
            detail=f"with the API key '{api_key_name}'",
        )
        account = self.get(caller, name)
        return ServiceAccountCreated(
            service_account=account,
            api_key=self.keys.get(caller, name, api_key_name),
            key=token,
        )

    def get(self, caller: Principal, name: str) -> ServiceAccountInfo:
        """One service account the caller manages."""
        return _info(self.row(caller, name))

    def list(
        self, caller: Principal, limit: int, after: str | None = None
    ) -> tuple[list[ServiceAccountInfo], str | None]:
        """Service accounts by name: the caller's own, or (admins) all; after the name ``after``.

        Returns the page and the name to continue after (None on the last page).
        """
        from keybroker.server.schema import users

        statement = self._select().order_by(users.c.name).limit(limit + 1)
        if not caller.is_admin:
            statement = statement.where(users.c.owner_id == caller.user_id)
        if after is not None:
            statement = statement.where(users.c.name > after)
        with self._reader.connect() as connection:
            rows = connection.execute(statement).all()
        page = [_info(row) for row in rows[:limit]]
        return page, (page[-1].name if len(rows) > limit else None)

    def update(
        self,
        caller: Principal,
        name: str,
        *,
        active: bool | None = None,
        description: str | None = None,
        client_ip: str | None = None,
    ) -> ServiceAccountInfo:
        """Activate, deactivate or describe a service account; deactivation refuses every
        key of it from the next request on."""
        from sqlalchemy import update

        from keybroker.server.schema import users

        target = f"service_account:{name[:64]}"
        self.require_person(caller, "service_account.update", target, client_ip)
        row = self.row(caller, name)
        values, changed = activity_changes(active, description)
        with self._engine.begin() as connection:
            connection.execute(update(users).where(users.c.id == row.id).values(**values))
        self._audit.append(
            "service_account.update",
            principal=caller,
            target=target,
            client_ip=client_ip,
            detail=", ".join(changed),
        )
        return self.get(caller, name)

    def delete(
        self, caller: Principal, name: str, client_ip: str | None = None
    ) -> ServiceAccountInfo:
        """Delete a service account with all its API keys; they are refused at once."""
        from sqlalchemy import delete

        from keybroker.server.schema import api_keys, credentials, users

        target = f"service_account:{name[:64]}"
        self.require_person(caller, "service_account.delete", target, client_ip)
        row = self.row(caller, name)
        with self._engine.begin() as connection:
            refuse_if_owning_connectors(connection, row.name, "service account")
            connection.execute(delete(credentials).where(credentials.c.user_id == row.id))
            connection.execute(delete(api_keys).where(api_keys.c.user_id == row.id))
            connection.execute(delete(users).where(users.c.id == row.id))
        self._audit.append(
            "service_account.delete", principal=caller, target=target, client_ip=client_ip
        )
        return _info(row)
