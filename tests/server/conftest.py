"""A real ``keybroker server up`` process per database kind, and the real CLI to reach it."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from peers.databases import server_database
from peers.keybroker_server import ADMIN_PASSWORD, RunningServer, new_encryption_key, start_server

DATABASES = ["sqlite", "postgresql", "mariadb"]


@pytest.fixture(scope="module", params=DATABASES)
def server(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[RunningServer]:
    """A server on a fresh database of each kind, with the admin password from the environment."""
    kind = request.param
    directory = tmp_path_factory.mktemp(f"server-{kind}")
    if kind == "sqlite":
        running = start_server(directory)
        try:
            yield running
        finally:
            running.stop()
        return
    with server_database(kind) as url:
        running = start_server(directory, url, encryption_key=new_encryption_key())
        try:
            yield running
        finally:
            running.stop()


@pytest.fixture
def admin_token(server: RunningServer) -> str:
    """A session token of the bootstrap admin."""
    return server.sign_in("admin", ADMIN_PASSWORD)
