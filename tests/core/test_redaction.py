"""Scrubbing: every common encoding of a secret is masked, wherever it shows up."""

from __future__ import annotations

import base64
import json
import logging
from urllib.parse import quote, quote_plus

import pytest

from keybroker import redaction
from keybroker.redaction import ScrubbingFilter, SecretRegistry, scrub_credential_fields

SECRET = 'p@ss w/rd+ü"Zx'


def encodings(secret: str) -> dict[str, str]:
    """The forms a server or an SDK may echo a secret in."""
    raw = secret.encode()
    basic = base64.b64encode(f"alice:{secret}".encode()).decode()
    return {
        "raw": secret,
        "upper": secret.upper(),
        "lower": secret.lower(),
        "quote": quote(secret, safe=""),
        "quote-lowercase-hex": quote(secret, safe="").lower(),
        "quote-path": quote(secret),
        "quote_plus": quote_plus(secret),
        "base64": base64.b64encode(raw).decode(),
        "base64-unpadded": base64.b64encode(raw).decode().rstrip("="),
        "urlsafe-base64": base64.urlsafe_b64encode(raw).decode(),
        "urlsafe-unpadded": base64.urlsafe_b64encode(raw).decode().rstrip("="),
        "basic-header": f"Basic {basic}",
        "json": json.dumps(secret),
        "json-ascii": json.dumps(secret, ensure_ascii=True),
        "json-unicode": json.dumps(secret, ensure_ascii=False),
        "repr": repr(secret),
        "hex": raw.hex(),
    }


def visible_fragment(secret: str, encoded: str) -> bool:
    """Whether 6+ characters of any form of ``secret`` survived in ``encoded``."""
    forms = encodings(secret)
    # of the Basic header only the part encoding the password (after "alice:", 8 characters)
    forms["basic-header"] = forms["basic-header"].removeprefix("Basic ")[8:]
    for form in forms.values():
        for start in range(len(form) - 5):
            if form[start : start + 6] in encoded:
                return True
    return False


@pytest.mark.parametrize("kind", sorted(encodings(SECRET)))
def test_every_encoding_of_a_secret_is_masked(kind: str) -> None:
    registry = SecretRegistry()
    registry.remember(SECRET)
    echoed = encodings(SECRET)[kind]
    text = f"the server said: {echoed} (status 401)"
    scrubbed = registry.scrub(text)
    assert "***" in scrubbed
    assert not visible_fragment(SECRET, scrubbed), scrubbed
    assert scrubbed.startswith("the server said: ") and scrubbed.endswith(" (status 401)")


@pytest.mark.parametrize("prefix", ["", "a", "ab", "abc", "user:", "x" * 7])
def test_base64_of_a_secret_embedded_at_any_offset_is_masked(prefix: str) -> None:
    registry = SecretRegistry()
    registry.remember("correct-horse-battery")
    for suffix in ("", "!", "!!", ":tail"):
        blob = base64.b64encode(f"{prefix}correct-horse-battery{suffix}".encode()).decode()
        scrubbed = registry.scrub(f"Authorization: Basic {blob}")
        # at most the one or two characters shared with the neighbours' bytes remain
        core = base64.b64encode(b"horse-batt").decode()[:6]
        assert core not in scrubbed
        assert "***" in scrubbed


def test_short_values_are_not_scrubbed_and_extra_secrets_are() -> None:
    registry = SecretRegistry()
    registry.remember("abc", "", None)
    assert registry.scrub("abc abc") == "abc abc"
    assert registry.known() == frozenset()
    assert registry.scrub("token=once-only-secret", ["once-only-secret"]) == "token=***"


def test_credential_fields_are_masked_in_wire_logs() -> None:
    text = (
        "headers={'Authorization': b'AWS4-HMAC-SHA256 Credential=AKIA/2024', "
        "'X-Amz-Security-Token': b'FwoGZXIvYXdzEJr'} "
        "body=<SecretAccessKey>wJalrXUtnFEMI</SecretAccessKey><SessionToken>FQoG</SessionToken> "
        '{"authorizationData": [{"authorizationToken": "QVdTOnBhc3M="}], "password": "pw1"}'
    )
    scrubbed = scrub_credential_fields(text)
    for leaked in ("AWS4-HMAC", "FwoGZXIv", "wJalrXUtnFEMI", "FQoG", "QVdTOnBhc3M", "pw1"):
        assert leaked not in scrubbed
    assert "<SecretAccessKey>***</SecretAccessKey>" in scrubbed


def test_the_logging_filter_scrubs_arguments_and_tracebacks() -> None:
    redaction.remember("filter-test-secret-value")
    record = logging.LogRecord(
        "botocore.endpoint",
        logging.DEBUG,
        __file__,
        1,
        "sent %s",
        ("filter-test-secret-value",),
        None,
    )
    try:
        raise RuntimeError(base64.b64encode(b"u:filter-test-secret-value").decode())
    except RuntimeError:
        import sys

        record.exc_info = sys.exc_info()
    assert ScrubbingFilter().filter(record)
    formatted = logging.Formatter().format(record)
    assert "filter-test-secret-value" not in formatted
    assert base64.b64encode(b"u:filter-test-secret-value").decode() not in formatted
    assert "sent ***" in formatted and "RuntimeError" in formatted


def test_proxy_and_store_url_passwords_are_masked_without_being_remembered_first(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("HTTPS_PROXY", "http://proxy-user:pr0xy%2Fpass@proxy.example:3128")
    monkeypatch.setenv("all_proxy", "socks5://someone:socks-secret@10.0.0.1:1080")
    monkeypatch.setenv("KEYBROKER_STORE_URL", "postgresql+psycopg://kb:db-password@db/kb")
    registry = SecretRegistry()
    text = (
        "ProxyError: cannot reach pr0xy/pass and pr0xy%2Fpass; socks-secret refused; "
        "FATAL: password db-password rejected"
    )
    scrubbed = registry.scrub(text)
    for secret in ("pr0xy/pass", "pr0xy%2Fpass", "socks-secret", "db-password"):
        assert secret not in scrubbed
    assert scrubbed.startswith("ProxyError: cannot reach ***")


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("proxy http://u:pw@h:3128 down", "proxy http://u:***@h:3128 down"),
        # botocore's mask replaces the first occurrence: a password that is part of the
        # scheme stays visible after it
        ('URL: "h***://***:ttp@127.0.0.1:9"', 'URL: "h***://***:***@127.0.0.1:9"'),
        ("https://user@github.com/x", "https://user@github.com/x"),  # no password
        ("mailto:a@b and a:b@c", "mailto:a@b and a:b@c"),
    ],
)
def test_passwords_in_urls_are_masked_whatever_they_are(text: str, expected: str) -> None:
    assert SecretRegistry().scrub(text) == expected
