"""The hottest reads, run straight on the database driver.

A team server runs two reads for nearly every request: the token lookup and a
page of connectors. SQLAlchemy's ``Connection.execute`` spends more CPU on each
than the driver and the database together (a ``Connection`` object, the
statement's cache key, result metadata, events, and on PostgreSQL and MySQL
switching the isolation level at checkout and back at return). A
:class:`DirectReader` compiles a Core ``select`` once per shape, runs it on a
pooled DBAPI connection, and returns the driver's own tuples: the rows are read
fresh from the database every time, only the Python around them is skipped.

The tuples are what the driver returned (SQLite's times are text, MySQL's
booleans are integers): :meth:`DirectSelect.mapping` converts a row the way
SQLAlchemy would, for the callers that need the values rather than an exact key.
Driver errors come out as SQLAlchemy's exceptions, and a connection the database
dropped leaves the pool, as with ``execute``.
"""

from __future__ import annotations

import contextlib
import threading
from collections.abc import Callable, Hashable, Mapping
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from sqlalchemy.engine import Engine
    from sqlalchemy.sql import Select


class DirectSelect:
    """One ``select`` compiled for one database: its SQL and how to read its rows."""

    def __init__(self, statement: Select[Any], engine: Engine) -> None:
        dialect = engine.dialect
        compiled = statement.compile(dialect=dialect)
        self.sql = compiled.string
        if "POSTCOMPILE" in self.sql:
            raise ValueError("a direct read needs every parameter bound by name, not expanding")
        for name, bind in compiled.binds.items():
            if bind.type.dialect_impl(dialect).bind_processor(dialect) is not None:
                raise ValueError(
                    f"the parameter '{name}' needs SQLAlchemy's conversion; "
                    "read it through Connection.execute"
                )
        self._positions: tuple[str, ...] | None = (
            tuple(compiled.positiontup or ()) if compiled.positional else None
        )
        #: parameters the compiler added with values of their own (SQLite's OFFSET -1)
        self._fixed = {
            name: bind.effective_value
            for bind, name in compiled.bind_names.items()
            if not bind.required
        }
        columns = list(statement.selected_columns)
        self.names: tuple[str, ...] = tuple(str(column.name) for column in columns)
        if len(set(self.names)) != len(self.names):
            raise ValueError(f"a direct read needs distinct column names, not {self.names}")
        self._processors = [
            column.type.dialect_impl(dialect).result_processor(dialect, None) for column in columns
        ]

    def index(self, name: str) -> int:
        """The position of the column ``name`` in a row."""
        return self.names.index(name)

    def parameters(self, values: Mapping[str, Any]) -> Any:
        """``values`` in the driver's parameter style (a tuple or a mapping)."""
        merged = {**self._fixed, **values}
        if self._positions is None:
            return merged
        return tuple(merged[name] for name in self._positions)

    def mapping(self, row: tuple[Any, ...]) -> dict[str, Any]:
        """The row's values by column name, converted as SQLAlchemy converts them."""
        return {
            name: value if process is None else process(value)
            for name, process, value in zip(self.names, self._processors, row, strict=True)
        }


class DirectReader:
    """Runs :class:`DirectSelect` statements on the pooled connections of one engine.

    Give it an engine whose connections are in autocommit mode (or SQLite's, whose
    driver reads outside any transaction) and returns no rollback to the pool:
    then a read is one round trip. Any other engine works too, at the price of the
    pool's rollback on return.
    """

    def __init__(self, engine: Engine) -> None:
        self.engine = engine
        self._compiled: dict[Hashable, DirectSelect] = {}
        self._lock = threading.Lock()

    def compiled(self, shape: Hashable, build: Callable[[], Select[Any]]) -> DirectSelect:
        """The statement ``build`` makes, compiled once per ``shape``: a key naming
        everything the statement's text depends on (never a parameter's value)."""
        found = self._compiled.get(shape)
        if found is None:
            found = DirectSelect(build(), self.engine)
            with self._lock:
                found = self._compiled.setdefault(shape, found)
        return found

    def fetch(self, select: DirectSelect, values: Mapping[str, Any]) -> list[tuple[Any, ...]]:
        """Every row of ``select`` with ``values`` bound, as the driver returns them."""
        from sqlalchemy.exc import DBAPIError

        dialect = self.engine.dialect
        driver_error = dialect.loaded_dbapi.Error
        parameters = select.parameters(values)
        try:
            connection = self.engine.raw_connection()
        except driver_error as exc:
            raise DBAPIError.instance(
                select.sql, None, exc, driver_error, hide_parameters=True, dialect=dialect
            ) from None
        try:
            cursor = connection.cursor()
            try:
                cursor.execute(select.sql, parameters)
                return list(cursor.fetchall())
            finally:
                with contextlib.suppress(driver_error):  # a dropped connection's cursor
                    cursor.close()
        except driver_error as exc:
            dropped = dialect.is_disconnect(exc, connection.dbapi_connection, None)
            if dropped:
                connection.invalidate(exc)
            raise DBAPIError.instance(
                select.sql,
                None,
                exc,
                driver_error,
                hide_parameters=True,
                connection_invalidated=dropped,
                dialect=dialect,
            ) from None
        finally:
            connection.close()
