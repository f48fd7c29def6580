"""The embedded store's files: a private directory, private files, and a key never lost silently."""

from __future__ import annotations

import os
import stat
from collections.abc import Iterator
from pathlib import Path

import pytest
from pydantic import SecretStr

from keybroker.connector import Connector
from keybroker.errors import StoreError
from keybroker.settings import Settings
from keybroker.store.sql import SQLConnectorStore


def _mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


@pytest.fixture
def open_umask() -> Iterator[None]:
    """Run with umask 000, so only keybroker's own modes keep files private."""
    previous = os.umask(0)
    try:
        yield
    finally:
        os.umask(previous)


def _connector(name: str = "demo") -> Connector:
    return Connector(
        name=name,
        connector_type="httpbasic",
        auth_method="password",
        configuration={"url": "https://example.com"},
        secrets={"password": SecretStr("pw")},
    )


@pytest.mark.usefixtures("open_umask")
def test_directory_and_every_database_file_are_private(tmp_path: Path) -> None:
    settings = Settings(config_dir=tmp_path / "new" / "config")
    store = SQLConnectorStore.from_settings(settings)
    store.create(_connector())
    store.list()
    files = sorted(p.name for p in settings.config_dir.iterdir())
    # the WAL and its index exist while a connection is open
    assert {"keybroker.db", "keybroker.db-wal", "keybroker.db-shm", "secret.key"} <= set(files)
    assert _mode(settings.config_dir) == 0o700
    for name in files:
        assert _mode(settings.config_dir / name) == 0o600, name
    store.close()


@pytest.mark.parametrize("mode", [0o770, 0o707, 0o777])
def test_directory_writable_by_others_is_refused(tmp_path: Path, mode: int) -> None:
    config_dir = tmp_path / "shared"
    config_dir.mkdir()
    config_dir.chmod(mode)
    with pytest.raises(StoreError) as refused:
        SQLConnectorStore.from_settings(Settings(config_dir=config_dir))
    assert str(refused.value) == (
        f"the config directory {config_dir} is writable by other users (mode {mode:o}); "
        f"run 'chmod 700 {config_dir}'"
    )
    assert list(config_dir.iterdir()) == []


def test_directory_readable_by_others_is_accepted(tmp_path: Path) -> None:
    config_dir = tmp_path / "readable"
    config_dir.mkdir()
    config_dir.chmod(0o755)
    SQLConnectorStore.from_settings(Settings(config_dir=config_dir)).close()


@pytest.mark.skipif(os.geteuid() != 0, reason="needs root to give the directory away")
def test_directory_of_another_user_is_refused(tmp_path: Path) -> None:
    config_dir = tmp_path / "theirs"
    config_dir.mkdir(mode=0o700)
    os.chown(config_dir, 65534, 65534)
    with pytest.raises(StoreError, match="belongs to another user"):
        SQLConnectorStore.from_settings(Settings(config_dir=config_dir))


def test_config_path_that_is_a_file_is_refused(tmp_path: Path) -> None:
    (tmp_path / "file").write_text("")
    with pytest.raises(StoreError, match="is not a directory"):
        SQLConnectorStore.from_settings(Settings(config_dir=tmp_path / "file"))


def test_loose_database_file_of_an_earlier_run_is_made_private(tmp_path: Path) -> None:
    settings = Settings(config_dir=tmp_path / "config")
    SQLConnectorStore.from_settings(settings).close()
    database = settings.config_dir / "keybroker.db"
    database.chmod(0o644)
    SQLConnectorStore.from_settings(settings).close()
    assert _mode(database) == 0o600


def test_missing_key_file_next_to_sealed_connectors_is_an_error(tmp_path: Path) -> None:
    settings = Settings(config_dir=tmp_path / "config")
    SQLConnectorStore.from_settings(settings).create(_connector())
    settings.key_file.unlink()
    with pytest.raises(StoreError) as refused:
        SQLConnectorStore.from_settings(settings)
    message = str(refused.value)
    assert "holds connectors sealed with an encryption key that is missing" in message
    assert f"the key file {settings.key_file} does not exist" in message
    assert "KEYBROKER_ENCRYPTION_KEY is not set" in message
    assert not settings.key_file.exists()  # no second key was made


def test_missing_key_file_of_an_empty_store_is_an_error_too(tmp_path: Path) -> None:
    # the key check alone says the store has a key, even before any connector
    settings = Settings(config_dir=tmp_path / "config")
    SQLConnectorStore.from_settings(settings).close()
    settings.key_file.unlink()
    with pytest.raises(StoreError, match="encryption key that is missing"):
        SQLConnectorStore.from_settings(settings)


def test_environment_key_with_a_server_database_never_touches_the_config_dir(
    tmp_path: Path, postgresql_url: str
) -> None:
    import base64

    key = base64.urlsafe_b64encode(os.urandom(32)).decode()
    settings = Settings(
        config_dir=tmp_path / "absent", store_url=postgresql_url, encryption_key=key
    )
    SQLConnectorStore.from_settings(settings).close()
    assert not settings.config_dir.exists()
