"""Accounts: create, list, describe, update and delete users (beside the connector service)."""

from __future__ import annotations

import re
import secrets
import uuid
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from keybroker.errors import ConflictError, NotFoundError, PermissionDeniedError, UsageError
from keybroker.server.database import reader, stored_time, utcnow
from keybroker.server.models import NAME_PATTERN, UserInfo
from keybroker.server.passwords import check_password_rules, hash_password
from keybroker.server.principal import AccountKind, Principal

if TYPE_CHECKING:
    from sqlalchemy.engine import Connection, Engine, Row

ADMIN_NAME = "admin"
_NAME = re.compile(NAME_PATTERN)


@dataclass(frozen=True)
class SignInAccount:
    """What password sign-in needs to know about an account."""

    id: str
    name: str
    password_hash: str | None
    active: bool


def _public_columns() -> list[Any]:
    """The columns a :class:`UserInfo` shows (never the password hash)."""
    from keybroker.server.schema import users

    return [users.c[name] for name in UserInfo.model_fields]


def _info(row: Row[Any]) -> UserInfo:
    # typed columns of our own table: constructing without re-validation keeps lists fast
    return UserInfo.model_construct(
        id=row.id,
        name=row.name,
        kind=row.kind,
        is_admin=bool(row.is_admin),
        active=bool(row.active),
        description=row.description,
        created=stored_time(row.created),
        updated=stored_time(row.updated),
    )


