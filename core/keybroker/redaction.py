"""Scrubbing secrets out of text: the one place that knows how a secret can leak.

A server, an SDK or a traceback may repeat a secret in another form than the
one we hold: URL-encoded, base64-encoded (a ``user:password`` Basic header
holds the password at some byte offset), JSON-escaped, upper-cased. :func:`scrub`
replaces every one of those forms of every secret this process has loaded or
derived (:func:`remember`), plus any secret given with the call. It also
masks what the machine's setup puts in URLs: the password of every proxy
variable (``HTTPS_PROXY``, ...) and of ``KEYBROKER_STORE_URL``, and the
password part of any ``scheme://user:password@host`` it finds (SDKs render
proxy URLs half-masked: botocore's ``h***://***:ttp@proxy`` still shows a
password that is part of the scheme).

:class:`ScrubbingFilter` applies the same to log records, and additionally
masks the values of well-known credential fields (``Authorization`` headers,
``SecretAccessKey`` elements, ``"password"`` keys) that the process never held
as secrets, such as credentials a cloud SDK received on the wire.
"""

from __future__ import annotations

import base64
import json
import logging
import os
import re
import threading
import traceback
from collections.abc import Iterable, Mapping
from typing import Any
from urllib.parse import quote, quote_plus, unquote, urlsplit

MASK = "***"
#: shorter values are not scrubbed: replacing them would garble ordinary text
MIN_SECRET_LENGTH = 4
#: shorter base64 fragments of a secret (at an unaligned offset) match too much ordinary text
MIN_BASE64_FRAGMENT = 6


#: the password of ``scheme://user:password@``; the scheme may be half-masked (``h***://``)
_URL_PASSWORD = re.compile(r"(?i)([a-z*][a-z0-9+.*-]*://[^\s/?#@:'\"<>]*:)[^\s/?#@'\"<>]+@")
#: the variable naming the store, whose database URL may hold a password
STORE_URL_VARIABLE = "KEYBROKER_STORE_URL"


def ambient_secrets(environ: Mapping[str, str] | None = None) -> list[str]:
    """Passwords the machine's setup holds in URLs: proxy variables and the store URL.

    They are not a connector's secrets, but tracebacks and SDK logs show them
    (a proxy URL in a connection error, a database URL in a driver's message).
    """
    env = os.environ if environ is None else environ
    found: list[str] = []
    for name, value in env.items():
        if not (name.lower().endswith("_proxy") or name == STORE_URL_VARIABLE) or "@" not in value:
            continue
        text = value.strip()
        try:
            password = urlsplit(text if "://" in text else f"http://{text}").password
        except ValueError:
            continue
        if password:
            found += [password, unquote(password)]
    return found


def mask_url_passwords(text: str) -> str:
    """``text`` with the password of every ``scheme://user:password@host`` masked."""
    return _URL_PASSWORD.sub(lambda m: m.group(1) + MASK + "@", text)


def _text_forms(secret: str) -> set[str]:
    """Forms of ``secret`` matched without regard to case."""
    forms = {
        secret,
        quote(secret, safe=""),
        quote(secret),
        quote_plus(secret),
        json.dumps(secret)[1:-1],
        json.dumps(secret, ensure_ascii=False)[1:-1],
        repr(secret)[1:-1],
        secret.encode().hex(),
    }
    return {form for form in forms if len(form) >= MIN_SECRET_LENGTH}


def _base64_forms(secret: str) -> set[str]:
    """Base64 forms of ``secret`` alone or embedded at any byte offset of a longer value.

    Base64 encodes groups of three bytes. A secret starting at offset ``k`` of
    a longer value shares its first ``(3 - k) % 3`` bytes with a group of the
    value's other bytes; every later whole group encodes to the same characters
    whatever surrounds it, and so does the tail when the secret ends the value.
    """
    data = secret.encode()
    forms: set[str] = set()
    for skip in range(3):
        rest = data[skip:]
        whole = len(rest) // 3 * 3
        pieces = [rest[:whole], rest]
        for piece in pieces:
            for encode in (base64.b64encode, base64.urlsafe_b64encode):
                encoded = encode(piece).decode()
                for form in (encoded, encoded.rstrip("=")):
                    if len(form) >= MIN_BASE64_FRAGMENT:
                        forms.add(form)
    return forms


def _pattern(secrets: Iterable[str]) -> re.Pattern[str] | None:
    """One regular expression matching every form of every secret, longest first."""
    text_forms: set[str] = set()
    base64_forms: set[str] = set()
    for secret in secrets:
        if len(secret) < MIN_SECRET_LENGTH:
            continue
        text_forms |= _text_forms(secret)
        base64_forms |= _base64_forms(secret)
    alternatives = [(form, True) for form in text_forms] + [
        (form, False) for form in base64_forms - text_forms
    ]
    if not alternatives:
        return None
    alternatives.sort(key=lambda item: len(item[0]), reverse=True)
    return re.compile(
        "|".join(
            f"(?i:{re.escape(form)})" if fold else re.escape(form) for form, fold in alternatives
        )
    )


