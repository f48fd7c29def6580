"""The server's database: engine, migrations, readiness, how times are stored.

Several replicas may start at once against one database; the schema upgrade runs
under the store's database lock (PostgreSQL advisory lock, MySQL/MariaDB
``GET_LOCK``, a file lock beside a SQLite file), so one of them migrates and the
others find the schema current.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from keybroker.errors import StoreError
from keybroker.store.direct_reads import DirectReader
from keybroker.store.sql import redact_url

if TYPE_CHECKING:
    from sqlalchemy.engine import Connection, Engine

    from keybroker.server.settings import ServerSettings


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


def _engine_options(settings: ServerSettings) -> dict[str, Any]:
    """The pool and driver options of the server's engines."""
    if settings.is_sqlite:
        return {
            "connect_args": {"timeout": 30, "check_same_thread": False},
            "pool_size": settings.pool_size,
        }
    # no pre-ping: it would add a round trip to every checkout (two per request); a
    # connection the database dropped fails one request with 503 and leaves the pool
    return {
        "pool_pre_ping": False,
        "pool_size": settings.pool_size,
        "max_overflow": 10,
        "pool_recycle": 300,
    }


def _open_engine(settings: ServerSettings, **extra: Any) -> Engine:
    from sqlalchemy import create_engine as sa_create_engine

    url = settings.database_url
    try:
        return sa_create_engine(url, **_engine_options(settings), **extra)
    except Exception as exc:
        raise StoreError(
            f"cannot open the database at {redact_url(url)}: {type(exc).__name__}: {exc}; "
            "check the database URL and that its driver is installed"
        ) from None


def create_engine(settings: ServerSettings) -> Engine:
    """A pooled engine for the server's database; SQLite gets WAL and a busy timeout."""
    from sqlalchemy import event

    sqlite = settings.is_sqlite
    if sqlite:
        settings.data_dir.mkdir(parents=True, exist_ok=True, mode=0o700)
    engine = _open_engine(settings)
    if sqlite:

        @event.listens_for(engine, "connect")
        def _sqlite_pragmas(dbapi_connection: Any, _record: Any) -> None:
            cursor = dbapi_connection.cursor()
            cursor.execute("PRAGMA busy_timeout=30000")
            cursor.execute("PRAGMA foreign_keys=ON")
            cursor.execute("PRAGMA synchronous=NORMAL")
            cursor.close()

    return engine


def direct_reader(settings: ServerSettings, engine: Engine) -> DirectReader:
    """The reader of the hottest reads (token lookups, connector pages).

    On PostgreSQL and MySQL it has a pool of its own whose connections stay in
    autocommit mode: a read is then one round trip, with no isolation level to
    switch at checkout nor a rollback at return. SQLite's driver reads outside any
    transaction already, so there it shares ``engine``.
    """
    if settings.is_sqlite:
        return DirectReader(engine)
    return DirectReader(
        _open_engine(settings, isolation_level="AUTOCOMMIT", pool_reset_on_return=None)
    )


def reader(engine: Engine) -> Engine:
    """``engine`` for single-statement reads, in autocommit mode.

    A read that is one statement needs no transaction; autocommit spares the
    ``BEGIN`` and the ``ROLLBACK`` on return to the pool, two of the three round
    trips such a read would otherwise cost on PostgreSQL or MySQL. SQLite's driver
    opens a transaction only before a write, so a read is already outside one
    there: switching the connection's isolation level at every checkout and
    return would only add work (a fifth of a list request's CPU time).
    """
    if engine.dialect.name == "sqlite":
        return engine
    return engine.execution_options(isolation_level="AUTOCOMMIT")


def migrate(engine: Engine) -> str | None:
    """Bring the schema to the newest revision; safe from several processes at once.

    The upgrade runs under the store's cross-process schema lock
    (:func:`keybroker.store.schema_upgrade.ensure_schema`). Returns the revision the
    database was at when this call began, or None when it was already current.
    """
    from keybroker.store.schema import HEAD_REVISION
    from keybroker.store.schema_upgrade import current_revision, ensure_schema
    from keybroker.store.sql import sqlite_file

    try:
        with engine.connect() as connection:
            before = current_revision(connection)
        if before == HEAD_REVISION:
            return None
        ensure_schema(engine, sqlite_file(engine.url.render_as_string(hide_password=False)))
    except StoreError:
        raise
    except Exception as exc:
        first_line = str(exc).splitlines()[0] if str(exc) else ""
        raise StoreError(
            f"cannot migrate the database at {redact_url(str(engine.url))}: "
            f"{type(exc).__name__}: {first_line}"
        ) from None
    return before or "empty"


def check_schema(connection: Connection) -> None:
    """Refuse to serve a database that is not at the schema this code expects."""
    from keybroker.store.schema import HEAD_REVISION
    from keybroker.store.schema_upgrade import current_revision

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
