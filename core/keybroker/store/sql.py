"""The embedded connector store: a SQL database (SQLite by default) with encrypted secrets."""

from __future__ import annotations

import getpass
import json
import threading
import uuid
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

from pydantic import SecretStr

from keybroker.connector import Connector, ConnectorQuery
from keybroker.errors import ConflictError, NotFoundError, StoreError, UsageError
from keybroker.store.base import ConnectorStore
from keybroker.store.query import MIN_ID_PREFIX, matches

if TYPE_CHECKING:
    from sqlalchemy.engine import Connection, Engine, Row

    from keybroker.settings import Settings
    from keybroker.store.crypto import SecretBox

MIGRATIONS_DIR = Path(__file__).with_name("migrations")


def _aware(value: datetime | None) -> datetime | None:
    """Restore the UTC zone that SQLite and MySQL drop."""
    if value is None or value.tzinfo is not None:
        return value
    return value.replace(tzinfo=UTC)


def _naive_utc(value: datetime | None) -> datetime | None:
    if value is None:
        return None
    return value.astimezone(UTC).replace(tzinfo=None)


def redact_url(url: str) -> str:
    """``url`` with any password replaced, for messages."""
    from sqlalchemy.engine import make_url

    try:
        return make_url(url).render_as_string(hide_password=True)
    except Exception:
        return "<unparsable store URL>"


