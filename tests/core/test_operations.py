"""The seam: both backends and the facade speak ConnectorOperations, in JSON-safe values."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
from pydantic import TypeAdapter

from keybroker.connector import Connector, ConnectorQuery, RegisterRequest
from keybroker.errors import UsageError
from keybroker.operations import ConnectorOperations, IssuedClient, Registration
from keybroker.registry import PluginRegistry
from keybroker.service import ConnectorService, LocalOperations
from keybroker.settings import Settings
from keybroker.views import ConnectorTypeView, ConnectorView, ResourceReport
from peers.fake_plugins import register


def test_the_facade_and_the_local_backend_implement_the_operations(
    service: ConnectorService,
) -> None:
    assert isinstance(service, ConnectorOperations)
    assert isinstance(service.backend, LocalOperations)
    assert isinstance(service.backend, ConnectorOperations)


def round_trip(value: object, kind: object) -> object:
    """``value`` after a trip through JSON, as an HTTP API would carry it."""
    adapter: TypeAdapter[object] = TypeAdapter(kind)
    return adapter.validate_json(adapter.dump_json(value))


def test_every_result_survives_a_json_round_trip(service: ConnectorService) -> None:
    registration = service.register(
        RegisterRequest(
            name="c",
            connector_type="fakecloud",
            auth_method="key",
            attributes={"account": "acct1", "key": "k3y-value", "buckets": "a"},
            resource_type="fake-bucket",
            labels={"team": "data"},
        )
    )
    assert round_trip(registration, Registration) == registration
    assert round_trip(service.list_types(), list[ConnectorTypeView]) == service.list_types()
    described = service.describe_type("fakecloud")
    assert round_trip(described, ConnectorTypeView) == described
    report = service.verify("c")
    assert round_trip(report, ResourceReport) == report
    listed = service.list(ConnectorQuery())
    assert round_trip(listed, list[Connector]) == listed
    # secrets cross as a view that shows them, on explicit request only
    issued = service.issue_client("c", resource_id="a")
    shown = ConnectorView.from_connector(issued.client, ["fake-bucket"], show_secrets=True)
    back = round_trip(shown, ConnectorView)
    assert isinstance(back, ConnectorView)
    client = back.to_connector()
    assert client.secrets["key"].get_secret_value() == "k3y-value"
    assert client.model_dump(exclude={"secret_names"}) == issued.client.model_dump(
        exclude={"secret_names"}
    )
    hidden = ConnectorView.from_connector(issued.client, ["fake-bucket"])
    assert "k3y-value" not in hidden.model_dump_json()
    assert hidden.to_connector().secrets == {}
    assert isinstance(IssuedClient.model_json_schema(), dict)


def test_a_connector_type_is_described_without_its_python_classes(
    service: ConnectorService,
) -> None:
    described = service.describe_type("fakecloud")
    data = described.model_dump(mode="json")
    key = next(m for m in data["auth_methods"] if m["auth_method"] == "key")
    attributes = {a["name"]: a for a in key["attributes"]}
    assert attributes["key"]["secret"] is True and attributes["key"]["required"] is True
    assert attributes["delay"]["type"] == "float" and attributes["delay"]["default"] == 0.0
    temp = described.require_auth_method("temp")
    assert (temp.min_expiration_seconds, temp.max_expiration_seconds) == (900, 7200)
    bucket = described.require_resource_type("fake-bucket")
    assert bucket.supports_instances is True
    assert ConnectorTypeView.model_validate_json(described.model_dump_json()) == described


def test_a_server_url_without_a_sign_in_says_how_to_sign_in(
    fake_plugins: Path, tmp_path: Path
) -> None:
    settings = Settings(config_dir=tmp_path / "kb", store_url="https://keybroker.example.com")
    service = ConnectorService(settings=settings)
    with pytest.raises(UsageError, match=r"names the server https://keybroker\.example\.com but"):
        service.list()
    assert not (tmp_path / "kb").exists()  # nothing was created for it
    result = subprocess.run(
        [sys.executable, "-m", "keybroker", "connector", "list"],
        env={**os.environ, "KEYBROKER_STORE_URL": "http://127.0.0.1:9"},
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 2
    assert result.stderr.count("\n") == 1
    assert "run 'keybroker connect --url http://127.0.0.1:9'" in result.stderr


def test_registry_loads_only_the_named_plugin(fake_plugins: Path) -> None:
    registry = PluginRegistry()
    registry.declaration("fakekube")
    assert set(registry._loaded) == {"fakekube"}


def test_register_owner_and_lookup_by_id(service: ConnectorService) -> None:
    connector, _ = register(service, "by-id")
    assert service.get(str(connector.id)).name == "by-id"
