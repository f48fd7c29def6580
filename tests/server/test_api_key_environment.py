"""``KEYBROKER_STORE_API_KEY``: the variables a CI job sets, and their misuses.

Each misuse fails before any request, with one line naming the variable, and
never echoes the key.
"""

from __future__ import annotations

import pytest

from peers.keybroker_server import keybroker

KEY = "kbk_" + "k" * 43


def test_an_api_key_without_a_server_url_is_refused(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("KEYBROKER_STORE_API_KEY", KEY)
    result = keybroker("status")
    assert result.returncode == 2
    assert "KEYBROKER_STORE_API_KEY is set but KEYBROKER_STORE_URL does not name a server" in (
        result.stderr
    )
    assert KEY not in result.stderr + result.stdout


def test_an_api_key_and_a_token_file_together_are_refused(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("KEYBROKER_STORE_URL", "https://keybroker.example.com")
    monkeypatch.setenv("KEYBROKER_STORE_API_KEY", KEY)
    monkeypatch.setenv("KEYBROKER_STORE_TOKEN_FILE", "/nonexistent/token")
    result = keybroker("status")
    assert result.returncode == 2
    assert "either KEYBROKER_STORE_API_KEY or KEYBROKER_STORE_TOKEN_FILE, not both" in result.stderr


def test_an_api_key_never_goes_over_plain_http_to_another_host(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("KEYBROKER_STORE_URL", "http://keybroker.example.com")
    monkeypatch.setenv("KEYBROKER_STORE_API_KEY", KEY)
    result = keybroker("status")
    assert result.returncode == 2
    assert "refusing to send credentials over plain http" in result.stderr
    assert KEY not in result.stderr + result.stdout


def test_connect_takes_one_kind_of_credential() -> None:
    both = keybroker(
        "connect", "--url", "https://keybroker.example.com", "--username", "a", "--api-key", KEY
    )
    assert both.returncode == 2
    assert "either --username or --api-key" in both.stderr
    empty = keybroker(
        "connect", "--url", "https://keybroker.example.com", "--api-key-stdin", input="\n"
    )
    assert empty.returncode == 2 and "the API key is empty" in empty.stderr