class UserService:
    """The accounts table behind the users API; every method is one short transaction."""

    def __init__(self, engine: Engine) -> None:
        self._engine = engine
        self._reader = reader(engine)

    @staticmethod
    def _check_name(name: str) -> None:
        if not _NAME.match(name):
            raise UsageError(
                f"'{name[:64]}' is not a valid user name: use 1 to 64 letters, digits, "
                "'.', '_', '@' or '-', starting with a letter or digit",
                parameter="name",
            )

    def _row(self, name: str) -> Row[Any]:
        from sqlalchemy import select

        from keybroker.server.schema import users

        with self._reader.connect() as connection:
            row = connection.execute(
                select(users).where(users.c.name == name, users.c.kind == AccountKind.USER)
            ).first()
        if row is None:
            raise NotFoundError(f"no user named '{name}'; 'keybroker user list' shows them")
        return row

    def create(
        self, name: str, password: str, *, is_admin: bool = False, description: str = ""
    ) -> UserInfo:
        """Add a user; ``ConflictError`` if the name is taken (by a user or service account)."""
        from sqlalchemy import insert
        from sqlalchemy.exc import IntegrityError

        from keybroker.server.schema import users

        self._check_name(name)
        check_password_rules(password)
        now = utcnow()
        values = {
            "id": str(uuid.uuid4()),
            "name": name,
            "kind": AccountKind.USER.value,
            "password_hash": hash_password(password),
            "is_admin": is_admin,
            "active": True,
            "description": description,
            "owner_id": None,
            "created": now,
            "updated": now,
        }
        try:
            with self._engine.begin() as connection:
                connection.execute(insert(users).values(**values))
        except IntegrityError:
            raise ConflictError(f"an account named '{name}' already exists") from None
        return self.get(name)

    def get(self, name: str) -> UserInfo:
        """One user by name (case-sensitive)."""
        return _info(self._row(name))

    def list(self, limit: int, after: str | None = None) -> tuple[list[UserInfo], str | None]:
        """Users ordered by name, ``limit`` at most, after the name ``after``.

        Returns the page and the name to continue after (None on the last page).
        """
        from sqlalchemy import select

        from keybroker.server.schema import users

        statement = (
            select(*_public_columns())
            .where(users.c.kind == AccountKind.USER)
            .order_by(users.c.name)
            .limit(limit + 1)
        )
        if after is not None:
            statement = statement.where(users.c.name > after)
        with self._reader.connect() as connection:
            rows = connection.execute(statement).all()
        page = [_info(row) for row in rows[:limit]]
        return page, (page[-1].name if len(rows) > limit else None)

    def update(
        self,
        name: str,
        acting: Principal,
        *,
        password: str | None = None,
        is_admin: bool | None = None,
        active: bool | None = None,
        description: str | None = None,
    ) -> UserInfo:
        """Change a user. Nobody may deactivate or demote themselves (no admin lock-out).

        A new password ends the user's sessions (API and browser).
        """
        from sqlalchemy import delete, update

        from keybroker.server.schema import credentials, users, web_sessions

        row = self._row(name)
        if row.id == acting.user_id and (is_admin is False or active is False):
            raise PermissionDeniedError(
                "you cannot deactivate yourself or drop your own admin flag; ask another admin"
            )
        values: dict[str, Any] = {}
        if password is not None:
            check_password_rules(password)
            values["password_hash"] = hash_password(password)
        if is_admin is not None:
            values["is_admin"] = is_admin
        if active is not None:
            values["active"] = active
        if description is not None:
            values["description"] = description
        if not values:
            raise UsageError("nothing to change: give password, is_admin, active or description")
        values["updated"] = utcnow()
        with self._engine.begin() as connection:
            result = connection.execute(update(users).where(users.c.id == row.id).values(**values))
            if result.rowcount == 0:
                raise NotFoundError(f"no user named '{name}'")
            if password is not None:
                connection.execute(
                    delete(credentials).where(
                        credentials.c.user_id == row.id, credentials.c.kind == "session"
                    )
                )
                connection.execute(delete(web_sessions).where(web_sessions.c.user_id == row.id))
        return self.get(name)

    def delete(self, name: str, acting: Principal) -> UserInfo:
        """Delete a user and every credential of theirs; nobody may delete themselves."""
        from sqlalchemy import delete

        from keybroker.server.schema import users

        row = self._row(name)
        if row.id == acting.user_id:
            raise PermissionDeniedError("you cannot delete yourself; ask another admin")
        with self._engine.begin() as connection:
            refuse_if_owning_connectors(connection, row.name, "user")
            connection.execute(delete(users).where(users.c.id == row.id))
        return _info(row)

    def for_sign_in(self, name: str) -> SignInAccount | None:
        """The account a sign-in names, or None (service accounts have no password)."""
        from sqlalchemy import select

        from keybroker.server.schema import users

        with self._reader.connect() as connection:
            row = connection.execute(
                select(users.c.id, users.c.name, users.c.password_hash, users.c.active).where(
                    users.c.name == name, users.c.kind == AccountKind.USER
                )
            ).first()
        if row is None or row.name != name:
            return None
        return SignInAccount(row.id, row.name, row.password_hash, bool(row.active))

    def set_password_hash(self, user_id: str, password_hash: str) -> None:
        """Store a re-computed hash (after the KDF parameters were raised)."""
        from sqlalchemy import update

        from keybroker.server.schema import users

        with self._engine.begin() as connection:
            connection.execute(
                update(users).where(users.c.id == user_id).values(password_hash=password_hash)
            )

    def bootstrap_admin(self, password: str | None) -> str | None:
        """Create the ``admin`` user when there is no account at all.

        Uses ``password`` or generates one; returns the generated password (for the
        caller to print once), None when nothing was generated.
        """
        from sqlalchemy import func, select

        from keybroker.server.schema import users

        with self._reader.connect() as connection:
            if connection.execute(select(func.count()).select_from(users)).scalar():
                return None
        generated = None
        if password is None:
            generated = password = secrets.token_urlsafe(18)
        else:
            check_password_rules(password, "KEYBROKER_ADMIN_PASSWORD")
        try:
            self.create(ADMIN_NAME, password, is_admin=True, description="created at first start")
        except ConflictError:
            return None  # another replica created it first
        return generated


def refuse_if_owning_connectors(connection: Connection, name: str, kind: str) -> None:
    """Refuse to delete an account that still owns connectors.

    Connectors name their owner, so an account created later under the same name
    would inherit them (and their secrets); the owner's connectors go first.
    """
    from sqlalchemy import func, select

    from keybroker.store.schema import connectors

    owned = connection.execute(
        select(func.count()).select_from(connectors).where(connectors.c.owner == name)
    ).scalar_one()
    if owned:
        raise ConflictError(
            f"the {kind} '{name}' owns {owned} connector(s); delete them first "
            f"(an admin may: 'keybroker connector list', then 'keybroker connector delete'), "
            "so that nobody later given the same name inherits them"
        )
