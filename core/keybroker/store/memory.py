"""A connector store held in memory: for tests and for embedding keybroker briefly."""

from __future__ import annotations

import builtins
import threading
import uuid

from keybroker.connector import Connector, ConnectorQuery
from keybroker.errors import ConflictError, NotFoundError, StaleVersionError
from keybroker.store.base import ConnectorStore
from keybroker.store.query import matches, resolve


class MemoryConnectorStore(ConnectorStore):
    """Connectors in a dict; nothing survives the process.

    It follows the same contract as the SQL store (versions, exact names); its
    rows can never be unreadable, so ``error`` is never set.
    """

    location = "memory"

    def __init__(self) -> None:
        self._items: dict[uuid.UUID, Connector] = {}
        self._lock = threading.Lock()

    def create(self, connector: Connector) -> Connector:
        stored = connector.model_copy(deep=True, update={"version": 1})
        with self._lock:
            if any(c.name == connector.name for c in self._items.values()):
                raise ConflictError(f"a connector named '{connector.name}' already exists")
            self._items[connector.id] = stored
        return self._public(stored, with_secrets=False)

    def get(
        self, name_or_id: str, *, with_secrets: bool = False, visible_to: str | None = None
    ) -> Connector:
        with self._lock:
            found = resolve(self._visible(visible_to), name_or_id)
        return self._public(found, with_secrets)

    def list(
        self, query: ConnectorQuery | None = None, *, visible_to: str | None = None
    ) -> list[Connector]:
        query = query or ConnectorQuery()
        with self._lock:
            items = [c for c in self._visible(visible_to) if matches(c, query)]
        return sorted((self._public(c, False) for c in items), key=lambda c: c.name)

    def _visible(self, visible_to: str | None) -> builtins.list[Connector]:
        items = list(self._items.values())
        if visible_to is None:
            return items
        return [c for c in items if c.shared or c.owner == visible_to]

    def update(self, connector: Connector) -> Connector:
        stored = connector.model_copy(deep=True, update={"version": connector.version + 1})
        with self._lock:
            current = self._items.get(connector.id)
            if current is None:
                raise NotFoundError(f"connector '{connector.name}' does not exist")
            if current.version != connector.version:
                raise StaleVersionError(
                    f"connector '{connector.name}' was changed by someone else since it "
                    "was read; run the command again"
                )
            if any(c.name == connector.name and c.id != connector.id for c in self._items.values()):
                raise ConflictError(f"a connector named '{connector.name}' already exists")
            self._items[connector.id] = stored
        return self._public(stored, with_secrets=False)

    def delete(self, connector_id: uuid.UUID) -> None:
        with self._lock:
            if self._items.pop(connector_id, None) is None:
                raise NotFoundError(f"connector '{connector_id}' does not exist")

    def name_exists(self, name: str) -> bool:
        with self._lock:
            return any(c.name == name for c in self._items.values())

    @staticmethod
    def _public(connector: Connector, with_secrets: bool) -> Connector:
        copy = connector.model_copy(deep=True)
        copy.secret_names = sorted(connector.secrets)
        if not with_secrets:
            copy.secrets = {}
        return copy
