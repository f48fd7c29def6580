"""Matching and lookup rules every store applies the same way."""

from __future__ import annotations

import uuid

from keybroker.connector import Connector, ConnectorQuery
from keybroker.errors import NotFoundError, UsageError

MIN_ID_PREFIX = 4


def matches(connector: Connector, query: ConnectorQuery) -> bool:
    """Whether ``connector`` passes every filter of ``query``.

    A multi-type connector matches a resource-type filter; whether its connector
    type really offers that resource type is for the service to decide.
    """
    if query.name and query.name not in connector.name:
        return False
    if query.connector_type and connector.connector_type != query.connector_type:
        return False
    if query.resource_type and connector.resource_type not in (None, query.resource_type):
        return False
    if query.resource_id and connector.resource_id != query.resource_id:
        return False
    for key, value in query.labels.items():
        if key not in connector.labels:
            return False
        if value is not None and connector.labels[key] != value:
            return False
    return True


def resolve(connectors: list[Connector], name_or_id: str) -> Connector:
    """Find a connector by exact name, full id, or unique id prefix (4+ characters)."""
    for connector in connectors:
        if connector.name == name_or_id:
            return connector
    try:
        wanted = uuid.UUID(name_or_id)
    except ValueError:
        wanted = None
    if wanted is not None:
        for connector in connectors:
            if connector.id == wanted:
                return connector
    elif len(name_or_id) >= MIN_ID_PREFIX:
        prefix = name_or_id.lower()
        found = [c for c in connectors if str(c.id).startswith(prefix)]
        if len(found) == 1:
            return found[0]
        if len(found) > 1:
            raise UsageError(f"'{name_or_id}' matches several connector ids; give more of the id")
    raise NotFoundError(
        f"no connector named '{name_or_id}' or with that id; "
        "'keybroker connector list' shows the registered ones"
    )
