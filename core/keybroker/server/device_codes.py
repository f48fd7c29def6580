"""The two codes of a device authorization (RFC 8628): what they look like and how they are read.

The **device code** is the client's secret for polling: 256 random bits behind the
prefix ``kbc_`` (so secret scanners can find a leaked one). The **user code** is
what a person types: 8 characters from the 20 consonants RFC 8628 §6.1 suggests
(no vowels, so no words and no I or O to take for 1 or 0; no digits), shown
as ``XXXX-XXXX``, accepted in any case with or without the dash or spaces. That is
20^8, about 2^34.6 values: guessing one is hopeless under the attempt limits of
:mod:`keybroker.server.user_code_limits`. Both are stored only as keyed hashes,
each under its own label so that a value of one kind never matches the other.
"""

from __future__ import annotations

import secrets

from keybroker.server.tokens import TokenHasher

#: RFC 8628 §6.1's example alphabet: base-20 consonants
USER_CODE_ALPHABET = "BCDFGHJKLMNPQRSTVWXZ"
USER_CODE_LENGTH = 8
DEVICE_CODE_PREFIX = "kbc_"
DEVICE_CODE_BYTES = 32
#: longest user code input worth reading (a pasted code with a few extra spaces)
MAX_USER_CODE_INPUT = 32
MAX_DEVICE_CODE_LENGTH = 100


def new_device_code() -> str:
    """A fresh device code."""
    return DEVICE_CODE_PREFIX + secrets.token_urlsafe(DEVICE_CODE_BYTES)


def new_user_code() -> str:
    """A fresh user code, normalized (8 letters, no dash)."""
    return "".join(secrets.choice(USER_CODE_ALPHABET) for _ in range(USER_CODE_LENGTH))


def display_user_code(code: str) -> str:
    """A normalized user code as people see it: ``BCDF-GHJK``."""
    half = USER_CODE_LENGTH // 2
    return f"{code[:half]}-{code[half:]}"


def normalize_user_code(text: str) -> str | None:
    """``text`` as a normalized user code, or None when it cannot be one.

    Case does not matter; a dash and spaces anywhere are ignored.
    """
    if len(text) > MAX_USER_CODE_INPUT:
        return None
    code = "".join(text.split()).replace("-", "").upper()
    if len(code) != USER_CODE_LENGTH or any(c not in USER_CODE_ALPHABET for c in code):
        return None
    return code


def looks_like_device_code(value: str) -> bool:
    """Whether ``value`` has the shape of a device code (a cheap check before any lookup)."""
    return (
        len(value) <= MAX_DEVICE_CODE_LENGTH
        and value.startswith(DEVICE_CODE_PREFIX)
        and value.isascii()
    )


def device_code_hashes(hasher: TokenHasher, code: str) -> list[str]:
    """The stored forms of a device code under every known key (the current one first)."""
    return hasher.candidates("device-code:" + code)


def user_code_hashes(hasher: TokenHasher, code: str) -> list[str]:
    """The stored forms of a normalized user code under every known key."""
    return hasher.candidates("user-code:" + code)
