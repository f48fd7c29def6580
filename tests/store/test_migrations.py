"""A database written by the first schema (revision 0001) opens as docs/security.md says.

Its rows carry secrets sealed to the connector id only, or no seal at all. The
upgrade keeps them but never re-seals them: they are listed as unreadable,
can be deleted, and everything else works.
"""

from __future__ import annotations

import json
import os
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest
from pydantic import SecretStr

from keybroker.connector import Connector
from keybroker.errors import StoreError
from keybroker.store.crypto import SecretBox
from keybroker.store.schema import HEAD_REVISION
from keybroker.store.sql import SQLConnectorStore

KEY = os.urandom(32)


def _legacy_blob(secrets: dict[str, str], connector_id: str) -> bytes:
    """A blob as revision 0001 wrote it: format 1, bound to the connector id only."""
    from cryptography.hazmat.primitives.ciphers.aead import AESGCM

    nonce = os.urandom(12)
    plain = json.dumps(secrets, sort_keys=True).encode()
    return b"\x01" + nonce + AESGCM(KEY).encrypt(nonce, plain, connector_id.encode())


def _legacy_row(name: str, secrets: dict[str, str] | None) -> dict[str, object]:
    connector_id = str(uuid.uuid4())
    now = datetime.now(UTC).replace(tzinfo=None)
    return {
        "id": connector_id,
        "name": name,
        "connector_type": "httpbasic",
        "auth_method": "password",
        "resource_type": None,
        "resource_id": None,
        "configuration": json.dumps({"url": "https://example.com"}),
        "secrets": _legacy_blob(secrets, connector_id) if secrets else None,
        "secret_names": json.dumps(sorted(secrets or {})),
        "labels": "{}",
        "description": "",
        "owner": "alice",
        "shared": False,
        "expiration_seconds": None,
        "expires_at": None,
        "created": now,
        "updated": now,
    }


@pytest.fixture(params=["sqlite", "postgresql", "mariadb"])
def legacy_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """A database at revision 0001 holding two connectors of the old format."""
    from sqlalchemy import create_engine, text

    from keybroker.store.schema_upgrade import upgrade_to

    if request.param == "sqlite":
        url = f"sqlite:///{tmp_path / 'kb.db'}"
        context = None
    else:
        from peers.databases import server_database

        context = server_database(request.param)
        url = context.__enter__()
    engine = create_engine(url)
    with engine.begin() as connection:
        upgrade_to(connection, "0001_connectors")
        columns = ", ".join(_legacy_row("x", None))
        values = ", ".join(f":{c}" for c in _legacy_row("x", None))
        insert = text(f"INSERT INTO connectors ({columns}) VALUES ({values})")  # noqa: S608 - fixed column names
        connection.execute(insert, _legacy_row("Sealed", {"password": "old-secret"}))
        connection.execute(insert, _legacy_row("unsealed", None))
    engine.dispose()
    try:
        yield url
    finally:
        if context is not None:
            context.__exit__(None, None, None)


def _revision(url: str) -> str:
    from sqlalchemy import create_engine, text

    engine = create_engine(url)
    with engine.connect() as connection:
        revision = connection.execute(text("SELECT version_num FROM alembic_version")).scalar()
    engine.dispose()
    return str(revision)


def test_old_rows_are_kept_but_refused_after_the_upgrade(legacy_url: str) -> None:
    assert _revision(legacy_url) == "0001_connectors"
    store = SQLConnectorStore(legacy_url, SecretBox(KEY))
    assert _revision(legacy_url) == HEAD_REVISION
    listed = {c.name: c for c in store.list()}
    assert set(listed) == {"Sealed", "unsealed"}
    for connector in listed.values():
        assert connector.error is not None
        assert "stored by an earlier keybroker without integrity protection" in connector.error
        assert "delete it and register it again" in connector.error
    with pytest.raises(StoreError, match="connector 'Sealed' was stored by an earlier"):
        store.get("Sealed", with_secrets=True)

    # new connectors work beside them, with exact names (MariaDB used to fold case)
    store.create(
        Connector(
            name="sealed",
            connector_type="httpbasic",
            auth_method="password",
            secrets={"password": SecretStr("new-secret")},
        )
    )
    assert store.get("sealed", with_secrets=True).secret_values() == ["new-secret"]
    store.delete(listed["Sealed"].id)
    store.delete(listed["unsealed"].id)
    assert [c.name for c in store.list()] == ["sealed"]
    store.close()


def test_old_store_with_rows_and_no_key_is_refused(legacy_url: str) -> None:
    with pytest.raises(StoreError, match="encryption key that is missing"):
        SQLConnectorStore(
            legacy_url,
            None,
            key_source="the key file /nowhere/secret.key",
            create_key=lambda: pytest.fail("no key may be created for a store holding rows"),
        )
