"""Connectors already opened from their rows, remembered by the rows' exact content.

Opening a row (checking its seal, decoding its JSON columns, validating the
connector) is most of the CPU time of a connector list. A server lists the same
unchanged rows again and again, so :class:`OpenedRows` keeps the connectors it
opened *without secrets*, keyed by every column value the row had: the sealed
blob, every bound column, the timestamps and the version. The database is still
read on every request, so who may see a row (owner, sharing) and whether it
still exists are always current; only the work of opening a byte-for-byte
identical row is saved. A row changed in any way is a different key and is
opened and checked afresh; a row that fails its check is never kept. Secrets are
never kept: the decrypted blob is dropped as soon as the seal is checked.

A list reads the remembered :class:`~keybroker.connector.ListedConnector` itself
(read-only, with its memo of derived values such as the rendered JSON view); every
other reader gets a copy of its own.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Callable, Hashable, Mapping
from typing import TYPE_CHECKING, Any

from keybroker.connector import ListedConnector

if TYPE_CHECKING:
    from sqlalchemy.engine import Row

    from keybroker.connector import Connector
    from keybroker.store.crypto import SecretBox

#: rows remembered per store (a connector without secrets is about 2 KiB)
DEFAULT_SIZE = 4096


class OpenedRows:
    """A bounded, thread-safe memo of :func:`~keybroker.store.rows.from_row` without secrets."""

    def __init__(self, size: int = DEFAULT_SIZE) -> None:
        self._size = size
        self._entries: OrderedDict[Hashable, ListedConnector] = OrderedDict()
        self._box: SecretBox | None = None
        self._lock = threading.Lock()

    def __len__(self) -> int:
        return len(self._entries)

    def read(self, row: Row[Any], box: SecretBox) -> Connector:
        """The connector ``row`` (every column of the connectors table, in the table's order)
        holds, without secrets; a copy the caller may change."""
        return _copy(self.listed(tuple(row), lambda: row._mapping, box).connector)

    def listed(
        self, row: tuple[Any, ...], mapping: Callable[[], Mapping[Any, Any]], box: SecretBox
    ) -> ListedConnector:
        """The remembered connector of ``row`` (every column value of a connectors row, as
        its reader returned them), without secrets, shared: never change it.

        ``mapping`` gives the row's values by column name, to open a row not yet
        remembered. A broken row (its ``error`` set) is opened afresh each time and
        never kept.
        """
        from keybroker.store.rows import from_row

        key = row
        with self._lock:
            if self._box is not box:  # another key (rotation): nothing opened before counts
                self._entries.clear()
                self._box = box
            found = self._entries.get(key)
            if found is not None:
                self._entries.move_to_end(key)
        if found is None:
            found = ListedConnector(from_row(mapping(), box, with_secrets=False))
            if found.connector.error is not None:
                return found
            with self._lock:
                if self._box is box:
                    self._entries[key] = found
                    if len(self._entries) > self._size:
                        self._entries.popitem(last=False)
        return found

    def clear(self) -> None:
        """Forget every opened row."""
        with self._lock:
            self._entries.clear()


def _plain_copy(value: Any) -> Any:
    """A copy of decoded JSON (dicts, lists and immutable scalars)."""
    if isinstance(value, dict):
        return {key: _plain_copy(item) for key, item in value.items()}
    if isinstance(value, list):
        return [_plain_copy(item) for item in value]
    return value


def _copy(connector: Connector) -> Connector:
    """A copy whose containers are its own (a deep model copy costs as much as opening)."""
    return connector.model_copy(
        update={
            "configuration": _plain_copy(connector.configuration),
            "labels": dict(connector.labels),
            "secret_names": list(connector.secret_names),
        }
    )
