"""Rows changed in the database without the key are refused; unreadable rows never hide others.

Each test corrupts rows with raw SQL, as someone who can write the database
file (or the database server) but does not hold the encryption key would.
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from pydantic import SecretStr

from keybroker.connector import Connector, ConnectorQuery
from keybroker.errors import ConflictError, StoreError
from keybroker.store.crypto import SecretBox
from keybroker.store.rows import BOUND_COLUMNS
from keybroker.store.sql import SQLConnectorStore

SECRET = "integrity-secret-value"
KEY = os.urandom(32)


@dataclass
class Backend:
    store: SQLConnectorStore
    url: str

    def sql(self, statement: str, **params: Any) -> None:
        """Run ``statement`` on the database directly, bypassing the store."""
        from sqlalchemy import create_engine, text

        engine = create_engine(self.url)
        try:
            with engine.begin() as connection:
                connection.execute(text(statement), params)
        finally:
            engine.dispose()


@pytest.fixture(params=["sqlite", "postgresql", "mariadb"])
def backend(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Backend]:
    if request.param == "sqlite":
        url = f"sqlite:///{tmp_path / 'kb.db'}"
    else:
        url = request.getfixturevalue(f"{request.param}_url")
    store = SQLConnectorStore(url, SecretBox(KEY))
    for connector in store.list():
        store.delete(connector.id)
    yield Backend(store, url)
    store.close()


def _connector(name: str, **changes: object) -> Connector:
    fields: dict[str, object] = {
        "name": name,
        "connector_type": "httpbasic",
        "auth_method": "password",
        "resource_type": "http-endpoint",
        "resource_id": "/reports",
        "configuration": {"url": "https://good.example.com", "username": "alice"},
        "secrets": {"password": SecretStr(SECRET)},
        "labels": {"env": "prod"},
        "description": "the real one",
        "owner": "alice",
        "shared": False,
        "expiration_seconds": 900,
        "expires_at": datetime(2030, 1, 1, tzinfo=UTC),
    }
    fields.update(changes)
    return Connector.model_validate(fields)


def _by_name(backend: Backend) -> dict[str, Connector]:
    return {c.name: c for c in backend.store.list()}


def test_changed_configuration_is_refused_and_others_still_list(backend: Backend) -> None:
    backend.store.create(_connector("good"))
    backend.store.create(_connector("victim"))
    evil = json.dumps({"url": "https://attacker.example.net", "username": "alice"})
    backend.sql("UPDATE connectors SET configuration = :c WHERE name = 'victim'", c=evil)

    listed = _by_name(backend)
    assert listed["good"].error is None
    victim = listed["victim"]
    assert victim.error is not None
    assert "connector 'victim' was changed outside keybroker" in victim.error
    assert victim.error.endswith("delete it and register it again with the right credentials")
    assert "\n" not in victim.error
    # what is shown of it is only what names it: never the attacker's configuration
    assert victim.configuration == {} and victim.secrets == {}
    assert victim.connector_type == "httpbasic" and victim.version == 1

    with pytest.raises(StoreError) as refused:
        backend.store.get("victim", with_secrets=True)
    assert str(refused.value) == victim.error
    assert backend.store.get("victim").error == victim.error
    assert backend.store.get("good", with_secrets=True).secret_values() == [SECRET]

    backend.store.delete(victim.id)
    assert list(_by_name(backend)) == ["good"]


def test_connector_without_secrets_is_sealed_too(backend: Backend) -> None:
    backend.store.create(_connector("implicit", auth_method="implicit", secrets={}))
    backend.sql(
        "UPDATE connectors SET configuration = :c WHERE name = 'implicit'",
        c=json.dumps({"url": "https://attacker.example.net"}),
    )
    with pytest.raises(StoreError, match="connector 'implicit' was changed outside keybroker"):
        backend.store.get("implicit", with_secrets=True)


def test_unparsable_json_is_reported_on_the_row(backend: Backend) -> None:
    backend.store.create(_connector("broken"))
    backend.store.create(_connector("fine"))
    backend.sql("UPDATE connectors SET labels = '{not json' WHERE name = 'broken'")
    listed = _by_name(backend)
    assert listed["fine"].error is None
    assert "connector 'broken'" in (listed["broken"].error or "")


def test_row_of_a_newer_format_says_to_upgrade(backend: Backend) -> None:
    backend.store.create(_connector("future"))
    future_blob = bytes([7]) + os.urandom(40)
    backend.sql("UPDATE connectors SET secrets = :b WHERE name = 'future'", b=future_blob)
    with pytest.raises(StoreError, match=r"stored by a newer keybroker \(row format 7\)"):
        backend.store.get("future", with_secrets=True)


def test_row_without_a_seal_is_refused(backend: Backend) -> None:
    backend.store.create(_connector("unsealed", auth_method="implicit", secrets={}))
    backend.sql("UPDATE connectors SET secrets = NULL WHERE name = 'unsealed'")
    (listed,) = backend.store.list()
    assert "stored by an earlier keybroker without integrity protection" in (listed.error or "")


def test_blob_copied_from_another_connector_is_refused(backend: Backend) -> None:
    backend.store.create(_connector("one"))
    backend.store.create(_connector("two", configuration={"url": "https://other.example.com"}))
    from sqlalchemy import create_engine, text

    engine = create_engine(backend.url)
    with engine.begin() as connection:
        blob = connection.execute(text("SELECT secrets FROM connectors WHERE name='one'")).scalar()
        connection.execute(text("UPDATE connectors SET secrets=:b WHERE name='two'"), {"b": blob})
    engine.dispose()
    assert _by_name(backend)["two"].error is not None
    assert _by_name(backend)["one"].error is None


def test_tampered_row_can_be_replaced_by_a_fresh_update(backend: Backend) -> None:
    backend.store.create(_connector("victim"))
    backend.sql("UPDATE connectors SET resource_id = '/other' WHERE name = 'victim'")
    broken = backend.store.get("victim")
    assert broken.error is not None
    repaired = _connector("victim", description="re-entered")
    repaired.id, repaired.version = broken.id, broken.version
    backend.store.update(repaired)
    fixed = backend.store.get("victim", with_secrets=True)
    assert fixed.error is None and fixed.resource_id == "/reports"


TAMPERED_VALUES: dict[str, object] = {
    "name": "renamed",
    "connector_type": "aws",
    "auth_method": "implicit",
    "resource_type": "s3-bucket",
    "resource_id": "/admin",
    "configuration": json.dumps({"url": "https://attacker.example.net", "username": "alice"}),
    "secret_names": json.dumps([]),
    "labels": json.dumps({"env": "dev"}),
    "description": "trust me",
    "owner": "mallory",
    "shared": True,
    "expiration_seconds": 43200,
    "expires_at": datetime(2099, 1, 1),
}


def test_every_bound_column_is_covered_by_a_tampering_case() -> None:
    assert set(TAMPERED_VALUES) == set(BOUND_COLUMNS) - {"id"}


@pytest.mark.parametrize("column", sorted(TAMPERED_VALUES))
def test_any_bound_column_changed_is_refused(tmp_path: Path, column: str) -> None:
    url = f"sqlite:///{tmp_path / 'kb.db'}"
    store = SQLConnectorStore(url, SecretBox(KEY))
    store.create(_connector("victim"))
    backend = Backend(store, url)
    backend.sql(f"UPDATE connectors SET {column} = :v", v=TAMPERED_VALUES[column])  # noqa: S608 - fixed column names
    (listed,) = store.list()
    assert listed.error is not None and "changed outside keybroker" in listed.error
    with pytest.raises(StoreError):
        store.get(str(listed.id), with_secrets=True)


def test_bookkeeping_columns_are_not_bound(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'kb.db'}"
    store = SQLConnectorStore(url, SecretBox(KEY))
    store.create(_connector("demo"))
    Backend(store, url).sql("UPDATE connectors SET updated = :t", t=datetime(2001, 1, 1))
    assert store.get("demo", with_secrets=True).secret_values() == [SECRET]


def test_resource_type_filter_still_lists_broken_rows_of_that_type(backend: Backend) -> None:
    backend.store.create(_connector("victim"))
    backend.sql("UPDATE connectors SET description = 'changed'")
    listed = backend.store.list(ConnectorQuery(connector_type="httpbasic"))
    assert [c.name for c in listed] == ["victim"] and listed[0].error


def test_rotate_key_reseals_everything(backend: Backend) -> None:
    backend.store.create(_connector("one"))
    backend.store.create(_connector("two", secrets={}, auth_method="implicit"))
    new_key = os.urandom(32)
    assert backend.store.rotate_key(SecretBox(new_key)) == 2
    assert backend.store.get("one", with_secrets=True).secret_values() == [SECRET]
    with pytest.raises(StoreError, match="does not open the store"):
        SQLConnectorStore(backend.url, SecretBox(KEY))
    reopened = SQLConnectorStore(backend.url, SecretBox(new_key))
    assert [c.version for c in reopened.list()] == [2, 2]
    reopened.close()
    # a process that read before the rotation cannot write back with the old key
    stale = _connector("one")
    stale.id, stale.version = backend.store.get("one").id, 1
    with pytest.raises(ConflictError):
        backend.store.update(stale)
    backend.store.rotate_key(SecretBox(KEY))


def test_deleted_key_check_does_not_let_a_wrong_key_in(backend: Backend) -> None:
    backend.store.create(_connector("one"))
    backend.sql("DELETE FROM store_metadata")
    with pytest.raises(StoreError, match="does not open the store"):
        SQLConnectorStore(backend.url, SecretBox(os.urandom(32)))
    # the right key still opens it, and puts the key check back
    SQLConnectorStore(backend.url, SecretBox(KEY)).close()
    with pytest.raises(StoreError, match="does not open the store"):
        SQLConnectorStore(backend.url, SecretBox(os.urandom(32)))
