"""Bringing a database to the schema the code expects, safely from many processes at once.

The common case, a database already at :data:`~keybroker.store.schema.HEAD_REVISION`,
costs one query and never imports Alembic. Otherwise the upgrade runs under a
lock that serializes it across processes (a lock file next to a SQLite
database, an advisory lock on PostgreSQL, a named lock on MariaDB and MySQL),
and the revision is read again once the lock is held: the process that waited
finds the work done.
"""

from __future__ import annotations

import os
import zlib
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING

from keybroker.errors import StoreError

if TYPE_CHECKING:
    from alembic.config import Config
    from sqlalchemy.engine import Connection, Engine

MIGRATIONS_DIR = Path(__file__).with_name("migrations")

#: seconds a process waits for another one's schema upgrade
LOCK_TIMEOUT_SECONDS = 60

_LOCK_NAME = "keybroker_schema"
#: PostgreSQL advisory locks take a 64-bit key; derive a stable one from the name
_PG_LOCK_KEY = zlib.crc32(_LOCK_NAME.encode())


def current_revision(connection: Connection) -> str | None:
    """The Alembic revision recorded in the database, or None for an empty database."""
    from sqlalchemy import inspect, text

    if not inspect(connection).has_table("alembic_version"):
        return None
    row = connection.execute(text("SELECT version_num FROM alembic_version")).first()
    return str(row[0]) if row else None


def ensure_schema(engine: Engine, sqlite_file: Path | None) -> None:
    """Create or upgrade the schema unless it is already current.

    ``sqlite_file`` is the database file of a SQLite store (its lock file sits
    beside it); None for an in-memory SQLite database or a server database.
    """
    from keybroker.store.schema import HEAD_REVISION

    with engine.connect() as connection:
        if current_revision(connection) == HEAD_REVISION:
            return
        connection.rollback()
        with _schema_lock(connection, sqlite_file), connection.begin():
            revision = current_revision(connection)
            if revision == HEAD_REVISION:
                return
            if connection.dialect.name == "sqlite":
                # persistent in the file: readers never wait for one another or a writer
                connection.exec_driver_sql("PRAGMA journal_mode=WAL")
            upgrade_to_head(connection)


@contextmanager
def _schema_lock(connection: Connection, sqlite_file: Path | None) -> Iterator[None]:
    """Hold the cross-process schema lock of the database behind ``connection``."""
    dialect = connection.dialect.name
    if dialect == "sqlite":
        if sqlite_file is None:
            yield
            return
        with _file_lock(sqlite_file.with_name(sqlite_file.name + ".lock")):
            yield
        return
    from sqlalchemy import text

    if dialect == "postgresql":
        connection.execute(
            text("SELECT set_config('lock_timeout', :ms, true)"),
            {"ms": f"{LOCK_TIMEOUT_SECONDS * 1000}"},
        )
        connection.execute(text("SELECT pg_advisory_lock(:key)"), {"key": _PG_LOCK_KEY})
        connection.commit()
        try:
            yield
        finally:
            connection.execute(text("SELECT pg_advisory_unlock(:key)"), {"key": _PG_LOCK_KEY})
            connection.commit()
        return
    if dialect in ("mysql", "mariadb"):
        # named locks are server-wide: one name per database
        database = connection.execute(text("SELECT DATABASE()")).scalar() or ""
        name = f"{_LOCK_NAME}.{database}"[:64]
        got = connection.execute(
            text("SELECT GET_LOCK(:name, :timeout)"),
            {"name": name, "timeout": LOCK_TIMEOUT_SECONDS},
        ).scalar()
        connection.commit()
        if got != 1:
            raise StoreError(
                f"another process has been upgrading the store schema for over "
                f"{LOCK_TIMEOUT_SECONDS} s; try again when it has finished"
            )
        try:
            yield
        finally:
            connection.execute(text("SELECT RELEASE_LOCK(:name)"), {"name": name})
            connection.commit()
        return
    yield


@contextmanager
def _file_lock(path: Path) -> Iterator[None]:
    """An exclusive ``flock`` on ``path`` (created private), released on exit."""
    import fcntl

    try:
        fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o600)
    except OSError as exc:
        raise StoreError(
            f"cannot create the lock file {path} to upgrade the store: {exc.strerror}"
        ) from None
    try:
        fcntl.flock(fd, fcntl.LOCK_EX)
        yield
    finally:
        os.close(fd)


def upgrade_to_head(connection: Connection) -> None:
    """Create or upgrade the schema on ``connection`` with the shipped Alembic scripts."""
    from alembic import command

    command.upgrade(_config(connection), "head")


def upgrade_to(connection: Connection, revision: str) -> None:
    """Bring the schema to ``revision`` (tests build databases of earlier revisions with it)."""
    from alembic import command

    command.upgrade(_config(connection), revision)


def _config(connection: Connection | None = None) -> Config:
    from alembic.config import Config

    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS_DIR))
    if connection is not None:
        config.attributes["connection"] = connection
    return config


def script_head() -> str | None:
    """The head revision of the shipped migration scripts."""
    from alembic.script import ScriptDirectory

    return ScriptDirectory.from_config(_config()).get_current_head()
