"""The server's encryption key: where it comes from, and the keys derived from it.

The key seals connector secrets (AES-256-GCM, :mod:`keybroker.store.crypto`) and,
through a derived key, hashes bearer credentials (:mod:`keybroker.server.tokens`).
Every replica must use the same key; a check value in the database makes a
replica with a different key refuse to start instead of refusing every token.
"""

from __future__ import annotations

import hashlib
import hmac
from dataclasses import dataclass, field

from keybroker.errors import StoreError, UsageError
from keybroker.server.settings import ENCRYPTION_KEY_ENV, ENCRYPTION_KEY_FILE_ENV, ServerSettings

_TOKEN_LABEL = b"keybroker/server/credential-hash/v1"
_CHECK_LABEL = b"keybroker/server/key-check/v1"


@dataclass(frozen=True)
class ServerKeys:
    """The encryption key and the keys derived from it; never printed."""

    encryption_key: bytes = field(repr=False)

    @property
    def token_hash_key(self) -> bytes:
        """Key of the HMAC that stores bearer credentials (sessions, device tokens, API keys)."""
        return hmac.new(self.encryption_key, _TOKEN_LABEL, hashlib.sha256).digest()

    @property
    def check_value(self) -> str:
        """A value stored in the database that tells whether a replica has the same key."""
        return hmac.new(self.encryption_key, _CHECK_LABEL, hashlib.sha256).hexdigest()


def load_keys(settings: ServerSettings) -> ServerKeys:
    """The key from the environment or the key file.

    The key file is created (mode 0600) only for a SQLite database: replicas sharing
    a server database must be given one key, so a missing key there is an error.
    """
    from keybroker.store.crypto import parse_key
    from keybroker.store.private_files import create_key_file, read_key_file

    if settings.encryption_key:
        return ServerKeys(parse_key(settings.encryption_key, ENCRYPTION_KEY_ENV))
    path = settings.key_file
    key = read_key_file(path)
    if key is not None:
        return ServerKeys(key)
    if settings.encryption_key_file is not None:
        raise UsageError(f"the key file {path} ({ENCRYPTION_KEY_FILE_ENV}) does not exist")
    if settings.is_sqlite:
        try:
            settings.data_dir.mkdir(parents=True, exist_ok=True, mode=0o700)
        except OSError as exc:
            raise StoreError(
                f"cannot create the data directory {settings.data_dir}: {exc.strerror}"
            ) from None
        return ServerKeys(create_key_file(path))
    raise UsageError(
        f"no encryption key: set {ENCRYPTION_KEY_ENV} (or {ENCRYPTION_KEY_FILE_ENV}) to the same "
        "key on every replica; make one with `openssl rand -base64 32 | tr '+/' '-_'`"
    )
