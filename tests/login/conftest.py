"""Peers for the login tests: a registry with an image, and a TLS Kubernetes API server."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from peers.fake_kube_api import FakeKubeApi, fake_kube_api
from peers.registry import Registry, push_image, running_registry


@pytest.fixture(scope="session")
def registry(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Registry]:
    directory = tmp_path_factory.mktemp("login-registry")
    with running_registry(directory) as running:
        push_image(directory / "image", running)
        yield running


@pytest.fixture
def kube(tmp_path: Path) -> Iterator[FakeKubeApi]:
    with fake_kube_api(tmp_path / "kube-tls") as api:
        yield api
