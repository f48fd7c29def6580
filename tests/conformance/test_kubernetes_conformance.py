"""The ``kubernetes`` basic type against the conformance kit, with a real TLS API server."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from keybroker.testing import ConnectorTypeConformance, WorkingCredentials
from peers.fake_kube_api import FakeKubeApi, fake_kube_api
from peers.tls import CertificateAuthority

TOKEN = "kb-conformance-token-0123456789"


@pytest.fixture
def kube(tmp_path: Path) -> Iterator[FakeKubeApi]:
    with fake_kube_api(tmp_path / "kube-tls") as api:
        api.tokens.add(TOKEN)
        api.basic.add(("admin", "admin-password"))
        yield api


class TestKubernetesConformance(ConnectorTypeConformance):
    connector_type = "kubernetes"

    @pytest.fixture
    def credentials(self, kube: FakeKubeApi) -> list[WorkingCredentials]:
        cluster = {"server": kube.server, "certificate_authority": kube.ca_pem}
        certificate, key = kube.client_certificate("conformance")
        return [
            WorkingCredentials("token", {**cluster, "token": TOKEN}),
            WorkingCredentials(
                "password", {**cluster, "username": "admin", "password": "admin-password"}
            ),
            WorkingCredentials(
                "client-certificate",
                {**cluster, "client_certificate": certificate, "client_key": key},
            ),
        ]

    @pytest.fixture
    def refused_credentials(self, kube: FakeKubeApi) -> list[WorkingCredentials]:
        cluster = {"server": kube.server, "certificate_authority": kube.ca_pem}
        # well-formed, but signed by a CA the API server does not trust
        certificate, key = CertificateAuthority("another CA").issue("intruder", server=False)
        return [
            WorkingCredentials("token", {**cluster, "token": "kb-wrong-token-000000"}),
            WorkingCredentials(
                "password", {**cluster, "username": "admin", "password": "nope-1234"}
            ),
            WorkingCredentials(
                "client-certificate",
                {**cluster, "client_certificate": certificate, "client_key": key},
            ),
        ]
