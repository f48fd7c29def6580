"""Password hashing with Argon2id (RFC 9106), and the rules a password must follow.

Argon2id is memory-hard (GPU and ASIC guessing cost memory, not only time), its
encoded hashes carry their parameters, so raising them later re-hashes each
password at its next sign-in. An unknown user name is checked against a dummy hash
so that it costs the same time as a wrong password.
"""

from __future__ import annotations

import threading
from typing import TYPE_CHECKING

from keybroker.errors import UsageError

if TYPE_CHECKING:
    from argon2 import PasswordHasher

MIN_PASSWORD_LENGTH = 12
MAX_PASSWORD_LENGTH = 1024

# RFC 9106's second recommended option, scaled down to a 2-core server: 64 MiB, 3 passes
_TIME_COST = 3
_MEMORY_KIB = 64 * 1024
_PARALLELISM = 1

_hasher: PasswordHasher | None = None
_dummy_hash: str | None = None
_lock = threading.Lock()


def _get_hasher() -> PasswordHasher:
    global _hasher, _dummy_hash
    with _lock:
        if _hasher is None:
            from argon2 import PasswordHasher

            _hasher = PasswordHasher(
                time_cost=_TIME_COST, memory_cost=_MEMORY_KIB, parallelism=_PARALLELISM
            )
            _dummy_hash = _hasher.hash("keybroker dummy password, never valid")
        return _hasher


def check_password_rules(password: str, parameter: str = "password") -> None:
    """Refuse a password that is too short or too long, naming ``parameter``."""
    if len(password) < MIN_PASSWORD_LENGTH:
        raise UsageError(
            f"{parameter} must be at least {MIN_PASSWORD_LENGTH} characters long",
            parameter=parameter,
        )
    if len(password) > MAX_PASSWORD_LENGTH:
        raise UsageError(
            f"{parameter} must be at most {MAX_PASSWORD_LENGTH} characters long",
            parameter=parameter,
        )


def hash_password(password: str) -> str:
    """The Argon2id hash of ``password``, in PHC string format."""
    return _get_hasher().hash(password)


def verify_password(password: str, stored: str | None) -> bool:
    """Whether ``password`` matches ``stored``; with no stored hash a dummy is checked.

    Always spends one Argon2id verification, so the answer time does not tell
    whether the user exists.
    """
    from argon2.exceptions import InvalidHashError, VerificationError

    hasher = _get_hasher()
    target = stored if stored else _dummy_hash
    if target is None or len(password) > MAX_PASSWORD_LENGTH:
        password = ""
    try:
        return bool(hasher.verify(target or "", password)) and bool(stored)
    except (VerificationError, InvalidHashError):
        return False


def needs_rehash(stored: str) -> bool:
    """Whether ``stored`` was made with weaker parameters than today's."""
    return _get_hasher().check_needs_rehash(stored)
