"""Rotating the server's encryption key (``keybroker server rotate-key``).

One transaction re-seals every connector with the new key, replaces the key
check value that replicas compare their key with, and keeps the bearer-token
hash keys of the earlier encryption keys (sealed with the new one): sessions,
device tokens and API keys issued before the rotation keep working, new ones
are hashed with the new key. Replicas must be stopped while it runs and
restarted with the new key (a replica still holding the old key would seal new
connectors with it).
"""

from __future__ import annotations

import base64
from typing import TYPE_CHECKING

from keybroker.errors import StoreError, UsageError

if TYPE_CHECKING:
    from sqlalchemy.engine import Connection, Engine

    from keybroker.server.keys import ServerKeys

#: the ``store_metadata`` entry holding the server key's check value
KEY_CHECK = "server_key_check"
#: the ``store_metadata`` entry holding earlier token-hash keys, sealed with the current key
PREVIOUS_TOKEN_KEYS = "previous_token_hash_keys"  # noqa: S105 - an entry name
#: how many earlier token-hash keys are kept (older tokens stop working)
MAX_PREVIOUS_KEYS = 4
_PREVIOUS_CONTEXT = b"keybroker/server/previous-token-hash-keys/v1"


def previous_token_keys(connection: Connection, keys: ServerKeys) -> list[bytes]:
    """The token-hash keys of earlier encryption keys, newest first ([] before any rotation)."""
    from sqlalchemy import select

    from keybroker.store.crypto import IntegrityFailure, SecretBox
    from keybroker.store.schema import store_metadata

    value = connection.execute(
        select(store_metadata.c.value).where(store_metadata.c.name == PREVIOUS_TOKEN_KEYS)
    ).scalar()
    if value is None:
        return []
    try:
        opened = SecretBox(keys.encryption_key).open(bytes(value), _PREVIOUS_CONTEXT)
    except IntegrityFailure:
        raise StoreError(
            "the earlier token keys in the database are not sealed with this server's key; "
            "was the key rotated while this replica ran? restart it with the new key"
        ) from None
    return [base64.urlsafe_b64decode(opened[str(i)]) for i in range(len(opened))]


def rotate_server_key(engine: Engine, current: ServerKeys, new: ServerKeys) -> int:
    """Re-seal every connector with ``new`` and make it the database's key, atomically.

    Returns how many connectors were re-sealed (unreadable ones stay as they
    are). ``current`` must be the key the database was set up with.
    """
    from sqlalchemy import delete, insert, select, update

    from keybroker.store.crypto import SecretBox
    from keybroker.store.schema import store_metadata
    from keybroker.store.sql import reseal_connectors

    if new.encryption_key == current.encryption_key:
        raise UsageError("the new key is the current one; give another key")
    check = select(store_metadata.c.value).where(store_metadata.c.name == KEY_CHECK)
    with engine.begin() as connection:
        found = connection.execute(check).scalar()
        if found is None or bytes(found) != current.check_value.encode():
            raise StoreError(
                "the current key is not the one the database was set up with; run "
                "rotate-key with the key the replicas use now"
            )
        earlier = [current.token_hash_key, *previous_token_keys(connection, current)]
        count = reseal_connectors(
            connection, SecretBox(current.encryption_key), SecretBox(new.encryption_key)
        )
        connection.execute(
            update(store_metadata)
            .where(store_metadata.c.name == KEY_CHECK)
            .values(value=new.check_value.encode())
        )
        kept = {
            str(i): base64.urlsafe_b64encode(key).decode()
            for i, key in enumerate(earlier[:MAX_PREVIOUS_KEYS])
        }
        sealed = SecretBox(new.encryption_key).seal(kept, _PREVIOUS_CONTEXT)
        connection.execute(
            delete(store_metadata).where(store_metadata.c.name == PREVIOUS_TOKEN_KEYS)
        )
        connection.execute(insert(store_metadata).values(name=PREVIOUS_TOKEN_KEYS, value=sealed))
    return count
