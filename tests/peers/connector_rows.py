"""Many connectors written straight into a store's table, sealed, in one statement."""

from __future__ import annotations

from collections.abc import Callable

from pydantic import SecretStr
from sqlalchemy import insert

from keybroker.connector import Connector
from keybroker.store.rows import to_row
from keybroker.store.schema import connectors
from keybroker.store.sql import SQLConnectorStore


def insert_connectors(
    store: SQLConnectorStore,
    count: int,
    *,
    name: str = "c-{:05d}",
    owner: Callable[[int], str] = lambda index: "alice",
    shared: Callable[[int], bool] = lambda index: False,
    labels: Callable[[int], dict[str, str]] = lambda index: {},
) -> None:
    """Store ``count`` httpbasic connectors, the i-th named ``name.format(i)``, with no
    verification (far faster than registering them one by one)."""
    rows = [
        to_row(
            Connector(
                name=name.format(index),
                connector_type="httpbasic",
                auth_method="password",
                configuration={"url": "https://example.com"},
                secrets={"password": SecretStr("x")},
                owner=owner(index),
                shared=shared(index),
                labels=labels(index),
            ),
            store._box,
        )
        for index in range(count)
    ]
    with store._engine.begin() as connection:
        connection.execute(insert(connectors), rows)
