"""A page request reads a bounded number of rows, however little its filters match.

Label filters are applied in Python to the rows SQL returns. Without a bound, a
label that matches nothing made one page request read and open every connector
the caller may see, on a team server holding up the worker's other requests. Now
a request reads at most ``MAX_ROWS_PER_PAGE`` rows and answers a short (even
empty) page with a cursor to continue; following the cursors finds every match.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from keybroker.caller import Caller, CallerKind
from keybroker.connector import ConnectorQuery
from keybroker.service import LocalOperations
from keybroker.service.local import MAX_ROWS_PER_PAGE
from keybroker.settings import Settings
from keybroker.store.base import StorePage
from keybroker.store.crypto import SecretBox
from keybroker.store.sql import SQLConnectorStore
from peers.connector_rows import insert_connectors

ROWS = 2 * MAX_ROWS_PER_PAGE + 300


class CountingStore(SQLConnectorStore):
    """The SQL store, counting the rows each ``page`` call may read."""

    rows_asked: int = 0

    def page(self, query: ConnectorQuery, **kwargs: Any) -> StorePage:
        self.rows_asked += kwargs["limit"]
        return super().page(query, **kwargs)


@pytest.fixture(scope="module")
def store(tmp_path_factory: pytest.TempPathFactory) -> CountingStore:
    """ROWS connectors of one owner; only the last one carries the label ``rare``."""
    url = f"sqlite:///{tmp_path_factory.mktemp('bounded') / 'kb.db'}"
    created = CountingStore(url, SecretBox(b"b" * 32))
    insert_connectors(
        created,
        ROWS,
        labels=lambda index: {"rare": "yes"} if index == ROWS - 1 else {"team": "a"},
    )
    return created


def _operations(store: CountingStore, tmp_path: Path) -> LocalOperations:
    return LocalOperations(
        store=store,
        settings=Settings(config_dir=tmp_path / "kb"),
        caller=Caller(name="alice", admin=False, kind=CallerKind.USER),
    )


def test_an_unmatched_filter_answers_short_pages_after_a_bounded_read(
    store: CountingStore, tmp_path: Path
) -> None:
    operations = _operations(store, tmp_path)
    query = ConnectorQuery(labels={"rare": "yes"})
    pages: list[list[str]] = []
    after: str | None = None
    while True:
        store.rows_asked = 0
        page, after = operations.page(query, after, 50)
        assert store.rows_asked <= MAX_ROWS_PER_PAGE + 51, store.rows_asked
        pages.append([c.connector.name for c in page])
        if after is None:
            break
    assert pages[0] == []  # the first thousand rows hold no match: an empty page, a cursor
    assert [name for page in pages for name in page] == [f"c-{ROWS - 1:05d}"]
    assert len(pages) == 3


def test_pages_without_filters_are_full_and_end_with_no_cursor(
    store: CountingStore, tmp_path: Path
) -> None:
    operations = _operations(store, tmp_path)
    seen: list[str] = []
    after: str | None = None
    sizes = []
    while True:
        page, after = operations.page(ConnectorQuery(), after, 200)
        sizes.append(len(page))
        seen.extend(c.connector.name for c in page)
        if after is None:
            break
    assert seen == [f"c-{index:05d}" for index in range(ROWS)]
    assert sizes[:-1] == [200] * (len(sizes) - 1)


def test_a_matching_filter_fills_its_page_within_the_bound(
    store: CountingStore, tmp_path: Path
) -> None:
    operations = _operations(store, tmp_path)
    store.rows_asked = 0
    page, after = operations.page(ConnectorQuery(labels={"team": "a"}), None, 50)
    assert [c.connector.name for c in page] == [f"c-{index:05d}" for index in range(50)]
    assert after == "c-00049" and store.rows_asked == 51  # one read of limit + 1 rows
