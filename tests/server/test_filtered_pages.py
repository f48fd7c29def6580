"""Through a real server: a label filter that matches little answers short pages at once.

A request reads a bounded number of rows; a page may hold fewer items than its
limit, even none, with a ``next_cursor`` to continue. Following the cursors, as
every keybroker client does, still finds every match; the CLI shows it.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from keybroker.service.local import MAX_ROWS_PER_PAGE
from keybroker.store.crypto import SecretBox, parse_key
from keybroker.store.sql import SQLConnectorStore
from peers.connector_rows import insert_connectors
from peers.keybroker_server import (
    ADMIN_PASSWORD,
    RunningServer,
    connect,
    keybroker_json,
    new_encryption_key,
    start_server,
)

ROWS = 2 * MAX_ROWS_PER_PAGE + 300
RARE = f"c-{ROWS - 1:05d}"


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RunningServer]:
    """A server whose ROWS connectors carry the label team=a, but for the last: rare=yes."""
    key = new_encryption_key()
    running = start_server(tmp_path_factory.mktemp("filtered"), encryption_key=key)
    store = SQLConnectorStore(running.database_url, SecretBox(parse_key(key, "the test")))
    insert_connectors(
        store,
        ROWS,
        owner=lambda index: "admin",
        labels=lambda index: {"rare": "yes"} if index == ROWS - 1 else {"team": "a"},
    )
    store.close()
    try:
        yield running
    finally:
        running.stop()


def test_an_unmatched_label_answers_an_empty_page_with_a_cursor(server: RunningServer) -> None:
    token = server.sign_in("admin", ADMIN_PASSWORD)
    path = "/api/v1/connectors?label=rare%3Dyes&limit=50"
    status, _, first = server.request("GET", path, token=token)
    assert status == 200 and first["items"] == [] and first["next_cursor"], first
    found, cursor, requests = [], first["next_cursor"], 1
    while cursor:
        status, _, page = server.request("GET", f"{path}&cursor={cursor}", token=token)
        assert status == 200, page
        found += [item["name"] for item in page["items"]]
        cursor, requests = page["next_cursor"], requests + 1
    assert found == [RARE] and requests == 3


def test_the_cli_follows_short_pages_to_every_match(server: RunningServer) -> None:
    connect(server, "admin", ADMIN_PASSWORD)
    listed = keybroker_json("connector", "list", "--label", "rare=yes")
    assert [c["name"] for c in listed] == [RARE], listed
