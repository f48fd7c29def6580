"""The embedded connector store: a SQL database (SQLite by default) with sealed rows."""

from __future__ import annotations

import functools
import getpass
import uuid
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any, ParamSpec, TypeVar

from keybroker.connector import Connector, ConnectorQuery, ListedConnector
from keybroker.errors import (
    ConflictError,
    KeybrokerError,
    NotFoundError,
    StaleVersionError,
    StoreError,
    UsageError,
)
from keybroker.store.base import ConnectorStore, StorePage
from keybroker.store.direct_reads import DirectReader, DirectSelect
from keybroker.store.opened_rows import OpenedRows
from keybroker.store.query import MIN_ID_PREFIX, matches

if TYPE_CHECKING:
    from sqlalchemy.engine import Connection, Engine, Row

    from keybroker.settings import Settings
    from keybroker.store.crypto import SecretBox


#: the escape character of the name filter's LIKE pattern
_LIKE_ESCAPE = "/"


def _like_escaped(text: str) -> str:
    """``text`` with LIKE's wildcards and the escape character matching themselves."""
    for special in (_LIKE_ESCAPE, "%", "_"):
        text = text.replace(special, _LIKE_ESCAPE + special)
    return text


P = ParamSpec("P")
R = TypeVar("R")


def reports_database_errors(
    method: Callable[P, R],
) -> Callable[P, R]:
    """Make a store method report a database failure as one ``StoreError`` line.

    A server that went away, a lock timeout or a value the database refuses
    would otherwise reach the user as an "unexpected" driver exception.
    """

    @functools.wraps(method)
    def wrapper(*args: P.args, **kwargs: P.kwargs) -> R:
        from sqlalchemy.exc import SQLAlchemyError

        try:
            return method(*args, **kwargs)
        except KeybrokerError:
            raise
        except SQLAlchemyError as exc:
            cause = getattr(exc, "orig", None) or exc
            lines = str(cause).strip().splitlines()
            detail = f"{type(cause).__name__}: {lines[0]}" if lines else type(cause).__name__
            store = args[0]
            where = redact_url(store.url) if isinstance(store, SQLConnectorStore) else "?"
            raise StoreError(f"the store at {where} failed: {detail}") from None

    return wrapper


def redact_url(url: str) -> str:
    """``url`` with any password replaced, for messages."""
    from sqlalchemy.engine import make_url

    try:
        return make_url(url).render_as_string(hide_password=True)
    except Exception:
        return "<unparsable store URL>"


def names_no_database(url: str) -> bool:
    """Whether ``url`` is a server database URL without a database name (``.../``)."""
    from sqlalchemy.engine import make_url

    try:
        parsed = make_url(url)
    except Exception:
        return False
    return parsed.get_backend_name() != "sqlite" and not parsed.database


def sqlite_file(url: str) -> Path | None:
    """The database file of a SQLite URL; None for other databases and in-memory SQLite."""
    from sqlalchemy.engine import make_url

    try:
        parsed = make_url(url)
    except Exception:
        return None
    if parsed.get_backend_name() != "sqlite":
        return None
    database = parsed.database
    if not database or database == ":memory:" or database.startswith("file:"):
        return None
    return Path(database)


def reseal_connectors(connection: Connection, old_box: SecretBox, new_box: SecretBox) -> int:
    """Re-seal every connector ``old_box`` opens with ``new_box``, in ``connection``'s
    transaction; returns how many. Unreadable rows stay as they are; each re-sealed row
    gets a new version. A row changed meanwhile raises ``StaleVersionError``.
    """
    from sqlalchemy import select
    from sqlalchemy import update as sql_update

    from keybroker.store.rows import from_row, to_row
    from keybroker.store.schema import connectors

    count = 0
    for row in connection.execute(select(connectors)).all():
        connector = from_row(row._mapping, old_box, with_secrets=True)
        if connector.error is not None:
            continue
        values = to_row(connector, new_box)
        values.pop("id")
        result = connection.execute(
            sql_update(connectors)
            .where(connectors.c.id == row.id, connectors.c.version == row.version)
            .values(**values, version=row.version + 1)
        )
        if result.rowcount != 1:
            raise StaleVersionError(
                "a connector changed while the key was being rotated; nothing was "
                "changed, run the rotation again"
            )
        count += 1
    return count


