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
