"""Connectors as rows of the SQL store, sealed so that a changed row is detected.

Every row carries a sealed blob (even when the connector has no secrets). Its
associated data is :func:`row_binding`: a canonical encoding of every stored
field except the bookkeeping ones (``created``, ``updated``, ``version``). So
whoever can write the database but lacks the key cannot redirect a connector
(its configuration, scope, type, auth method, owner or sharing) to use the
real secrets somewhere else: the row no longer opens and is refused.

A row that cannot be read is never fatal to its neighbours: :func:`from_row`
returns it with :attr:`Connector.error` set and only the fields needed to
name it and delete it.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any

from pydantic import SecretStr

from keybroker.connector import Connector
from keybroker.store.crypto import (
    LEGACY_FORMAT,
    ROW_FORMAT,
    IntegrityFailure,
    SecretBox,
    blob_format,
)

#: columns bound to the sealed blob, in the order they are encoded
BOUND_COLUMNS = (
    "id",
    "name",
    "connector_type",
    "auth_method",
    "resource_type",
    "resource_id",
    "configuration",
    "secret_names",
    "labels",
    "description",
    "owner",
    "shared",
    "expiration_seconds",
    "expires_at",
)

_BINDING_CONTEXT = "keybroker connector row v2"

#: an id shown for a row whose id column itself is unreadable
UNREADABLE_ID = uuid.UUID(int=0)


def aware(value: datetime | None) -> datetime | None:
    """Restore the UTC zone that SQLite and MySQL drop."""
    if value is None or value.tzinfo is not None:
        return value
    return value.replace(tzinfo=UTC)


def naive_utc(value: datetime | None) -> datetime | None:
    """``value`` in UTC without a zone, as every backend stores it alike."""
    if value is None:
        return None
    return value.astimezone(UTC).replace(tzinfo=None)


def _canonical(column: str, value: Any) -> Any:
    if value is None:
        return None
    if column == "shared":
        return bool(value)
    if column == "expiration_seconds":
        return int(value)
    if column == "expires_at":
        if not isinstance(value, datetime):
            raise TypeError("expires_at is not a timestamp")
        moment = aware(value)
        return moment.astimezone(UTC).isoformat(timespec="microseconds") if moment else None
    if not isinstance(value, str):
        raise TypeError(f"{column} is not text")
    return value


def row_binding(values: Mapping[Any, Any]) -> bytes:
    """The associated data of a row: its bound columns, canonically encoded.

    Text columns (including the JSON ones) are bound exactly as stored, so the
    encoding never depends on how JSON is re-parsed.
    """
    encoded = [_BINDING_CONTEXT, *(_canonical(c, values[c]) for c in BOUND_COLUMNS)]
    return json.dumps(encoded, ensure_ascii=False, separators=(",", ":")).encode()


def to_row(connector: Connector, box: SecretBox) -> dict[str, Any]:
    """The column values of ``connector``, its secrets sealed to all of them."""
    secrets = {k: v.get_secret_value() for k, v in connector.secrets.items()}
    row: dict[str, Any] = {
        "id": str(connector.id),
        "name": connector.name,
        "connector_type": connector.connector_type,
        "auth_method": connector.auth_method,
        "resource_type": connector.resource_type,
        "resource_id": connector.resource_id,
        "configuration": json.dumps(connector.configuration, sort_keys=True),
        "secret_names": json.dumps(sorted(secrets)),
        "labels": json.dumps(connector.labels, sort_keys=True),
        "description": connector.description,
        "owner": connector.owner,
        "shared": connector.shared,
        "expiration_seconds": connector.expiration_seconds,
        "expires_at": naive_utc(connector.expires_at),
        "created": naive_utc(connector.created),
        "updated": naive_utc(connector.updated),
    }
    row["secrets"] = box.seal(secrets, row_binding(row))
    return row


def printable(text: str) -> str:
    """``text`` with control characters replaced, safe inside a one-line message."""
    return "".join(c if c.isprintable() else "?" for c in text)


def _unreadable_message(name: str, reason: str) -> str:
    shown = printable(name)
    return (
        f"connector '{shown}' {reason} and will not be used; delete it and register it again "
        "with the right credentials"
    )


def _refusal(row: Mapping[Any, Any], name: str) -> str | None:
    """Why the row's blob cannot even be tried, or None."""
    version = blob_format(row["secrets"])
    if version == ROW_FORMAT:
        return None
    if version is None or version == LEGACY_FORMAT:
        return _unreadable_message(
            name, "was stored by an earlier keybroker without integrity protection"
        )
    if version > ROW_FORMAT:
        return (
            f"connector '{printable(name)}' was stored by a newer keybroker (row format "
            f"{version}); upgrade keybroker to use it"
        )
    return _unreadable_message(name, "has a corrupt sealed record")


def from_row(row: Mapping[Any, Any], box: SecretBox, *, with_secrets: bool) -> Connector:
    """The connector a row holds, after checking the row's integrity.

    A row that fails the check, or cannot be decoded, comes back with ``error``
    set and only its id, name, type, auth method, owner and version filled in
    (none of them authenticated).
    """
    name = row["name"] if isinstance(row["name"], str) else "?"
    reason = _refusal(row, name)
    if reason is None:
        try:
            opened = box.open(bytes(row["secrets"]), row_binding(row))
        except (IntegrityFailure, TypeError, KeyError, ValueError):
            reason = _unreadable_message(
                name, "was changed outside keybroker (its row fails the integrity check)"
            )
    if reason is not None:
        return _partial(row, name, reason)
    try:
        return Connector(
            id=uuid.UUID(row["id"]),
            name=name,
            connector_type=row["connector_type"],
            auth_method=row["auth_method"],
            resource_type=row["resource_type"],
            resource_id=row["resource_id"],
            configuration=json.loads(row["configuration"]),
            secrets={k: SecretStr(v) for k, v in opened.items()} if with_secrets else {},
            secret_names=json.loads(row["secret_names"]),
            labels=json.loads(row["labels"]),
            description=row["description"],
            owner=row["owner"],
            shared=bool(row["shared"]),
            expiration_seconds=row["expiration_seconds"],
            expires_at=aware(row["expires_at"]),
            created=aware(row["created"]),
            updated=aware(row["updated"]),
            version=row["version"],
        )
    except (ValueError, TypeError) as exc:  # pydantic's ValidationError is a ValueError
        detail = type(exc).__name__ if not isinstance(exc, json.JSONDecodeError) else "bad JSON"
        return _partial(row, name, _unreadable_message(name, f"cannot be decoded ({detail})"))


def _partial(row: Mapping[Any, Any], name: str, error: str) -> Connector:
    """What can be shown of an unreadable row: enough to name it and delete it."""

    def text(column: str) -> str:
        value = row.get(column)
        return value if isinstance(value, str) else "?"

    try:
        connector_id = uuid.UUID(text("id"))
    except ValueError:
        connector_id = UNREADABLE_ID
    version = row.get("version")
    return Connector(
        id=connector_id,
        name=name,
        connector_type=text("connector_type"),
        auth_method=text("auth_method"),
        owner=text("owner"),
        version=version if isinstance(version, int) else 0,
        error=error,
    )
