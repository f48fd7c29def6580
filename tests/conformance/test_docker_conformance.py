"""The ``docker`` basic type against the conformance kit, with Debian's docker-registry."""

from __future__ import annotations

import pytest

from keybroker.testing import ConnectorTypeConformance, WorkingCredentials
from peers.registry import Registry


class TestDockerConformance(ConnectorTypeConformance):
    connector_type = "docker"

    @pytest.fixture
    def credentials(self, registry: Registry) -> list[WorkingCredentials]:
        attributes = {
            "registry": registry.url,
            "username": registry.username,
            "password": registry.password,
        }
        return [WorkingCredentials("password", attributes)]
