"""Fixtures of the service tests: the fake connector types and a service over memory."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from keybroker.service import ConnectorService
from keybroker.settings import Settings
from keybroker.store.memory import MemoryConnectorStore
from peers.fake_plugins import fake_plugins_installed


@pytest.fixture(scope="module")
def fake_plugins(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    """The fake connector types, installed on sys.path for one test module."""
    with fake_plugins_installed(tmp_path_factory.mktemp("plugins")) as target:
        yield target


@pytest.fixture
def service(fake_plugins: Path, tmp_path: Path) -> ConnectorService:
    """A service over an in-memory store with a short per-connector timeout."""
    settings = Settings(config_dir=tmp_path / "kb", timeout_seconds=2.0)
    return ConnectorService(store=MemoryConnectorStore(), settings=settings)
