"""Sealing connector rows at rest: AES-256-GCM with a key kept apart from the data.

A sealed blob is ``format byte || 96-bit nonce || ciphertext and tag``. The
plaintext is the connector's secret values; the *associated data* is a
canonical encoding of every stored field that decides where and how those
secrets are used (see :mod:`keybroker.store.rows`). Changing any of those
fields in the database without the key makes the blob fail to open.
"""

from __future__ import annotations

import base64
import binascii
import json
import os

from keybroker.errors import StoreError

KEY_BYTES = 32
NONCE_BYTES = 12
TAG_BYTES = 16

#: blobs of the first format: secrets only, bound to the connector id alone
LEGACY_FORMAT = 1
#: the current format: secrets bound to the whole row
ROW_FORMAT = 2

#: associated data of the key check value kept in the database
KEY_CHECK_CONTEXT = b"keybroker key check"


def parse_key(text: str, source: str) -> bytes:
    """Decode an urlsafe-base64 key of 32 bytes; ``source`` names where it came from."""
    try:
        key = base64.urlsafe_b64decode(text.strip().encode() + b"==")
    except (binascii.Error, ValueError):
        key = b""
    if len(key) != KEY_BYTES:
        raise StoreError(
            f"the encryption key in {source} is not valid: expected {KEY_BYTES} random bytes "
            "encoded as urlsafe base64 (e.g. from `openssl rand -base64 32 | tr '+/' '-_'`)"
        )
    return key


def new_key_text() -> str:
    """A fresh random key, encoded as the key file and the environment variable hold it."""
    return base64.urlsafe_b64encode(os.urandom(KEY_BYTES)).decode()


class IntegrityFailure(Exception):
    """A sealed blob did not open: wrong key, or the blob or its associated data changed."""


class SecretBox:
    """Seals and opens secrets bound to associated data, with one key."""

    def __init__(self, key: bytes) -> None:
        from cryptography.hazmat.primitives.ciphers.aead import AESGCM

        self._aead = AESGCM(key)

    def __repr__(self) -> str:
        return "SecretBox(key=***)"

    def seal(self, secrets: dict[str, str], associated: bytes) -> bytes:
        """Encrypt ``secrets`` with a fresh nonce; ``associated`` is authenticated, not stored."""
        nonce = os.urandom(NONCE_BYTES)
        plain = json.dumps(secrets, sort_keys=True).encode()
        return bytes([ROW_FORMAT]) + nonce + self._aead.encrypt(nonce, plain, associated)

    def open(self, blob: bytes, associated: bytes) -> dict[str, str]:
        """Decrypt a blob of the current format; raise :class:`IntegrityFailure` if it fails.

        The caller checks the format byte first (:func:`blob_format`).
        """
        from cryptography.exceptions import InvalidTag

        if len(blob) < 1 + NONCE_BYTES + TAG_BYTES or blob[0] != ROW_FORMAT:
            raise IntegrityFailure("truncated or not of the current format")
        nonce, sealed = blob[1 : 1 + NONCE_BYTES], blob[1 + NONCE_BYTES :]
        try:
            plain = self._aead.decrypt(nonce, sealed, associated)
        except InvalidTag:
            raise IntegrityFailure("authentication tag mismatch") from None
        data = json.loads(plain)
        if not isinstance(data, dict) or not all(
            isinstance(k, str) and isinstance(v, str) for k, v in data.items()
        ):
            raise IntegrityFailure("sealed secrets are not a map of strings")
        return data

    def key_check(self) -> bytes:
        """A value only this key opens, stored once per database to detect a wrong key at open."""
        return self.seal({}, KEY_CHECK_CONTEXT)

    def matches(self, key_check: bytes) -> bool:
        """Whether ``key_check`` was made with this box's key."""
        try:
            self.open(key_check, KEY_CHECK_CONTEXT)
        except IntegrityFailure:
            return False
        return True


def blob_format(blob: bytes | None) -> int | None:
    """The format byte of a stored blob, or None for a row stored without one."""
    if not blob:
        return None
    return blob[0]
