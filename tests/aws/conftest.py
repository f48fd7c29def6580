"""A moto server for the AWS tests, reset before each test."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from peers.aws_world import AwsWorld
from peers.moto_server import MotoServer, running_moto


@pytest.fixture(scope="session")
def moto(tmp_path_factory: pytest.TempPathFactory) -> Iterator[MotoServer]:
    with running_moto(tmp_path_factory.mktemp("moto") / "moto.log") as server:
        yield server


@pytest.fixture
def aws(moto: MotoServer) -> AwsWorld:
    moto.reset()
    return AwsWorld(moto)
