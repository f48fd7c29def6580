"""The example ``httpbasic`` plugin against the conformance kit, with a real basic-auth peer."""

from __future__ import annotations

from collections.abc import Callable

import pytest

from keybroker.testing import ConnectorTypeConformance, HttpPeer, WorkingCredentials

ROUTES = {"/index": ["/reports", "/metrics"], "/reports": "quarterly", "/metrics": "cpu 3"}


class TestHttpBasicConformance(ConnectorTypeConformance):
    connector_type = "httpbasic"

    @pytest.fixture
    def credentials(self, keybroker_http_peer: Callable[..., HttpPeer]) -> list[WorkingCredentials]:
        peer = keybroker_http_peer(ROUTES, basic_auth=("alice", "correct-horse"))
        attributes = {"url": peer.url, "username": "alice", "password": "correct-horse"}
        return [WorkingCredentials("password", attributes)]
