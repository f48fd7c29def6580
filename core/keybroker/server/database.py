"""The server's database: engine, migrations under a lock, readiness.

Several replicas may start at once against one database; the schema upgrade runs
under a database lock (PostgreSQL advisory lock, MySQL/MariaDB ``GET_LOCK``, a
file lock beside a SQLite file), so exactly one of them migrates and the others
find the schema current.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

from keybroker.errors import StoreError
from keybroker.store.sql import redact_url

if TYPE_CHECKING:
    from sqlalchemy.engine import Connection, Engine

    from keybroker.server.settings import ServerSettings

#: an arbitrary constant naming keybroker's migration lock on PostgreSQL
_PG_LOCK_ID = 0x6B62_6D69
_MYSQL_LOCK_NAME = "keybroker_migrate"
_LOCK_TIMEOUT_SECONDS = 300


def utcnow() -> datetime:
    """The current time, as naive UTC (how every column stores it)."""
    return datetime.now(UTC).replace(tzinfo=None)


def aware(value: datetime | None) -> datetime | None:
    """A stored naive UTC time with its zone restored."""
    if value is None or value.tzinfo is not None:
        return value
    return value.replace(tzinfo=UTC)


def stored_time(value: datetime) -> datetime:
    """A NOT NULL time column as an aware UTC time, whatever the driver returned."""
    return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


def naive(value: datetime | None) -> datetime | None:
    """A time as naive UTC, whatever the driver returned (PostgreSQL gives aware times)."""
    if value is None or value.tzinfo is None:
        return value
    return value.astimezone(UTC).replace(tzinfo=None)


def create_engine(settings: ServerSettings) -> Engine:
    """A pooled engine for the server's database; SQLite gets WAL and a busy timeout."""
    from sqlalchemy import create_engine as sa_create_engine
    from sqlalchemy import event

    url = settings.database_url
    sqlite = settings.is_sqlite
    if sqlite:
        settings.data_dir.mkdir(parents=True, exist_ok=True, mode=0o700)
    options: dict[str, Any] = {}
    if sqlite:
        options["connect_args"] = {"timeout": 30, "check_same_thread": False}
        options["pool_size"] = settings.pool_size
    else:
        options.update(pool_pre_ping=True, pool_size=settings.pool_size, max_overflow=10)
        options["pool_recycle"] = 1800
    try:
        engine = sa_create_engine(url, **options)
    except Exception as exc:
        raise StoreError(
            f"cannot open the database at {redact_url(url)}: {type(exc).__name__}: {exc}; "
            "check the database URL and that its driver is installed"
        ) from None
    if sqlite:

        @event.listens_for(engine, "connect")
        def _sqlite_pragmas(dbapi_connection: Any, _record: Any) -> None:
            cursor = dbapi_connection.cursor()
            cursor.execute("PRAGMA busy_timeout=30000")
            cursor.execute("PRAGMA foreign_keys=ON")
            cursor.execute("PRAGMA synchronous=NORMAL")
            cursor.close()

    return engine


def current_revision(connection: Connection) -> str | None:
    """The Alembic revision the database is at, or None for an empty database."""
    from sqlalchemy import inspect, text

    if not inspect(connection).has_table("alembic_version"):
        return None
    row = connection.execute(text("SELECT version_num FROM alembic_version")).first()
    return str(row[0]) if row else None


@contextlib.contextmanager
def _migration_lock(engine: Engine, connection: Connection) -> Iterator[None]:
    """Hold the database-wide migration lock on ``connection``."""
    from sqlalchemy import text

    dialect = engine.dialect.name
    if dialect == "postgresql":
        connection.execute(text("SELECT pg_advisory_xact_lock(:id)"), {"id": _PG_LOCK_ID})
        yield
    elif dialect in ("mysql", "mariadb"):
        got = connection.execute(
            text("SELECT GET_LOCK(:name, :timeout)"),
            {"name": _MYSQL_LOCK_NAME, "timeout": _LOCK_TIMEOUT_SECONDS},
        ).scalar()
        if got != 1:
            raise StoreError("another replica has been migrating the database for too long")
        try:
            yield
        finally:
            connection.execute(text("SELECT RELEASE_LOCK(:name)"), {"name": _MYSQL_LOCK_NAME})
    else:
        import fcntl

        database = engine.url.database or ""
        lock_path = Path(f"{database}.migrate-lock")
        with open(lock_path, "a") as handle:
            fcntl.flock(handle, fcntl.LOCK_EX)
            try:
                yield
            finally:
                fcntl.flock(handle, fcntl.LOCK_UN)


def migrate(engine: Engine) -> str | None:
    """Upgrade the schema to the newest revision under the migration lock.

    Returns the revision the database was at before, or None when it was current.
    """
    from keybroker.store.schema import HEAD_REVISION
    from keybroker.store.sql import upgrade_to_head

    try:
        with engine.connect() as probe:
            if current_revision(probe) == HEAD_REVISION:
                return None
        with engine.begin() as connection, _migration_lock(engine, connection):
            before = current_revision(connection)
            if before == HEAD_REVISION:
                return None
            if engine.dialect.name == "sqlite":
                connection.exec_driver_sql("PRAGMA journal_mode=WAL")
            upgrade_to_head(connection)
            return before or "empty"
    except StoreError:
        raise
    except Exception as exc:
        first_line = str(exc).splitlines()[0] if str(exc) else ""
        raise StoreError(
            f"cannot migrate the database at {redact_url(str(engine.url))}: "
            f"{type(exc).__name__}: {first_line}"
        ) from None


def check_schema(connection: Connection) -> None:
    """Refuse to serve a database that is not at the schema this code expects."""
    from keybroker.store.schema import HEAD_REVISION

    found = current_revision(connection)
    if found != HEAD_REVISION:
        raise StoreError(
            f"the database schema is at revision {found or 'none'}, this server needs "
            f"{HEAD_REVISION}; run 'keybroker server migrate'"
        )


def ping(engine: Engine) -> None:
    """Run a trivial query; raise if the database does not answer."""
    from sqlalchemy import text

    with engine.connect() as connection:
        connection.execute(text("SELECT 1"))
