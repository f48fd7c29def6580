"""Fixtures of the CLI tests: the real peer of the example ``httpbasic`` plugin."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from peers.basic_auth_server import BasicAuthService, basic_auth_service


@pytest.fixture
def web() -> Iterator[BasicAuthService]:
    """An HTTP service with basic auth (user alice), endpoints /reports and /metrics."""
    with basic_auth_service() as service:
        yield service
