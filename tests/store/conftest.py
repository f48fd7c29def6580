"""Databases for the store tests: one per test module on each server."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from peers.databases import server_database


@pytest.fixture(scope="module")
def postgresql_url() -> Iterator[str]:
    with server_database("postgresql") as url:
        yield url


@pytest.fixture(scope="module")
def mariadb_url() -> Iterator[str]:
    with server_database("mariadb") as url:
        yield url


@pytest.fixture(scope="module", params=["sqlite", "postgresql", "mariadb"])
def any_database_url(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> str:
    """The URL of an empty store database on each kind of database in turn."""
    kind = request.param
    if kind == "sqlite":
        return f"sqlite:///{tmp_path_factory.mktemp(kind) / 'kb.db'}"
    return str(request.getfixturevalue(f"{kind}_url"))
