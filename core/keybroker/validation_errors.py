"""Pydantic validation errors in words for people.

``str(ValidationError)`` is several lines of pydantic's own: a "Value error, "
prefix before a validator's message, the input value (which may be a secret),
its type and a link to pydantic's documentation. Every message keybroker shows
is built from :func:`problem` and :func:`describe` instead: one line per
problem, naming the field, without the value.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from pydantic import ValidationError

#: what pydantic puts before the message of an error raised in a validator
PYDANTIC_PREFIXES = ("Value error, ", "Assertion failed, ")


def problem(error: Mapping[str, Any]) -> str:
    """The message of one entry of ``ValidationError.errors()``, on one line, unprefixed."""
    message = " ".join(str(error.get("msg") or "invalid value").split())
    for prefix in PYDANTIC_PREFIXES:
        message = message.removeprefix(prefix)
    return message or "invalid value"


def location(error: Mapping[str, Any]) -> str:
    """The dotted path of the field an entry of ``ValidationError.errors()`` is about."""
    return ".".join(str(part) for part in error.get("loc", ()))


def describe(exc: ValidationError) -> str:
    """One line naming each invalid field of ``exc`` and what is wrong, never the input."""
    parts = []
    for error in exc.errors(include_url=False, include_input=False):
        kind = error.get("type", "")
        if kind == "missing":
            text = "missing"
        elif kind == "extra_forbidden":
            text = "not an accepted field"
        else:
            text = problem(error)
        where = location(error)
        parts.append(f"{where}: {text}" if where else text)
    return f"invalid {exc.title}: {'; '.join(parts) or 'rejected'}"
