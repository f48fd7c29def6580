"""Bearer credentials: opaque, high-entropy values, stored only as keyed hashes.

A credential is ``<prefix>_<43 urlsafe characters>`` (256 random bits). The prefix
says what it is, so secret scanners can find a leaked one: ``kbs`` a session from
password sign-in, ``kbd`` a device token, ``kbk`` a service account's API key.
Tokens are far too random to guess, so a fast keyed hash (HMAC-SHA256 with a key
derived from the server's encryption key) is the right store: looking one up costs
one HMAC and one indexed query, no password KDF.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from enum import StrEnum

TOKEN_BYTES = 32
MAX_TOKEN_LENGTH = 200


class CredentialKind(StrEnum):
    """What kind of bearer credential a token is."""

    SESSION = "session"
    DEVICE = "device"
    API_KEY = "api_key"
    #: a signed-in browser session of the device pages: audited, never a bearer credential
    WEB = "web"


PREFIXES = {
    CredentialKind.SESSION: "kbs",
    CredentialKind.DEVICE: "kbd",
    CredentialKind.API_KEY: "kbk",
}


def new_token(kind: CredentialKind) -> str:
    """A fresh credential value of ``kind``."""
    return f"{PREFIXES[kind]}_{secrets.token_urlsafe(TOKEN_BYTES)}"


def looks_like_token(value: str) -> bool:
    """Whether ``value`` has the shape of one of our credentials (cheap pre-check)."""
    return (
        len(value) <= MAX_TOKEN_LENGTH
        and value[:4] in {f"{p}_" for p in PREFIXES.values()}
        and value.isascii()
    )


class TokenHasher:
    """Keyed hashes of credentials; several keys let a key rotation keep old tokens valid."""

    def __init__(self, keys: list[bytes]) -> None:
        if not keys:
            raise ValueError("TokenHasher needs at least one key")
        self._keys = list(keys)

    def __repr__(self) -> str:
        return f"TokenHasher(keys={len(self._keys)})"

    def hash(self, token: str) -> str:
        """The stored form of ``token`` under the current key."""
        return hmac.new(self._keys[0], token.encode(), hashlib.sha256).hexdigest()

    def accept_previous(self, keys: list[bytes]) -> None:
        """Also accept tokens hashed with ``keys`` (earlier keys, newest first)."""
        self._keys = [self._keys[0], *(k for k in keys if k not in self._keys)]

    def candidates(self, token: str) -> list[str]:
        """The stored forms of ``token`` under every known key (the current one first)."""
        return [hmac.new(key, token.encode(), hashlib.sha256).hexdigest() for key in self._keys]