class SQLConnectorStore(ConnectorStore):
    """Connectors in a SQL database reached through SQLAlchemy.

    The schema is created and upgraded with Alembic on open, but Alembic is
    imported only when the database is not already at :data:`HEAD_REVISION`.
    Secret values are sealed with AES-GCM before they reach the database.
    """

    def __init__(self, url: str, box: SecretBox, user: str | None = None) -> None:
        from sqlalchemy import create_engine, event

        self.url = url
        self.location = f"embedded ({redact_url(url)})"
        self._box = box
        self._user = user
        self._lock = threading.Lock()
        sqlite = url.startswith("sqlite")
        connect_args: dict[str, Any] = {"timeout": 30} if sqlite else {}
        try:
            self._engine: Engine = create_engine(
                url, connect_args=connect_args, pool_pre_ping=not sqlite
            )
        except Exception as exc:
            raise StoreError(
                f"cannot open the store at {redact_url(url)}: {type(exc).__name__}: {exc}; "
                "check KEYBROKER_STORE_URL and that its database driver is installed"
            ) from None
        if sqlite:

            @event.listens_for(self._engine, "connect")
            def _sqlite_pragmas(dbapi_connection: Any, _record: Any) -> None:
                cursor = dbapi_connection.cursor()
                cursor.execute("PRAGMA busy_timeout=30000")
                cursor.close()

        self._migrate()

    def __repr__(self) -> str:
        return f"SQLConnectorStore({redact_url(self.url)!r})"

    @classmethod
    def from_settings(cls, settings: Settings) -> SQLConnectorStore:
        """The store ``settings`` describe, with its encryption key."""
        from keybroker.store.crypto import SecretBox, load_or_create_key_file, parse_key

        settings.config_dir.mkdir(parents=True, exist_ok=True, mode=0o700)
        if settings.encryption_key:
            key = parse_key(settings.encryption_key, "KEYBROKER_ENCRYPTION_KEY")
        else:
            key = load_or_create_key_file(settings.key_file)
        return cls(settings.database_url, SecretBox(key))

    # -- schema -----------------------------------------------------------

    def _revision(self, connection: Connection) -> str | None:
        from sqlalchemy import inspect, text

        if not inspect(connection).has_table("alembic_version"):
            return None
        row = connection.execute(text("SELECT version_num FROM alembic_version")).first()
        return str(row[0]) if row else None

    def _migrate(self) -> None:
        from keybroker.store.schema import HEAD_REVISION

        try:
            with self._engine.begin() as connection:
                if self._revision(connection) == HEAD_REVISION:
                    return
                if self._engine.dialect.name == "sqlite":
                    # persistent in the file: readers never wait for one another or a writer
                    connection.exec_driver_sql("PRAGMA journal_mode=WAL")
                upgrade_to_head(connection)
        except StoreError:
            raise
        except Exception as exc:
            raise StoreError(
                f"cannot open the store at {redact_url(self.url)}: {type(exc).__name__}: "
                f"{str(exc).splitlines()[0] if str(exc) else ''}"
            ) from None

    # -- rows -------------------------------------------------------------

    def _to_row(self, connector: Connector) -> dict[str, Any]:
        secrets = {k: v.get_secret_value() for k, v in connector.secrets.items()}
        return {
            "id": str(connector.id),
            "name": connector.name,
            "connector_type": connector.connector_type,
            "auth_method": connector.auth_method,
            "resource_type": connector.resource_type,
            "resource_id": connector.resource_id,
            "configuration": json.dumps(connector.configuration, sort_keys=True),
            "secrets": self._box.seal(secrets, str(connector.id)) if secrets else None,
            "secret_names": json.dumps(sorted(secrets)),
            "labels": json.dumps(connector.labels, sort_keys=True),
            "description": connector.description,
            "owner": connector.owner,
            "shared": connector.shared,
            "expiration_seconds": connector.expiration_seconds,
            "expires_at": _naive_utc(connector.expires_at),
            "created": _naive_utc(connector.created),
            "updated": _naive_utc(connector.updated),
        }

    def _from_row(self, row: Row[Any], with_secrets: bool) -> Connector:
        secrets: dict[str, SecretStr] = {}
        if with_secrets and row.secrets:
            opened = self._box.open(bytes(row.secrets), row.id, row.name)
            secrets = {k: SecretStr(v) for k, v in opened.items()}
        return Connector(
            id=uuid.UUID(row.id),
            name=row.name,
            connector_type=row.connector_type,
            auth_method=row.auth_method,
            resource_type=row.resource_type,
            resource_id=row.resource_id,
            configuration=json.loads(row.configuration),
            secrets=secrets,
            secret_names=json.loads(row.secret_names),
            labels=json.loads(row.labels),
            description=row.description,
            owner=row.owner,
            shared=bool(row.shared),
            expiration_seconds=row.expiration_seconds,
            expires_at=_aware(row.expires_at),
            created=_aware(row.created),
            updated=_aware(row.updated),
        )

    def _public(self, connector: Connector) -> Connector:
        copy = connector.model_copy(deep=True)
        copy.secret_names = sorted(connector.secrets)
        copy.secrets = {}
        return copy

    # -- operations -------------------------------------------------------

    def _conflict(self, name: str) -> ConflictError:
        return ConflictError(
            f"a connector named '{name}' already exists; choose another name or "
            "update the existing one"
        )

    def create(self, connector: Connector) -> Connector:
        from sqlalchemy import insert, select
        from sqlalchemy.exc import IntegrityError

        from keybroker.store.schema import connectors

        row = self._to_row(connector)
        try:
            with self._engine.begin() as connection:
                taken = connection.execute(
                    select(connectors.c.name).where(connectors.c.name == connector.name)
                ).first()
                if taken is not None:
                    raise self._conflict(connector.name)
                connection.execute(insert(connectors).values(**row))
        except IntegrityError:
            raise self._conflict(connector.name) from None
        return self._public(connector)

    def _find(self, connection: Connection, name_or_id: str) -> Row[Any]:
        from sqlalchemy import select

        from keybroker.store.schema import connectors

        rows = connection.execute(select(connectors).where(connectors.c.name == name_or_id)).all()
        for row in rows:  # MySQL collations compare names case-insensitively
            if row.name == name_or_id:
                return row
        try:
            wanted: uuid.UUID | None = uuid.UUID(name_or_id)
        except ValueError:
            wanted = None
        if wanted is not None:
            by_id = connection.execute(
                select(connectors).where(connectors.c.id == str(wanted))
            ).first()
            if by_id is not None:
                return by_id
        elif len(name_or_id) >= MIN_ID_PREFIX and all(
            c in "0123456789abcdef-" for c in name_or_id.lower()
        ):
            found = connection.execute(
                select(connectors).where(connectors.c.id.startswith(name_or_id.lower()))
            ).all()
            if len(found) == 1:
                return found[0]
            if len(found) > 1:
                raise UsageError(
                    f"'{name_or_id}' matches several connector ids; give more of the id"
                )
        raise NotFoundError(
            f"no connector named '{name_or_id}' or with that id; "
            "'keybroker connector list' shows the registered ones"
        )

    def get(self, name_or_id: str, *, with_secrets: bool = False) -> Connector:
        with self._engine.connect() as connection:
            row = self._find(connection, name_or_id)
        connector = self._from_row(row, with_secrets)
        if not with_secrets:
            connector.secrets = {}
        return connector

    def list(self, query: ConnectorQuery | None = None) -> list[Connector]:
        from sqlalchemy import select

        from keybroker.store.schema import connectors

        query = query or ConnectorQuery()
        statement = select(connectors).order_by(connectors.c.name)
        if query.connector_type:
            statement = statement.where(connectors.c.connector_type == query.connector_type)
        if query.resource_id:
            statement = statement.where(connectors.c.resource_id == query.resource_id)
        with self._engine.connect() as connection:
            rows = connection.execute(statement).all()
        found = [self._from_row(row, with_secrets=False) for row in rows]
        return sorted((c for c in found if matches(c, query)), key=lambda c: c.name)

    def update(self, connector: Connector) -> Connector:
        from sqlalchemy import select
        from sqlalchemy import update as sql_update
        from sqlalchemy.exc import IntegrityError

        from keybroker.store.schema import connectors

        row = self._to_row(connector)
        row.pop("id")
        try:
            with self._engine.begin() as connection:
                clash = connection.execute(
                    select(connectors.c.id, connectors.c.name).where(
                        connectors.c.name == connector.name
                    )
                ).all()
                if any(r.name == connector.name and r.id != str(connector.id) for r in clash):
                    raise self._conflict(connector.name)
                result = connection.execute(
                    sql_update(connectors).where(connectors.c.id == str(connector.id)).values(**row)
                )
                if result.rowcount == 0:
                    raise NotFoundError(f"connector '{connector.name}' does not exist")
        except IntegrityError:
            raise self._conflict(connector.name) from None
        return self._public(connector)

    def delete(self, connector_id: uuid.UUID) -> None:
        from sqlalchemy import delete as sql_delete

        from keybroker.store.schema import connectors

        with self._engine.begin() as connection:
            result = connection.execute(
                sql_delete(connectors).where(connectors.c.id == str(connector_id))
            )
        if result.rowcount == 0:
            raise NotFoundError(f"connector '{connector_id}' does not exist")

    def name_exists(self, name: str) -> bool:
        from sqlalchemy import select

        from keybroker.store.schema import connectors

        with self._engine.connect() as connection:
            rows = connection.execute(
                select(connectors.c.name).where(connectors.c.name == name)
            ).all()
        return any(r.name == name for r in rows)

    def current_user(self) -> str:
        if self._user:
            return self._user
        try:
            return getpass.getuser()
        except Exception:
            return "default"

    def close(self) -> None:
        self._engine.dispose()


def upgrade_to_head(connection: Connection) -> None:
    """Create or upgrade the schema on ``connection`` with the shipped Alembic scripts."""
    from alembic import command
    from alembic.config import Config

    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS_DIR))
    config.attributes["connection"] = connection
    command.upgrade(config, "head")


def script_head() -> str | None:
    """The head revision of the shipped migration scripts."""
    from alembic.config import Config
    from alembic.script import ScriptDirectory

    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS_DIR))
    return ScriptDirectory.from_config(config).get_current_head()
