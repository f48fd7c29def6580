"""The GCP test world: the fake Google APIs, the GCS emulator, a TLS API server and a registry.

The fake Google server, the emulator and the registry live for the session
(the registry holds a pushed image); every test starts with a fresh
identity, project membership and resources, and an empty emulator.
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from peers.fake_google import PROJECT, REGISTRY_ISSUER, REGISTRY_USERNAME, FakeGoogle, fake_google
from peers.fake_kube_api import FakeKubeApi, fake_kube_api
from peers.gcs_emulator import GcsEmulator, running_gcs_emulator
from peers.registry import Registry, TokenAuth, push_image, running_registry

IMAGE_REPOSITORY = f"{PROJECT}/images/hello"
AMBIENT_PREFIXES = ("GOOGLE_", "CLOUDSDK_", "GCLOUD_", "GCE_", "STORAGE_EMULATOR_HOST")


@pytest.fixture(scope="session")
def google(tmp_path_factory: pytest.TempPathFactory) -> Iterator[FakeGoogle]:
    with fake_google(tmp_path_factory.mktemp("fake-google")) as fake:
        yield fake


@pytest.fixture(scope="session")
def gcs_emulator(tmp_path_factory: pytest.TempPathFactory) -> Iterator[GcsEmulator]:
    with running_gcs_emulator(tmp_path_factory.mktemp("gcs")) as emulator:
        yield emulator


@pytest.fixture(scope="session")
def kube_api(tmp_path_factory: pytest.TempPathFactory) -> Iterator[FakeKubeApi]:
    with fake_kube_api(tmp_path_factory.mktemp("kube-api")) as api:
        yield api


@pytest.fixture(scope="session")
def gcp_registry(
    tmp_path_factory: pytest.TempPathFactory, google: FakeGoogle
) -> Iterator[Registry]:
    """Debian's docker-registry delegating auth to the fake's token realm, with one image."""
    directory = tmp_path_factory.mktemp("gcp-registry")
    certificate = directory / "registry-token.pem"
    certificate.write_text(google.registry_certificate_pem())
    auth = TokenAuth(
        realm=f"{google.url}/v2/token",
        service=google.registry_service,
        issuer=REGISTRY_ISSUER,
        certificate=certificate,
    )
    with running_registry(directory, token_auth=auth) as registry:
        pusher = google.add_service_account("pusher")
        assert pusher is not None
        google.members.add(pusher["client_email"])
        token = google.issue(pusher["client_email"])
        push_image(
            directory / "image",
            Registry(registry.host, REGISTRY_USERNAME, token),
            repository=IMAGE_REPOSITORY,
        )
        google.reset()
        yield Registry(registry.host, REGISTRY_USERNAME, "")


@dataclass
class GcpWorld:
    """One test's Google: a service account key with access to the project, and resources."""

    google: FakeGoogle
    emulator: GcsEmulator
    kube: FakeKubeApi
    registry: Registry
    key: dict[str, Any]
    home: Path

    @property
    def email(self) -> str:
        return str(self.key["client_email"])

    @property
    def key_json(self) -> str:
        return json.dumps(self.key)

    def key_file(self, key: dict[str, Any] | None = None, name: str = "key.json") -> Path:
        """Write a key (the test's by default) to a file the CLI can read with @path."""
        path = self.home / name
        path.write_text(json.dumps(key or self.key))
        return path

    def attributes(self, **extra: str) -> list[str]:
        """``service_account_json=@FILE api_endpoint=URL`` plus ``extra`` for the CLI."""
        pairs = {
            "service_account_json": f"@{self.key_file()}",
            "api_endpoint": self.google.url,
            **extra,
        }
        return [f"{k}={v}" for k, v in pairs.items()]


@pytest.fixture
def gcp(
    google: FakeGoogle,
    gcs_emulator: GcsEmulator,
    kube_api: FakeKubeApi,
    gcp_registry: Registry,
    isolated_home: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> Iterator[GcpWorld]:
    from keybroker_gcp.tokens import forget_tokens

    for variable in list(os.environ):
        if variable.startswith(AMBIENT_PREFIXES):
            monkeypatch.delenv(variable, raising=False)
    # never look for a GCE metadata server off this machine
    monkeypatch.setenv("NO_GCE_CHECK", "true")
    monkeypatch.setenv("GCE_METADATA_HOST", "127.0.0.1:9")
    monkeypatch.setenv("GCE_METADATA_IP", "127.0.0.1:9")
    monkeypatch.setenv("STORAGE_EMULATOR_HOST", gcs_emulator.url)
    google.reset()
    gcs_emulator.wipe()
    kube_api.tokens.clear()
    kube_api.revoked.clear()
    google.on_issue.append(kube_api.tokens.add)  # GKE accepts Google access tokens
    forget_tokens()
    key = google.add_service_account("keybroker")
    assert key is not None
    google.members.add(key["client_email"])
    host, _, port = kube_api.server.removeprefix("https://").partition(":")
    google.add_cluster("us-central1", "prod", f"{host}:{port}", kube_api.ca_pem)
    google.add_repository("us-central1", "images", f"{gcp_registry.host}/{PROJECT}/images")
    google.add_repository("us", "gcr.io", f"{gcp_registry.host}/{PROJECT}")
    google.add_repository("europe-west1", "pypi", "europe-west1-python.pkg.dev/x", fmt="PYTHON")
    yield GcpWorld(google, gcs_emulator, kube_api, gcp_registry, key, isolated_home)
    forget_tokens()