class SecretRegistry:
    """The secrets one process has seen, with a compiled pattern kept up to date."""

    def __init__(self) -> None:
        self._secrets: set[str] = set()
        self._lock = threading.Lock()
        self._compiled: re.Pattern[str] | None = None
        self._stale = False

    def remember(self, *values: Any) -> None:
        """Add secret values (``str`` or ``SecretStr``); short and empty ones are ignored."""
        added = False
        for value in values:
            text = value.get_secret_value() if hasattr(value, "get_secret_value") else value
            if isinstance(text, str) and len(text) >= MIN_SECRET_LENGTH:
                with self._lock:
                    if text not in self._secrets:
                        self._secrets.add(text)
                        added = True
        if added:
            with self._lock:
                self._stale = True

    def known(self) -> frozenset[str]:
        """Every secret remembered so far."""
        with self._lock:
            return frozenset(self._secrets)

    def scrub(self, text: str, extra: Iterable[str] = ()) -> str:
        """``text`` with every form of every remembered (and ``extra``) secret masked.

        The passwords of :func:`ambient_secrets` count as remembered, and URL
        passwords are masked whatever they are.
        """
        self.remember(*ambient_secrets())
        text = mask_url_passwords(text)
        extra = [e for e in extra if e and len(e) >= MIN_SECRET_LENGTH]
        with self._lock:
            if self._stale or (self._compiled is None and self._secrets):
                self._compiled = _pattern(self._secrets)
                self._stale = False
            pattern = self._compiled
        if pattern is not None:
            text = pattern.sub(MASK, text)
        if extra:
            extra_pattern = _pattern(extra)
            if extra_pattern is not None:
                text = extra_pattern.sub(MASK, text)
        return text


_registry = SecretRegistry()


def remember(*values: Any) -> None:
    """Remember secret values loaded or derived by this process, so that output never shows them."""
    _registry.remember(*values)


def scrub(text: str, extra: Iterable[str] = ()) -> str:
    """``text`` with every known secret, and every one in ``extra``, masked in all its forms."""
    return _registry.scrub(text, extra)


#: values of fields that hold credentials in HTTP headers, XML and JSON answers
_CREDENTIAL_FIELDS = (
    r"authorization|proxy-authorization|x-amz-security-token|x-auth-token|x-registry-auth"
    r"|cookie|set-cookie"
)
_HEADER = re.compile(
    rf"(?i)(['\"]?(?:{_CREDENTIAL_FIELDS})['\"]?\s*[:=]\s*(?:b?['\"])?)([^'\"\r\n]+)"
)
_XML = re.compile(
    r"(?i)(<(SecretAccessKey|SessionToken|SecurityToken|Password|Token)>)[^<]*(</\2>)"
)
_JSON_KEYS = (
    r"password|secret|token|access_token|refresh_token|id_token|client_secret|private_key"
    r"|authorizationToken|SecretAccessKey|SessionToken|secret_access_key|session_token"
    r"|Secret|auth|identitytoken|registrytoken"
)
_JSON = re.compile(rf"(?i)(['\"](?:{_JSON_KEYS})['\"]\s*:\s*b?['\"])([^'\"]*)")


def scrub_credential_fields(text: str) -> str:
    """``text`` with the values of well-known credential fields masked.

    Covers secrets this process never held as such, e.g. temporary credentials
    in a cloud API's answer that an SDK logs.
    """
    text = _HEADER.sub(lambda m: m.group(1) + MASK, text)
    text = _XML.sub(lambda m: m.group(1) + MASK + m.group(3), text)
    return _JSON.sub(lambda m: m.group(1) + MASK, text)


class ScrubbingFilter(logging.Filter):
    """A logging filter that scrubs every record's message, traceback and stack.

    Attach it to a handler: every record that handler writes, from any logger,
    is scrubbed of known secrets and of credential fields first.
    """

    def filter(self, record: logging.LogRecord) -> bool:
        try:
            message = record.getMessage()
        except Exception:  # a malformed record is shown as its template
            message = str(record.msg)
        record.msg = self._clean(message)
        record.args = None
        if record.exc_info:
            formatted = "".join(traceback.format_exception(*record.exc_info)).rstrip("\n")
            record.exc_text = self._clean(formatted)
            record.exc_info = None
        elif record.exc_text:
            record.exc_text = self._clean(record.exc_text)
        if record.stack_info:
            record.stack_info = self._clean(record.stack_info)
        return True

    @staticmethod
    def _clean(text: str) -> str:
        return scrub_credential_fields(scrub(text))
