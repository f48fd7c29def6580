"""Reading ``application/x-www-form-urlencoded`` bodies: bounded, strict, stdlib only.

OAuth requests (RFC 6749 §3.2, RFC 8628 §3.1 and §3.4) and the device pages' forms
are form-encoded. The body is read up to a small limit (a larger one is refused
before it is all in memory) and must be UTF-8 once percent-decoded. Only the
fields the caller knows are returned: others are ignored (RFC 6749 §3.1: "MUST
ignore unrecognized request parameters"), and a known one given twice is refused
(parameters "MUST NOT be included more than once").
"""

from __future__ import annotations

from typing import TYPE_CHECKING
from urllib.parse import parse_qsl

if TYPE_CHECKING:
    from starlette.requests import Request

FORM_TYPE = "application/x-www-form-urlencoded"
MAX_FORM_BYTES = 16 * 1024
MAX_FIELDS = 32


class FormError(Exception):
    """A body that is not an acceptable form; ``parameter`` names the field at fault."""

    def __init__(self, message: str, parameter: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.parameter = parameter


async def read_form(request: Request, known: frozenset[str]) -> dict[str, str]:
    """The ``known`` fields of a form-encoded request body."""
    media_type = request.headers.get("content-type", "").split(";", 1)[0].strip().lower()
    if media_type != FORM_TYPE:
        raise FormError(f"the request body must be {FORM_TYPE}")
    body = bytearray()
    async for chunk in request.stream():
        body += chunk
        if len(body) > MAX_FORM_BYTES:
            raise FormError(f"the request body is larger than {MAX_FORM_BYTES} bytes")
    return parse_form(bytes(body), known)


def parse_form(body: bytes, known: frozenset[str]) -> dict[str, str]:
    """The ``known`` fields of a form-encoded body; ``FormError`` for a malformed one."""
    try:
        text = body.decode("ascii")
        pairs = parse_qsl(
            text,
            keep_blank_values=True,
            encoding="utf-8",
            errors="strict",
            max_num_fields=MAX_FIELDS,
        )
    except UnicodeDecodeError:
        raise FormError("the request body is not percent-encoded UTF-8") from None
    except ValueError:
        raise FormError(f"the request body has more than {MAX_FIELDS} fields") from None
    fields: dict[str, str] = {}
    for name, value in pairs:
        if name not in known:
            continue
        if name in fields:
            raise FormError(f"{name} is given more than once", parameter=name)
        fields[name] = value
    return fields
