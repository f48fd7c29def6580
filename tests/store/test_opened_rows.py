"""A server's store remembers rows it opened, without ever trusting a changed row.

The store a server builds (``SQLConnectorStore.over_engine``) keeps connectors it
opened without secrets by the rows' exact content. These tests change rows with
raw SQL after they were listed, as someone with database access but no key
would, and check that the next read sees the change (or refuses the row),
exactly as a store that remembers nothing does.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest
from pydantic import SecretStr
from sqlalchemy import create_engine, text
from sqlalchemy.engine import Engine

from keybroker.connector import Connector, ConnectorQuery, ListedConnector
from keybroker.store.crypto import SecretBox
from keybroker.store.sql import SQLConnectorStore

SECRET = "opened-rows-secret-value"
KEY = os.urandom(32)


@pytest.fixture
def engine(tmp_path: Path) -> Iterator[Engine]:
    url = f"sqlite:///{tmp_path / 'server.db'}"
    SQLConnectorStore(url, SecretBox(KEY)).close()  # migrate, record the key check
    engine = create_engine(url)
    yield engine
    engine.dispose()


def _connector(name: str) -> Connector:
    return Connector(
        name=name,
        connector_type="httpbasic",
        auth_method="password",
        resource_type="http-endpoint",
        resource_id="/reports",
        configuration={"url": "https://good.example.com", "nested": {"ports": [1, 2]}},
        secrets={"password": SecretStr(SECRET)},
        labels={"env": "prod"},
        owner="alice",
    )


def _page(store: SQLConnectorStore) -> dict[str, Connector]:
    return {name: listed.connector for name, listed in _listed(store).items()}


def _listed(store: SQLConnectorStore) -> dict[str, ListedConnector]:
    found = store.page(ConnectorQuery(), after=None, limit=50).items
    return {c.connector.name: c for c in found}


def test_a_row_changed_after_it_was_listed_is_refused_on_the_next_list(engine: Engine) -> None:
    store = SQLConnectorStore.over_engine(engine, SecretBox(KEY))
    store.create(_connector("a"))
    store.create(_connector("b"))
    assert _page(store)["a"].error is None  # opened once, remembered
    with engine.begin() as connection:  # point "a" somewhere else without the key
        connection.execute(
            text("UPDATE connectors SET configuration = :c WHERE name = 'a'"),
            {"c": '{"url": "https://evil.example.com"}'},
        )
    again = _page(store)
    assert again["a"].error is not None and "integrity check" in again["a"].error
    assert again["a"].configuration == {}  # nothing of the changed row is shown
    assert again["b"].error is None  # the untouched neighbour still reads


def test_an_update_through_the_store_is_seen_on_the_next_list(engine: Engine) -> None:
    store = SQLConnectorStore.over_engine(engine, SecretBox(KEY))
    store.create(_connector("a"))
    first = _page(store)["a"]
    other = SQLConnectorStore.over_engine(engine, SecretBox(KEY))  # another replica
    changed = other.get("a", with_secrets=True)
    changed.description = "changed elsewhere"
    other.update(changed)
    assert _page(store)["a"].description == "changed elsewhere"
    assert first.description == ""


def test_a_connector_read_from_a_remembered_row_is_the_callers_own_copy(engine: Engine) -> None:
    store = SQLConnectorStore.over_engine(engine, SecretBox(KEY))
    store.create(_connector("a"))
    _page(store)  # remembered
    (read,) = store.list()
    read.configuration["nested"]["ports"].append(3)
    read.labels["env"] = "dev"
    read.secret_names.append("other")
    fresh = _page(store)["a"]
    assert fresh.configuration["nested"] == {"ports": [1, 2]}
    assert fresh.labels == {"env": "prod"}
    assert fresh.secret_names == ["password"]


def test_no_secret_is_remembered(engine: Engine) -> None:
    store = SQLConnectorStore.over_engine(engine, SecretBox(KEY))
    store.create(_connector("a"))
    _page(store)
    assert store.get("a", with_secrets=True).secrets["password"].get_secret_value() == SECRET
    remembered = store._opened
    assert remembered is not None and len(remembered) == 1
    assert SECRET not in repr(list(remembered._entries.values()))
    assert all(not c.connector.secrets for c in remembered._entries.values())


def test_lists_share_an_unchanged_row_and_its_memo_but_never_a_changed_one(
    engine: Engine,
) -> None:
    store = SQLConnectorStore.over_engine(engine, SecretBox(KEY))
    store.create(_connector("a"))
    first = _listed(store)["a"]
    first.memo["rendered"] = "as of version 1"
    assert _listed(store)["a"] is first  # opened once, its memo kept
    changed = store.get("a", with_secrets=True)
    changed.description = "changed"
    store.update(changed)
    after = _listed(store)["a"]
    assert after is not first and after.memo == {}
    assert after.connector.description == "changed"


def test_a_row_sealed_with_another_key_is_refused_after_rows_were_remembered(
    engine: Engine,
) -> None:
    store = SQLConnectorStore.over_engine(engine, SecretBox(KEY))
    store.create(_connector("a"))
    _page(store)
    wrong = SQLConnectorStore.over_engine(engine, SecretBox(os.urandom(32)))
    assert _page(wrong)["a"].error is not None
