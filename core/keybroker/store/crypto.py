"""Encryption of connector secrets at rest: AES-256-GCM with a key kept apart from the data."""

from __future__ import annotations

import base64
import binascii
import json
import os
import stat
from pathlib import Path

from keybroker.errors import StoreError

KEY_BYTES = 32
NONCE_BYTES = 12
FORMAT_VERSION = b"\x01"


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


def load_or_create_key_file(path: Path) -> bytes:
    """Read the key file, creating it (mode 0600, never readable by others) on first use."""
    path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        mode = stat.S_IMODE(path.stat().st_mode)
        if mode & 0o077:
            raise StoreError(
                f"the key file {path} is readable by other users (mode {mode:o}); "
                f"run 'chmod 600 {path}'"
            ) from None
        return parse_key(path.read_text(), str(path))
    with os.fdopen(fd, "w") as handle:
        handle.write(base64.urlsafe_b64encode(os.urandom(KEY_BYTES)).decode() + "\n")
    return parse_key(path.read_text(), str(path))


class SecretBox:
    """Seals and opens the secrets of one connector, bound to the connector's id."""

    def __init__(self, key: bytes) -> None:
        from cryptography.hazmat.primitives.ciphers.aead import AESGCM

        self._aead = AESGCM(key)

    def __repr__(self) -> str:
        return "SecretBox(key=***)"

    def seal(self, secrets: dict[str, str], connector_id: str) -> bytes:
        """Encrypt ``secrets`` with a fresh nonce; the id is authenticated, not encrypted."""
        nonce = os.urandom(NONCE_BYTES)
        plain = json.dumps(secrets, sort_keys=True).encode()
        return FORMAT_VERSION + nonce + self._aead.encrypt(nonce, plain, connector_id.encode())

    def open(self, blob: bytes, connector_id: str, connector_name: str) -> dict[str, str]:
        """Decrypt a sealed blob; raise ``StoreError`` naming the connector when it fails."""
        from cryptography.exceptions import InvalidTag

        if not blob:
            return {}
        if blob[:1] != FORMAT_VERSION or len(blob) < 1 + NONCE_BYTES + 16:
            raise StoreError(f"the stored secrets of connector '{connector_name}' are corrupt")
        nonce, sealed = blob[1 : 1 + NONCE_BYTES], blob[1 + NONCE_BYTES :]
        try:
            plain = self._aead.decrypt(nonce, sealed, connector_id.encode())
        except InvalidTag:
            raise StoreError(
                f"cannot decrypt the secrets of connector '{connector_name}': wrong encryption "
                "key? (KEYBROKER_ENCRYPTION_KEY or the key file in the config directory)"
            ) from None
        data: dict[str, str] = json.loads(plain)
        return data