class SQLConnectorStore(ConnectorStore):
    """Connectors in a SQL database reached through SQLAlchemy.

    On open the schema is brought to :data:`~keybroker.store.schema.HEAD_REVISION`
    (Alembic is imported only when it is not there yet) and the encryption key is
    checked against the key check value the database holds, so a wrong or
    missing key fails at once rather than connector by connector. Every row is
    sealed with AES-GCM over all of its fields (:mod:`keybroker.store.rows`).

    ``box`` may be None to take the key from ``load_key`` (e.g. read a key file)
    once the database has been read; when that finds none, a store that holds
    no connectors gets the key ``create_key`` returns, and one that does is
    refused. ``key_source`` names where the key comes from, for messages.
    """

    #: connectors opened without secrets, by row content (a server's store only)
    _opened: OpenedRows | None = None
    #: an autocommit engine for reads (a server's store only): no BEGIN/ROLLBACK round trips
    _reads: Engine | None = None

    def __init__(
        self,
        url: str,
        box: SecretBox | None,
        user: str | None = None,
        *,
        key_source: str = "the caller",
        load_key: Callable[[], bytes | None] | None = None,
        create_key: Callable[[], bytes] | None = None,
        private_database_file: bool = False,
    ) -> None:
        from sqlalchemy import create_engine, event

        self.url = url
        self.location = f"embedded ({redact_url(url)})"
        self._user = user
        self._key_source = key_source
        database_file = sqlite_file(url)
        sqlite = url.startswith("sqlite")
        if database_file is not None:
            from keybroker.store.private_files import prepare_database_file

            prepare_database_file(database_file, tighten=private_database_file)
        connect_args: dict[str, Any] = {"timeout": 30} if sqlite else {}
        if names_no_database(url):
            raise UsageError(
                f"the store URL {redact_url(url)} names no database; add its name at the end "
                "(e.g. mysql+pymysql://user@host/keybroker) in KEYBROKER_STORE_URL"
            )
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

        self._owns_engine = True
        self._direct = DirectReader(self._engine)
        try:
            from keybroker.store.schema_upgrade import ensure_schema

            ensure_schema(self._engine, database_file)
            self._box = self._checked_box(box, load_key, create_key)
        except StoreError:
            self._engine.dispose()
            raise
        except Exception as exc:
            self._engine.dispose()
            raise StoreError(
                f"cannot open the store at {redact_url(self.url)}: {type(exc).__name__}: "
                f"{str(exc).splitlines()[0] if str(exc) else ''}"
            ) from None

    def __repr__(self) -> str:
        return f"SQLConnectorStore({redact_url(self.url)!r})"

    @classmethod
    def over_engine(
        cls, engine: Engine, box: SecretBox, direct: DirectReader | None = None
    ) -> SQLConnectorStore:
        """A store on an engine someone else opened, migrated and checked the key of.

        A team server's: its database is already at the schema head and its key
        check is its own; :meth:`close` leaves the engine to its owner. Pages are
        read through ``direct`` (by default on ``engine`` itself).
        """
        store = cls.__new__(cls)
        store.url = engine.url.render_as_string(hide_password=False)
        store.location = f"server ({redact_url(store.url)})"
        store._user = None
        store._key_source = "the server's encryption key"
        store._engine = engine
        store._box = box
        store._owns_engine = False
        store._direct = direct or DirectReader(engine)
        store._opened = OpenedRows()  # a long-lived process lists the same rows again and again
        if engine.dialect.name != "sqlite":  # SQLite's driver opens no transaction to read
            store._reads = engine.execution_options(isolation_level="AUTOCOMMIT")
        return store

    @classmethod
    def from_settings(cls, settings: Settings) -> SQLConnectorStore:
        """The store ``settings`` describe, with its encryption key.

        The key comes from ``KEYBROKER_ENCRYPTION_KEY`` or the key file in the
        config directory; the key file is created only for a store that holds no
        connectors yet.
        """
        from keybroker.store.crypto import SecretBox, parse_key
        from keybroker.store.private_files import (
            create_key_file,
            prepare_private_dir,
            read_key_file,
        )

        default_database = settings.store_url is None
        if default_database or not settings.encryption_key:
            prepare_private_dir(settings.config_dir)
        if settings.encryption_key:
            key = parse_key(settings.encryption_key, "KEYBROKER_ENCRYPTION_KEY")
            return cls(
                settings.database_url,
                SecretBox(key),
                key_source="KEYBROKER_ENCRYPTION_KEY",
                private_database_file=default_database,
            )
        key_file = settings.key_file
        return cls(
            settings.database_url,
            None,
            key_source=f"the key file {key_file}",
            load_key=lambda: read_key_file(key_file),
            create_key=lambda: create_key_file(key_file),
            private_database_file=default_database,
        )

    # -- the key ----------------------------------------------------------

    def _checked_box(
        self,
        box: SecretBox | None,
        load_key: Callable[[], bytes | None] | None,
        create_key: Callable[[], bytes] | None,
    ) -> SecretBox:
        """The box to seal with, after checking it against the database's key check.

        The key is loaded only after the database was read: a process that finds
        another one's key check then also finds the key file it published first.
        """
        from sqlalchemy import insert, select
        from sqlalchemy.exc import IntegrityError

        from keybroker.store.crypto import SecretBox
        from keybroker.store.schema import KEY_CHECK, connectors, store_metadata

        def stored_check(connection: Connection) -> bytes | None:
            value = connection.execute(
                select(store_metadata.c.value).where(store_metadata.c.name == KEY_CHECK)
            ).scalar()
            return bytes(value) if value is not None else None

        with self._engine.connect() as connection:
            check = stored_check(connection)
            holds_rows = connection.execute(select(connectors.c.id).limit(1)).first() is not None
        if box is None and load_key is not None:
            found = load_key()
            box = SecretBox(found) if found is not None else None
        if box is None:
            if check is not None or holds_rows:
                raise StoreError(
                    f"the store at {redact_url(self.url)} holds connectors sealed with an "
                    f"encryption key that is missing: {self._key_source} does not exist and "
                    "KEYBROKER_ENCRYPTION_KEY is not set; restore the key (a new one cannot "
                    "open them)"
                )
            if create_key is None:
                raise StoreError("no encryption key was given for the store")
            box = SecretBox(create_key())
        if check is None and holds_rows and not self._opens_some_row(box):
            check = b""  # connectors sealed with another key, and their key check is gone
        if check is None:
            try:
                with self._engine.begin() as connection:
                    connection.execute(
                        insert(store_metadata).values(name=KEY_CHECK, value=box.key_check())
                    )
                return box
            except IntegrityError:  # another process stored its check first
                with self._engine.connect() as connection:
                    check = stored_check(connection)
        if not check or not box.matches(check):
            raise StoreError(
                f"the encryption key from {self._key_source} does not open the store at "
                f"{redact_url(self.url)} (its connectors were sealed with another key); use "
                "the key that belongs to it (KEYBROKER_ENCRYPTION_KEY or the key file)"
            )
        return box

    def _opens_some_row(self, box: SecretBox) -> bool:
        """Whether ``box`` opens one of the sealed rows (true when no row is of this format)."""
        from sqlalchemy import select

        from keybroker.store.crypto import ROW_FORMAT, blob_format
        from keybroker.store.rows import from_row
        from keybroker.store.schema import connectors

        with self._engine.connect() as connection:
            rows = connection.execute(select(connectors).limit(50)).all()
        sealed = [row for row in rows if blob_format(row.secrets) == ROW_FORMAT]
        return not sealed or any(
            from_row(row._mapping, box, with_secrets=False).error is None for row in sealed
        )

    @reports_database_errors
    def rotate_key(self, new_box: SecretBox) -> int:
        """Re-seal every readable connector and the key check with a new key, atomically.

        Returns how many connectors were re-sealed; unreadable rows are left as
        they are. A connector changed meanwhile by another process aborts the
        rotation with ``ConflictError`` (nothing is changed). Each re-sealed row
        gets a new version, so a process still holding the old key cannot write
        over it.
        """
        from sqlalchemy import update as sql_update

        from keybroker.store.schema import KEY_CHECK, store_metadata

        with self._engine.begin() as connection:
            count = reseal_connectors(connection, self._box, new_box)
            connection.execute(
                sql_update(store_metadata)
                .where(store_metadata.c.name == KEY_CHECK)
                .values(value=new_box.key_check())
            )
        self._box = new_box
        return count

    # -- rows -------------------------------------------------------------

    def _read(self, row: Row[Any], with_secrets: bool) -> Connector:
        from keybroker.store.rows import from_row

        if not with_secrets and self._opened is not None:
            return self._opened.read(row, self._box)
        connector = from_row(row._mapping, self._box, with_secrets=with_secrets)
        if connector.error is not None and with_secrets:
            raise StoreError(connector.error)
        return connector

    def _listed(self, select: DirectSelect, row: tuple[Any, ...]) -> ListedConnector:
        """The connector of a row ``select`` read directly, shared with other lists when
        the store remembers it."""
        from keybroker.store.rows import from_row

        if self._opened is not None:
            return self._opened.listed(row, lambda: select.mapping(row), self._box)
        return ListedConnector(from_row(select.mapping(row), self._box, with_secrets=False))

    @staticmethod
    def _public(connector: Connector, version: int) -> Connector:
        copy = connector.model_copy(deep=True)
        copy.secret_names = sorted(connector.secrets)
        copy.secrets = {}
        copy.version = version
        return copy

    @staticmethod
    def _conflict(name: str) -> ConflictError:
        return ConflictError(
            f"a connector named '{name}' already exists; choose another name or "
            "update the existing one"
        )

    # -- operations -------------------------------------------------------

    @reports_database_errors
    def create(self, connector: Connector) -> Connector:
        from sqlalchemy import insert
        from sqlalchemy.exc import IntegrityError

        from keybroker.store.rows import to_row
        from keybroker.store.schema import connectors

        row = to_row(connector, self._box)
        try:
            with self._engine.begin() as connection:
                connection.execute(insert(connectors).values(**row, version=1))
        except IntegrityError:  # the unique name (or, never in practice, the id)
            raise self._conflict(connector.name) from None
        return self._public(connector, version=1)

    @staticmethod
    def _visibility(visible_to: str | None) -> Any:
        """The condition keeping ``visible_to``'s own and shared connectors (None: all)."""
        from sqlalchemy import or_, true

        from keybroker.store.schema import connectors

        if visible_to is None:
            return true()
        return or_(connectors.c.owner == visible_to, connectors.c.shared == true())

    def _find(
        self, connection: Connection, name_or_id: str, visible_to: str | None = None
    ) -> Row[Any]:
        from sqlalchemy import select

        from keybroker.store.schema import connectors

        visible = select(connectors).where(self._visibility(visible_to))
        by_name = connection.execute(visible.where(connectors.c.name == name_or_id)).first()
        if by_name is not None:
            return by_name
        try:
            wanted: uuid.UUID | None = uuid.UUID(name_or_id)
        except ValueError:
            wanted = None
        if wanted is not None:
            by_id = connection.execute(visible.where(connectors.c.id == str(wanted))).first()
            if by_id is not None:
                return by_id
        elif len(name_or_id) >= MIN_ID_PREFIX and all(
            c in "0123456789abcdef-" for c in name_or_id.lower()
        ):
            found = connection.execute(
                visible.where(connectors.c.id.startswith(name_or_id.lower())).limit(2)
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

    @reports_database_errors
    def get(
        self, name_or_id: str, *, with_secrets: bool = False, visible_to: str | None = None
    ) -> Connector:
        with (self._reads or self._engine).connect() as connection:
            row = self._find(connection, name_or_id, visible_to)
        return self._read(row, with_secrets)

    def _sort_name(self) -> Any:
        """The name column compared by code point on every database.

        SQLite compares bytes, and the MariaDB/MySQL table has a binary collation;
        PostgreSQL would use the database's locale unless told "C".
        """
        from keybroker.store.schema import connectors

        if self._engine.dialect.name == "postgresql":
            return connectors.c.name.collate("C")
        return connectors.c.name

    @staticmethod
    def _selection(query: ConnectorQuery, visible_to: str | None) -> Any:
        """The rows that may match ``query``; :func:`matches` decides exactly.

        Its parameters (:meth:`_selection_values`) are bound by name, so that one
        statement serves every value of the filters ``query`` uses.
        """
        from sqlalchemy import bindparam, or_, select, true

        from keybroker.store.schema import connectors

        statement = select(connectors)
        if visible_to is not None:
            statement = statement.where(
                or_(connectors.c.owner == bindparam("visible_to"), connectors.c.shared == true())
            )
        if query.name:
            # a superset (SQLite's LIKE ignores ASCII case); matches() compares exactly
            statement = statement.where(
                connectors.c.name.like(bindparam("name_pattern"), escape=_LIKE_ESCAPE)
            )
        if query.connector_type:
            statement = statement.where(connectors.c.connector_type == bindparam("connector_type"))
        if query.resource_id:
            statement = statement.where(connectors.c.resource_id == bindparam("resource_id"))
        return statement

    @staticmethod
    def _selection_values(query: ConnectorQuery, visible_to: str | None) -> dict[str, Any]:
        """The parameters of :meth:`_selection`."""
        return {
            "visible_to": visible_to,
            "name_pattern": f"%{_like_escaped(query.name)}%" if query.name else None,
            "connector_type": query.connector_type,
            "resource_id": query.resource_id,
        }

    @reports_database_errors
    def list(
        self, query: ConnectorQuery | None = None, *, visible_to: str | None = None
    ) -> list[Connector]:
        query = query or ConnectorQuery()
        statement = self._selection(query, visible_to).order_by(self._sort_name())
        values = self._selection_values(query, visible_to)
        with (self._reads or self._engine).connect() as connection:
            rows = connection.execute(statement, values).all()
        found = [self._read(row, with_secrets=False) for row in rows]
        return sorted((c for c in found if matches(c, query)), key=lambda c: c.name)

    def _page_select(self, query: ConnectorQuery, visible_to: str | None, first: bool) -> Any:
        """The page statement for the filters ``query`` uses, compiled once per shape:
        :meth:`_selection` in name order, after the name ``after`` (unless ``first``),
        at most ``limit`` rows."""
        shape = (
            "page",
            visible_to is None,
            bool(query.name),
            bool(query.connector_type),
            bool(query.resource_id),
            first,
        )

        def build() -> Any:
            from sqlalchemy import bindparam

            name = self._sort_name()
            statement = self._selection(query, visible_to)
            if not first:
                statement = statement.where(name > bindparam("after"))
            return statement.order_by(name).limit(bindparam("limit"))

        return self._direct.compiled(shape, build)

    @reports_database_errors
    def page(
        self,
        query: ConnectorQuery,
        *,
        after: str | None,
        limit: int,
        visible_to: str | None = None,
    ) -> StorePage:
        """Keyset pages in SQL: one indexed range read of ``limit`` rows; the filters
        SQL cannot apply (labels) are applied to them here."""
        select = self._page_select(query, visible_to, first=after is None)
        values = {**self._selection_values(query, visible_to), "limit": limit, "after": after}
        rows = self._direct.fetch(select, values)
        listed = [self._listed(select, row) for row in rows]
        return StorePage(
            [c for c in listed if matches(c.connector, query)],
            rows[-1][select.index("name")] if len(rows) == limit else None,
        )

    @reports_database_errors
    def update(self, connector: Connector) -> Connector:
        from sqlalchemy import select
        from sqlalchemy import update as sql_update
        from sqlalchemy.exc import IntegrityError

        from keybroker.store.rows import to_row
        from keybroker.store.schema import connectors

        row = to_row(connector, self._box)
        row.pop("id")
        version = connector.version + 1
        try:
            with self._engine.begin() as connection:
                result = connection.execute(
                    sql_update(connectors)
                    .where(
                        connectors.c.id == str(connector.id),
                        connectors.c.version == connector.version,
                    )
                    .values(**row, version=version)
                )
                if result.rowcount != 1:
                    stored = connection.execute(
                        select(connectors.c.version).where(connectors.c.id == str(connector.id))
                    ).first()
                    if stored is None:
                        raise NotFoundError(f"connector '{connector.name}' does not exist")
                    raise StaleVersionError(
                        f"connector '{connector.name}' was changed by someone else since it "
                        "was read; run the command again"
                    )
        except IntegrityError:
            raise self._conflict(connector.name) from None
        return self._public(connector, version=version)

    @reports_database_errors
    def delete(self, connector_id: uuid.UUID) -> None:
        from sqlalchemy import delete as sql_delete

        from keybroker.store.schema import connectors

        with self._engine.begin() as connection:
            result = connection.execute(
                sql_delete(connectors).where(connectors.c.id == str(connector_id))
            )
        if result.rowcount == 0:
            raise NotFoundError(f"connector '{connector_id}' does not exist")

    @reports_database_errors
    def name_exists(self, name: str) -> bool:
        from sqlalchemy import select

        from keybroker.store.schema import connectors

        with self._engine.connect() as connection:
            found = connection.execute(
                select(connectors.c.id).where(connectors.c.name == name)
            ).first()
        return found is not None

    def current_user(self) -> str:
        if self._user:
            return self._user
        try:
            return getpass.getuser()
        except Exception:
            return "default"

    def close(self) -> None:
        if self._owns_engine:
            self._engine.dispose()
