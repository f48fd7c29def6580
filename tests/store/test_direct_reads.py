"""The direct reader returns what SQLAlchemy would, on every database, and fails like it.

:class:`~keybroker.store.direct_reads.DirectReader` skips SQLAlchemy's execute for the
server's hottest reads. These tests hold it to SQLAlchemy's own answers on SQLite,
PostgreSQL and MariaDB (times, booleans, bytes and NULLs included), and check that a
driver error reaches callers as SQLAlchemy's exception without the parameters
(token hashes), and that a connection the database dropped leaves the pool.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from datetime import UTC, datetime

import pytest
from pydantic import SecretStr
from sqlalchemy import DateTime, bindparam, create_engine, select, text
from sqlalchemy.engine import Engine
from sqlalchemy.exc import DBAPIError, OperationalError

from keybroker.connector import Connector, ConnectorQuery
from keybroker.store.crypto import SecretBox
from keybroker.store.direct_reads import DirectReader, DirectSelect
from keybroker.store.schema import connectors
from keybroker.store.sql import SQLConnectorStore, _like_escaped

KEY = os.urandom(32)
NAMES = ["a%b", "a_b", "axb", "a/b", "plain"]


@pytest.fixture(scope="module")
def store(any_database_url: str) -> Iterator[SQLConnectorStore]:
    """A store holding one connector per name in NAMES, shared and private, one expiring."""
    url = any_database_url
    created = SQLConnectorStore(url, SecretBox(KEY))
    with created._engine.begin() as connection:
        connection.execute(text("DELETE FROM connectors"))
    for index, name in enumerate(NAMES):
        created.create(
            Connector(
                name=name,
                connector_type="httpbasic",
                auth_method="password",
                configuration={"url": "https://example.com"},
                secrets={"password": SecretStr(f"direct-secret-{index}")},
                labels={"n": str(index)},
                owner="alice" if index % 2 else "bob",
                shared=index == 0,
                expires_at=datetime(2031, 1, 2, 3, 4, 5, tzinfo=UTC) if index == 1 else None,
            )
        )
    yield created
    created.close()


def _sqlalchemy_rows(engine: Engine, statement: object, values: dict[str, object]) -> list[dict]:
    with engine.connect() as connection:
        return [dict(row) for row in connection.execute(statement, values).mappings()]  # type: ignore[call-overload]


def test_rows_match_sqlalchemys_own_after_conversion(store: SQLConnectorStore) -> None:
    statement = (
        select(connectors)
        .where(connectors.c.name > bindparam("after"))
        .order_by(connectors.c.name)
        .limit(bindparam("limit"))
    )
    reader = DirectReader(store._engine)
    direct = reader.compiled("all-after", lambda: statement)
    values = {"after": "a", "limit": 10}
    rows = reader.fetch(direct, values)
    expected = _sqlalchemy_rows(store._engine, statement, values)
    assert len(rows) == len(NAMES)
    assert [direct.mapping(row) for row in rows] == expected
    by_name = {row["name"]: row for row in expected}
    assert by_name["a_b"]["expires_at"] is not None and by_name["a%b"]["expires_at"] is None
    assert by_name["a%b"]["shared"] is True and by_name["a_b"]["shared"] is False
    assert isinstance(by_name["plain"]["created"], datetime)
    assert rows[-1][direct.index("name")] == "plain"


def test_a_statement_is_compiled_once_per_shape(store: SQLConnectorStore) -> None:
    reader = DirectReader(store._engine)
    built: list[int] = []

    def build() -> object:
        built.append(1)
        return select(connectors.c.name).where(connectors.c.owner == bindparam("owner"))

    first = reader.compiled("by-owner", build)  # type: ignore[arg-type]
    assert reader.compiled("by-owner", build) is first  # type: ignore[arg-type]
    assert len(built) == 1
    assert sorted(r[0] for r in reader.fetch(first, {"owner": "bob"})) == ["a%b", "axb", "plain"]


@pytest.mark.parametrize("wanted", ["a_b", "a%b", "a/b"])
def test_the_page_filter_matches_wildcards_and_the_escape_literally(
    store: SQLConnectorStore, wanted: str
) -> None:
    query = ConnectorQuery(name=wanted)
    select_page = store._page_select(query, None, first=True)
    sent = store._direct.fetch(
        select_page, {"limit": 10, "name_pattern": f"%{_like_escaped(wanted)}%"}
    )
    # the SQL itself narrows (matches() would hide a wildcard match from the user)
    assert [row[select_page.index("name")] for row in sent] == [wanted]
    assert [c.connector.name for c in store.page(query, after=None, limit=10).items] == [wanted]


def test_a_parameter_that_needs_conversion_is_refused_when_compiled(
    store: SQLConnectorStore,
) -> None:
    if store._engine.dialect.name != "sqlite":
        pytest.skip("only SQLite's driver needs SQLAlchemy to convert a time parameter")
    statement = select(connectors.c.name).where(
        connectors.c.created > bindparam("since", type_=DateTime())
    )
    with pytest.raises(ValueError, match="'since' needs SQLAlchemy's conversion"):
        DirectSelect(statement, store._engine)


def test_a_driver_error_is_sqlalchemys_and_hides_the_parameters(
    store: SQLConnectorStore,
) -> None:
    reader = DirectReader(store._engine)
    bad = reader.compiled(
        "bad",
        lambda: select(connectors.c.name).where(
            connectors.c.owner == bindparam("owner"), text("no_such_column = 1")
        ),
    )
    with pytest.raises(DBAPIError) as raised:
        reader.fetch(bad, {"owner": "a-token-hash-that-must-not-show"})
    assert "a-token-hash-that-must-not-show" not in str(raised.value)
    # the connection went back to the pool in a usable state
    good = reader.compiled(
        "owner", lambda: select(connectors.c.name).where(connectors.c.owner == bindparam("owner"))
    )
    assert reader.fetch(good, {"owner": "alice"})


def test_a_dropped_connection_fails_once_and_leaves_the_pool(
    store: SQLConnectorStore,
) -> None:
    if store._engine.dialect.name != "postgresql":
        pytest.skip("PostgreSQL lets a test end another session's connection")
    engine = create_engine(store._engine.url, isolation_level="AUTOCOMMIT", pool_size=1)
    reader = DirectReader(engine)
    names = reader.compiled("names", lambda: select(connectors.c.name))
    pid = reader.compiled("pid", lambda: select(text("pg_backend_pid()")))
    backend = reader.fetch(pid, {})[0][0]
    with store._engine.connect() as connection:
        connection.execute(text("SELECT pg_terminate_backend(:pid)"), {"pid": backend})
    with pytest.raises(OperationalError) as raised:
        reader.fetch(names, {})
    assert raised.value.connection_invalidated
    assert len(reader.fetch(names, {})) == len(NAMES)  # a new connection, no error
    assert reader.fetch(pid, {})[0][0] != backend
    engine.dispose()
