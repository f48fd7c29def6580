"""The interface every connector store implements.

The service layer talks only to this interface. The embedded store keeps
connectors in a local SQL database; a remote store (a team server over HTTP)
keeps them, and their secrets, on the other side. Nothing here assumes a local
process: secrets are read only through :meth:`ConnectorStore.get` with
``with_secrets=True``, which a remote store may refuse.
"""

from __future__ import annotations

import uuid
from abc import ABC, abstractmethod
from dataclasses import dataclass

from keybroker.connector import Connector, ConnectorQuery, ListedConnector


@dataclass(frozen=True)
class StorePage:
    """What one read of a store's page found.

    ``items`` are the connectors of the rows read that match the query;
    ``resume_after`` is the name of the last row read when there may be more rows
    after it (None: the store has none), so a filter that matches few rows is paged
    through a bounded number of rows at a time.
    """

    items: list[ListedConnector]
    resume_after: str | None


class ConnectorStore(ABC):
    """Persistence of connectors, with secrets encrypted at rest."""

    #: short description shown to users, e.g. "embedded (sqlite:///...)"
    location: str = ""

    @abstractmethod
    def create(self, connector: Connector) -> Connector:
        """Store a new connector atomically, at version 1; return it without secrets.

        Raise ``ConflictError`` on a duplicate name (names compare exactly: "Web"
        and "web" are two names).
        """

    @abstractmethod
    def get(
        self, name_or_id: str, *, with_secrets: bool = False, visible_to: str | None = None
    ) -> Connector:
        """Return one connector by name or id (or unique id prefix); raise ``NotFoundError``.

        With ``visible_to`` only connectors owned by that user or shared are found
        (an id prefix is unique among those).

        Without ``with_secrets`` the returned connector's ``secrets`` is empty. A
        connector the store cannot read (or whose integrity check fails) comes
        back with ``error`` set; with ``with_secrets`` it raises ``StoreError``
        with that message instead.
        """

    @abstractmethod
    def list(
        self, query: ConnectorQuery | None = None, *, visible_to: str | None = None
    ) -> list[Connector]:
        """Return the connectors matching ``query``, without secrets, ordered by name.

        Unreadable connectors are listed too, with ``error`` set. With
        ``visible_to`` only that user's own and shared connectors.
        """

    def page(
        self,
        query: ConnectorQuery,
        *,
        after: str | None,
        limit: int,
        visible_to: str | None = None,
    ) -> StorePage:
        """The connectors of :meth:`list` among the next ``limit`` rows whose names sort
        after ``after``.

        At most ``limit`` rows are read, matching or not. Names sort by code point
        (byte order of UTF-8) on every store. A store over a database pages there;
        this default pages the whole list. A store may hand the same
        :class:`ListedConnector` to every list of an unchanged row.
        """
        found = [
            c for c in self.list(query, visible_to=visible_to) if after is None or c.name > after
        ]
        chosen = found[:limit]
        more = len(found) > limit
        return StorePage([ListedConnector(c) for c in chosen], chosen[-1].name if more else None)

    @abstractmethod
    def update(self, connector: Connector) -> Connector:
        """Replace a stored connector (secrets included) atomically; return it without secrets.

        Succeeds only if the stored connector still has ``connector.version``, and
        increments it. Raise ``NotFoundError`` if it is gone, ``ConflictError`` if
        someone else changed it since it was read or if the new name is taken.
        """

    @abstractmethod
    def delete(self, connector_id: uuid.UUID) -> None:
        """Delete a connector; raise ``NotFoundError`` if it does not exist."""

    @abstractmethod
    def name_exists(self, name: str) -> bool:
        """Whether a connector called ``name`` exists."""

    def current_user(self) -> str:
        """The name recorded as owner of connectors this client registers."""
        return "default"

    def close(self) -> None:  # noqa: B027 - optional hook
        """Release connections; the store may not be used afterwards."""
