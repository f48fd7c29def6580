"""A registry with one pushed image, shared by the docker tests of one session."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from peers.registry import Registry, push_image, running_registry


@pytest.fixture(scope="session")
def registry(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Registry]:
    directory = tmp_path_factory.mktemp("registry")
    with running_registry(directory) as running:
        push_image(directory / "image", running)
        yield running
