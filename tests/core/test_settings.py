"""Settings read from ``KEYBROKER_*`` variables: accepted forms, and one clear error otherwise."""

from __future__ import annotations

import base64
import os
from pathlib import Path

import pytest

from keybroker.errors import UsageError
from keybroker.settings import Settings


@pytest.mark.parametrize(("text", "seconds"), [("2.5", 2.5), (" 30 ", 30.0), ("86400", 86400.0)])
def test_timeout_accepts_positive_seconds(
    monkeypatch: pytest.MonkeyPatch, text: str, seconds: float
) -> None:
    monkeypatch.setenv("KEYBROKER_TIMEOUT", text)
    assert Settings.from_env().timeout_seconds == seconds


@pytest.mark.parametrize("text", ["abc", "0", "-1", "inf", "nan", "1e9", "30s"])
def test_timeout_refuses_anything_else(monkeypatch: pytest.MonkeyPatch, text: str) -> None:
    monkeypatch.setenv("KEYBROKER_TIMEOUT", text)
    with pytest.raises(UsageError, match=r"KEYBROKER_TIMEOUT=.* is not valid: give a number of"):
        Settings.from_env()


def test_empty_variables_count_as_unset(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in ("KEYBROKER_TIMEOUT", "KEYBROKER_STORE_URL", "KEYBROKER_ENCRYPTION_KEY"):
        monkeypatch.setenv(name, "")
    settings = Settings.from_env()
    assert (settings.timeout_seconds, settings.store_url, settings.encryption_key) == (
        30.0,
        None,
        None,
    )


def test_encryption_key_is_checked_without_being_echoed(monkeypatch: pytest.MonkeyPatch) -> None:
    good = base64.urlsafe_b64encode(os.urandom(32)).decode()
    monkeypatch.setenv("KEYBROKER_ENCRYPTION_KEY", good)
    assert Settings.from_env().encryption_key == good
    bad = good[:20]
    monkeypatch.setenv("KEYBROKER_ENCRYPTION_KEY", bad)
    with pytest.raises(UsageError) as refused:
        Settings.from_env()
    assert "KEYBROKER_ENCRYPTION_KEY is not valid: give 32 random bytes" in str(refused.value)
    assert bad not in str(refused.value)


def test_store_url_needs_a_scheme_and_is_never_echoed(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("KEYBROKER_STORE_URL", "postgresql+psycopg://u:pw@db/kb")
    assert Settings.from_env().store_url == "postgresql+psycopg://u:pw@db/kb"
    monkeypatch.setenv("KEYBROKER_STORE_URL", "u:hunter2@db/kb")
    with pytest.raises(UsageError) as refused:
        Settings.from_env()
    assert "KEYBROKER_STORE_URL is not a URL" in str(refused.value)
    assert "hunter2" not in str(refused.value)


def test_relative_config_dir_is_made_absolute(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    # helpers written into kubeconfig or docker config run from another directory
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("KEYBROKER_CONFIG_DIR", "kb")
    assert Settings.from_env().config_dir == tmp_path / "kb"
