"""A page of connectors reads an index range on every database, never sorting the table.

The server lists connectors by name in code-point order, a page at a time. The
statements a real ``page`` call sends through the store's direct reader are
captured and handed to the database's own EXPLAIN: a plan that sorts
(PostgreSQL's ``Sort``, SQLite's temporary B-tree, MariaDB's filesort) would read
and sort every row for each page.
"""

from __future__ import annotations

import os
from collections.abc import Iterator, Mapping
from typing import Any

import pytest
from sqlalchemy import text

from keybroker.connector import ConnectorQuery
from keybroker.store.crypto import SecretBox
from keybroker.store.direct_reads import DirectSelect
from keybroker.store.sql import SQLConnectorStore
from peers.connector_rows import insert_connectors

ROWS = 3000
KEY = os.urandom(32)


@pytest.fixture(scope="module")
def store(any_database_url: str) -> Iterator[SQLConnectorStore]:
    """A store of ROWS connectors (enough for MariaDB to prefer an index over a filesort)."""
    url = any_database_url
    created = SQLConnectorStore(url, SecretBox(KEY))
    kind = created._engine.dialect.name
    analyze = {"sqlite": "ANALYZE", "postgresql": "ANALYZE connectors"}
    with created._engine.begin() as connection:
        connection.execute(text("DELETE FROM connectors"))
    insert_connectors(
        created,
        ROWS,
        name="plan-{:04d}",
        owner=lambda index: "alice" if index % 3 else "bob",
        shared=lambda index: index % 2 == 0,
    )
    with created._engine.begin() as connection:  # fresh statistics, as a live database has
        connection.execute(text(analyze.get(kind, "ANALYZE TABLE connectors")))
    yield created
    with created._engine.begin() as connection:
        connection.execute(text("DELETE FROM connectors"))
    created.close()


def _plans(store: SQLConnectorStore, after: str | None, visible_to: str | None) -> list[str]:
    """EXPLAIN of every statement one ``page`` call sent, as text."""
    sent: list[tuple[str, Any]] = []
    reader = store._direct
    fetch = reader.fetch

    def capture(select: DirectSelect, values: Mapping[str, Any]) -> list[tuple[Any, ...]]:
        sent.append((select.sql, select.parameters(values)))
        return fetch(select, values)

    engine = store._engine
    reader.fetch = capture  # type: ignore[method-assign]
    try:
        page = store.page(ConnectorQuery(), after=after, limit=51, visible_to=visible_to).items
    finally:
        del reader.fetch
    assert page, "the page is empty: nothing was measured"
    prefix = "EXPLAIN QUERY PLAN " if engine.dialect.name == "sqlite" else "EXPLAIN "
    plans = []
    with engine.connect() as connection:
        for statement, parameters in sent:
            cursor = connection.connection.cursor()
            cursor.execute(prefix + statement, parameters)
            plans.append("\n".join(" ".join(str(v) for v in row) for row in cursor.fetchall()))
    return plans


@pytest.mark.parametrize("visible_to", [None, "alice"], ids=["admin", "user"])
@pytest.mark.parametrize("after", [None, "plan-0300"], ids=["first", "later"])
def test_a_page_reads_the_name_index_instead_of_sorting_the_table(
    store: SQLConnectorStore, after: str | None, visible_to: str | None
) -> None:
    plans = _plans(store, after, visible_to)
    assert plans
    for plan in plans:
        lowered = plan.lower()
        assert "sort" not in lowered.replace("sort_key", ""), plan  # PostgreSQL
        assert "temp b-tree" not in lowered, plan  # SQLite
        assert "filesort" not in lowered, plan  # MariaDB
