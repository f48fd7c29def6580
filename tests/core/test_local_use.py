"""Connector clients, and the Python clients and logins built from them where the user is."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest

from keybroker.connector import Connector, utcnow
from keybroker.errors import OperationError, PluginError, UsageError
from keybroker.operations import ConnectorOperations, IssuedClient, IssuePurpose
from keybroker.service import ConnectorService, LocalOperations
from keybroker.settings import Settings
from keybroker.store.memory import MemoryConnectorStore
from peers.fake_plugins import register


class RecordingBackend:
    """A backend that passes every operation on and records which ones were asked for.

    Stands for any backend (a team server): local use may only go through the
    operations, and never reads a connector's long-lived secrets.
    """

    def __init__(self, inner: LocalOperations) -> None:
        self.inner = inner
        self.asked: list[tuple[str, Any]] = []

    def __getattr__(self, name: str) -> Any:
        operation = getattr(self.inner, name)

        def record(*args: Any, **kwargs: Any) -> Any:
            self.asked.append((name, kwargs.get("purpose", kwargs.get("show_secrets"))))
            return operation(*args, **kwargs)

        return record


def test_python_client_is_built_by_the_client_types_plugin(service: ConnectorService) -> None:
    register(service, "multi")
    assert service.get_client("multi", "fake-bucket", "a") == ("bucket-client", "fake://a")
    # a cluster: the fake cloud issues a fakekube client; fakekube builds the Python client
    kube = service.get_client("multi", "kubernetes-cluster", "prod")
    assert kube == ("kube-client", "https://prod", "prod")
    with pytest.raises(UsageError, match="multi-type: choose a resource type") as caught:
        service.get_client("multi")
    assert caught.value.parameter == "resource_type"


def test_local_use_goes_only_through_the_operations(fake_plugins: Path, tmp_path: Path) -> None:
    settings = Settings(config_dir=tmp_path / "kb", timeout_seconds=2.0)
    local = LocalOperations(store=MemoryConnectorStore(), settings=settings)
    backend = RecordingBackend(local)
    assert isinstance(backend.inner, ConnectorOperations)
    service = ConnectorService(settings=settings, backend=backend)  # type: ignore[arg-type]
    register(service, "multi")
    backend.asked.clear()
    service.get_client("multi", "kubernetes-cluster", "prod")  # its build_client refreshes once
    assert backend.asked == [
        ("issue_client", IssuePurpose.CLIENT),
        ("issue_client", IssuePurpose.CLIENT),
    ]
    backend.asked.clear()
    with pytest.raises(UsageError, match="no installed plugin configures a local tool"):
        service.login("multi", "fake-generic")
    assert backend.asked == [("issue_client", IssuePurpose.LOGIN)]


def test_issued_client_names_its_connector_and_the_resource(service: ConnectorService) -> None:
    connector, _ = register(service, "buckets", resource_type="fake-bucket")
    with pytest.raises(UsageError, match=r"several fake-bucket resources.*fake://a, fake://b"):
        service.login("buckets")
    issued = service.issue_client("buckets", resource_id="c")
    assert isinstance(issued, IssuedClient)
    assert (issued.connector_id, issued.connector_name) == (connector.id, "buckets")
    assert (issued.resource_type, issued.resource_id) == ("fake-bucket", "fake://c")
    assert issued.client.resource_id == "fake://c"
    kube = service.issue_client("buckets", "fake-bucket", "a")
    assert kube.client.secrets["key"].get_secret_value() == "k3y-value"


@pytest.mark.parametrize(
    ("derive", "message"),
    [
        ("junk", "'derive_client' hook returned a str, not a connector client"),
        ("wrong-type", "client for resource type 'fake-generic', not 'fake-bucket'"),
    ],
)
def test_a_derive_hook_answering_nonsense_is_a_plugin_error(
    service: ConnectorService, derive: str, message: str
) -> None:
    register(service, "odd", attributes={"derive": derive})
    with pytest.raises(PluginError, match=message):
        service.issue_client("odd", "fake-bucket", "a")
    with pytest.raises(PluginError, match=message):
        service.get_client("odd", "fake-bucket", "a")


def test_expired_connector_is_refused_with_a_hint(service: ConnectorService) -> None:
    connector, _ = register(service, "old")
    stale = connector.model_copy(
        update={"expires_at": utcnow() - timedelta(minutes=1), "secrets": {}}
    )
    full = service.get("old", show_secrets=True)
    service.store.update(stale.model_copy(update={"secrets": full.secrets}))
    with pytest.raises(OperationError, match=r"expired at .*; update them"):
        service.get_client("old", "fake-bucket", "a")


def test_a_client_whose_type_is_not_installed_here_says_what_to_install(
    service: ConnectorService,
) -> None:
    class ServerOnlyType:
        """Issues clients of a type that only the server has installed."""

        def issue_client(self, *args: Any, **kwargs: Any) -> IssuedClient:
            client = Connector(
                name="c", connector_type="mainframe", auth_method="token", resource_type="lpar"
            )
            return IssuedClient(
                connector_id=client.id,
                connector_name="c",
                resource_type="lpar",
                resource_id=None,
                client=client,
            )

    remote = ConnectorService(settings=service.settings, backend=ServerOnlyType())  # type: ignore[arg-type]
    with pytest.raises(PluginError, match=r"'mainframe', whose plugin is not installed here"):
        remote.get_client("c")
