"""The service layer's own rules: scopes, validation, expiry, fan-out, secrets, clients.

A fake connector type is installed the way pip would install a plugin (a
dist-info with entry points on ``sys.path``); its behaviour is driven by its
attributes, so each test states what the "cloud" does.
"""

from __future__ import annotations

import textwrap
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest

from keybroker.connector import ConnectorQuery, RegisterRequest, UpdateRequest, utcnow
from keybroker.errors import (
    AuthorizationError,
    ConnectionFailure,
    NotFoundError,
    OperationError,
    UsageError,
)
from keybroker.events import AuditEvent
from keybroker.hookspecs import hookimpl
from keybroker.registry import PluginRegistry
from keybroker.service import ConnectorService
from keybroker.settings import Settings
from keybroker.store.memory import MemoryConnectorStore
from peers.plugin_install import plugin_on_path, write_plugin

DECLARATION = textwrap.dedent(
    """
    from pydantic import Field, SecretStr
    from keybroker.hookspecs import hookimpl
    from keybroker.types import AuthConfig, AuthMethod, ConnectorType, ResourceType

    class KeyConfig(AuthConfig):
        account: str
        key: SecretStr
        buckets: str = ""
        delay: float = 0.0
        fail: str = ""

    class TempConfig(KeyConfig):
        pass

    TYPE = ConnectorType(
        connector_type="fakecloud",
        name="Fake cloud",
        implementation="fakecloud_impl",
        supports_auto_configuration=False,
        auth_methods=[
            AuthMethod(auth_method="key", name="Key", config_schema=KeyConfig),
            AuthMethod(
                auth_method="temp", name="Temporary", config_schema=TempConfig,
                issues_temporary_credentials=True, default_expiration_seconds=3600,
                min_expiration_seconds=900, max_expiration_seconds=7200,
            ),
        ],
        resource_types=[
            ResourceType(resource_type="fake-generic", name="Generic"),
            ResourceType(resource_type="fake-bucket", name="Bucket", supports_instances=True),
            ResourceType(resource_type="kubernetes-cluster", name="Cluster",
                         supports_instances=True),
        ],
    )

    @hookimpl
    def declare_connector_type():
        return TYPE
    """
)

IMPLEMENTATION = textwrap.dedent(
    """
    import time
    from keybroker.connector import Connector
    from keybroker.errors import AuthorizationError, UsageError
    from keybroker.hookspecs import hookimpl

    CALLS = []

    @hookimpl
    def canonical_resource_id(resource_type, resource_id):
        if resource_type == "fake-bucket":
            name = resource_id.removeprefix("fake://")
            if not name.isalnum():
                raise UsageError(f"invalid bucket name '{resource_id}'")
            return "fake://" + name
        return resource_id

    @hookimpl
    def default_resource_id(resource_type, config):
        return config.account if resource_type == "fake-generic" else None

    @hookimpl
    def verify(connector, config, resource_type, resource_id):
        CALLS.append(("verify", connector.name, resource_type, resource_id))
        time.sleep(config.delay)
        if config.fail:
            raise AuthorizationError(config.fail)
        if config.key.get_secret_value() == "explode":
            raise RuntimeError("key explode rejected by " + config.account)
        buckets = ["fake://" + b for b in config.buckets.split(",") if b]
        if resource_type is None:
            return []
        if resource_type == "fake-generic":
            return [config.account]
        if resource_type == "fake-bucket":
            if resource_id is None:
                return buckets
            if resource_id not in buckets:
                raise AuthorizationError(f"no access to {resource_id}")
            return [resource_id]
        return ["one-cluster"] if resource_id is None else [resource_id]

    @hookimpl
    def derive_client(connector, config, resource_type, resource_id):
        if resource_type != "kubernetes-cluster":
            return None
        return Connector(
            name=connector.name + "-client", connector_type="fakekube", auth_method="token",
            resource_type=resource_type, resource_id=resource_id,
            configuration={"server": "https://" + resource_id},
        )

    @hookimpl
    def build_client(connector, config, resource_type, resource_id, refresh):
        if resource_type == "fake-bucket":
            return ("bucket-client", resource_id)
        return None
    """
)

KUBE_DECLARATION = textwrap.dedent(
    """
    from keybroker.hookspecs import hookimpl
    from keybroker.types import AuthConfig, AuthMethod, ConnectorType, ResourceType

    class TokenConfig(AuthConfig):
        server: str

    @hookimpl
    def declare_connector_type():
        return ConnectorType(
            connector_type="fakekube", name="Fake kube", implementation="fakekube_impl",
            auth_methods=[AuthMethod(auth_method="token", name="Token",
                                     config_schema=TokenConfig)],
            resource_types=[ResourceType(resource_type="kubernetes-cluster", name="Cluster")],
        )
    """
)

KUBE_IMPLEMENTATION = textwrap.dedent(
    """
    from keybroker.hookspecs import hookimpl

    @hookimpl
    def verify(connector, config, resource_type, resource_id):
        return [] if resource_type is None else [config.server]

    @hookimpl
    def build_client(connector, config, resource_type, resource_id, refresh):
        return ("kube-client", config.server, refresh().resource_id)
    """
)


@pytest.fixture(scope="module")
def fake_plugins(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    """The fakecloud and fakekube connector types, installed on sys.path."""
    target = tmp_path_factory.mktemp("plugins")
    write_plugin(
        target,
        "fakecloud",
        {"fakecloud_decl": DECLARATION, "fakecloud_impl": IMPLEMENTATION},
        {"keybroker.connector_types": {"fakecloud": "fakecloud_decl"}},
    )
    write_plugin(
        target,
        "fakekube",
        {"fakekube_decl": KUBE_DECLARATION, "fakekube_impl": KUBE_IMPLEMENTATION},
        {"keybroker.connector_types": {"fakekube": "fakekube_decl"}},
    )
    with plugin_on_path(target):
        yield target


@pytest.fixture
def service(fake_plugins: Path, tmp_path: Path) -> ConnectorService:
    """A service over an in-memory store with a short per-connector timeout."""
    settings = Settings(config_dir=tmp_path / "kb", timeout_seconds=2.0)
    return ConnectorService(store=MemoryConnectorStore(), settings=settings)


def calls() -> list[tuple[Any, ...]]:
    """The verify calls the fake cloud has seen (shared module state)."""
    import fakecloud_impl

    return fakecloud_impl.CALLS  # type: ignore[no-any-return]


def register(service: ConnectorService, name: str, **kwargs: Any) -> Any:
    attributes = {"account": "acct1", "key": "k3y-value", "buckets": "a,b,c"}
    attributes.update(kwargs.pop("attributes", {}))
    request = RegisterRequest(
        name=name,
        connector_type="fakecloud",
        auth_method=kwargs.pop("auth_method", "key"),
        attributes=attributes,
        **kwargs,
    )
    return service.register(request)


def test_three_scopes_verify_as_the_reference_describes(service: ConnectorService) -> None:
    multi, report = register(service, "multi")
    assert multi.scope == "multi-type"
    assert [e.resource_ids for e in report.resources] == [None, None, None]

    instance, report = register(service, "instances", resource_type="fake-bucket")
    assert instance.scope == "multi-instance"
    assert report.resources[0].resource_ids == ["fake://a", "fake://b", "fake://c"]

    single, report = register(service, "single", resource_type="fake-bucket", resource_id="b")
    assert (single.scope, single.resource_id) == ("single-instance", "fake://b")
    assert report.resources[0].resource_ids == ["fake://b"]

    narrowed = service.verify("multi", resource_type="fake-bucket")
    assert narrowed.resources[0].resource_ids == ["fake://a", "fake://b", "fake://c"]
    one = service.verify("instances", resource_id="fake://c")
    assert one.resources[0].resource_ids == ["fake://c"]


def test_narrowing_outside_the_scope_is_refused(service: ConnectorService) -> None:
    register(service, "single", resource_type="fake-bucket", resource_id="a")
    with pytest.raises(UsageError, match="scoped to resource 'fake://a', not 'fake://b'"):
        service.verify("single", resource_id="b")
    with pytest.raises(UsageError, match="scoped to resource type 'fake-bucket'"):
        service.verify("single", resource_type="fake-generic")
    register(service, "multi")
    with pytest.raises(UsageError, match="multi-type: give --resource-type"):
        service.verify("multi", resource_id="a")


def test_type_without_instances_takes_its_name_from_the_configuration(
    service: ConnectorService,
) -> None:
    generic, _ = register(service, "gen", resource_type="fake-generic")
    assert generic.resource_id == "acct1"
    with pytest.raises(UsageError, match="named 'acct1' by its configuration, not 'x'"):
        register(service, "gen2", resource_type="fake-generic", resource_id="x")
    assert not service.store.name_exists("gen2")
    same, _ = register(service, "gen3", resource_type="fake-generic", resource_id="acct1")
    assert same.resource_id == "acct1"  # naming the one resource it has is fine


def test_duplicate_name_is_refused_before_any_verification(service: ConnectorService) -> None:
    register(service, "taken")
    before = len(calls())
    with pytest.raises(UsageError, match="'taken' already exists"):
        register(service, "taken", attributes={"delay": 5})
    assert len(calls()) == before


def test_failed_verification_stores_nothing(service: ConnectorService) -> None:
    with pytest.raises(AuthorizationError, match="denied by policy"):
        register(service, "bad", attributes={"fail": "denied by policy"})
    assert service.list() == []
    with pytest.raises(AuthorizationError, match="no access to fake://z"):
        register(service, "bad", resource_type="fake-bucket", resource_id="z")
    assert service.list() == []


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        ({"connector_type": "nope"}, "unknown connector type 'nope'; known types: .*fakecloud"),
        ({"auth_method": "magic"}, "unknown auth method 'magic'.*valid auth methods: key, temp"),
        ({"resource_type": "queue"}, "unknown resource type 'queue'.*fake-generic, fake-bucket"),
        ({"resource_id": "x"}, "a resource id needs a resource type"),
        ({"resource_type": "fake-bucket", "resource_id": "no/slash"}, "invalid bucket name"),
        ({"name": "has space"}, "invalid connector name 'has space'"),
        ({"expiration_seconds": 1000}, "'key' does not issue temporary credentials"),
        ({"auth_method": "temp", "expiration_seconds": 60}, "60 s is outside.*900 to 7200 s"),
    ],
)
def test_bad_register_requests_are_one_clear_line_and_store_nothing(
    service: ConnectorService, changes: dict[str, Any], message: str
) -> None:
    request: dict[str, Any] = {
        "name": "c",
        "connector_type": "fakecloud",
        "auth_method": "key",
        "attributes": {"account": "a", "key": "k3y-value"},
    }
    request.update(changes)
    with pytest.raises(UsageError, match=message) as caught:
        service.register(RegisterRequest(**request))
    assert "\n" not in str(caught.value)
    assert caught.value.exit_code == 2
    assert service.list() == []


def test_attribute_errors_name_the_attribute_and_list_the_known_ones(
    service: ConnectorService,
) -> None:
    with pytest.raises(UsageError) as caught:
        service.register(
            RegisterRequest(
                name="c",
                connector_type="fakecloud",
                auth_method="key",
                attributes={"acount": "a", "key": "supersecretvalue"},
            )
        )
    text = str(caught.value)
    assert "missing required attribute 'account'" in text
    assert "unknown attribute 'acount'" in text
    assert "account (required), key (required), buckets" in text
    assert "supersecretvalue" not in text


def test_temporary_auth_method_gets_its_default_expiration(service: ConnectorService) -> None:
    connector, _ = register(service, "temp", auth_method="temp")
    assert connector.expiration_seconds == 3600


def test_secrets_never_leave_through_errors_or_repr(service: ConnectorService) -> None:
    with pytest.raises(OperationError) as caught:
        register(service, "boom", attributes={"key": "explode"})
    assert "explode" not in str(caught.value)
    assert "***" in str(caught.value)
    connector, _ = register(service, "ok")
    full = service.get("ok", show_secrets=True)
    assert "k3y-value" not in repr(full)
    assert full.secrets["key"].get_secret_value() == "k3y-value"
    masked = service.get("ok")
    assert masked.secrets == {}
    assert masked.secret_names == ["key"]
    assert connector.secret_names == ["key"]


def test_update_reverifies_and_leaves_the_connector_unchanged_on_failure(
    service: ConnectorService,
) -> None:
    register(service, "c", resource_type="fake-bucket")
    with pytest.raises(AuthorizationError):
        service.update("c", UpdateRequest(attributes={"fail": "now denied"}))
    assert service.get("c", show_secrets=True).configuration.get("fail") in (None, "")
    updated, report = service.update(
        "c", UpdateRequest(name="renamed", labels={"team": "data"}, resource_id="b")
    )
    assert (updated.name, updated.labels, updated.resource_id) == (
        "renamed",
        {"team": "data"},
        "fake://b",
    )
    assert report is not None
    assert report.resources[0].resource_ids == ["fake://b"]
    with pytest.raises(NotFoundError):
        service.get("c")


def test_list_resources_reports_broken_and_slow_connectors_without_waiting_for_them(
    service: ConnectorService,
) -> None:
    register(service, "fast", resource_type="fake-bucket")
    register(service, "slow", resource_type="fake-bucket", verify=False, attributes={"delay": 30})
    register(
        service,
        "broken",
        resource_type="fake-bucket",
        verify=False,
        attributes={"fail": "key revoked"},
    )
    register(service, "multi")
    reports = {r.connector_name: r for r in service.list_resources(resource_type="fake-bucket")}
    assert reports["fast"].resources[0].resource_ids == ["fake://a", "fake://b", "fake://c"]
    assert reports["multi"].resources[0].resource_ids == ["fake://a", "fake://b", "fake://c"]
    assert reports["slow"].error == "connector 'slow' did not answer within 2 s"
    assert reports["broken"].error == "key revoked"


def test_list_resources_by_id_keeps_only_connectors_that_can_reach_it(
    service: ConnectorService,
) -> None:
    register(service, "a-only", resource_type="fake-bucket", resource_id="a")
    register(service, "b-only", resource_type="fake-bucket", resource_id="b")
    register(service, "generic", resource_type="fake-generic")
    reports = service.list_resources(resource_type="fake-bucket", resource_id="fake://b")
    assert [r.connector_name for r in reports] == ["b-only"]
    with pytest.raises(UsageError, match="--resource-id needs --resource-type"):
        service.list_resources(resource_id="b")


def test_list_filters_multi_type_connectors_by_what_their_type_offers(
    service: ConnectorService,
) -> None:
    register(service, "multi")
    register(service, "gen", resource_type="fake-generic")
    names = [c.name for c in service.list(ConnectorQuery(resource_type="fake-bucket"))]
    assert names == ["multi"]
    assert service.list(ConnectorQuery(resource_type="s3-bucket")) == []


def test_python_client_comes_from_the_owner_or_from_the_basic_type(
    service: ConnectorService,
) -> None:
    register(service, "multi")
    assert service.get_client("multi", "fake-bucket", "a") == ("bucket-client", "fake://a")
    kube = service.get_client("multi", "kubernetes-cluster", "prod")
    assert kube == ("kube-client", "https://prod", "prod")
    with pytest.raises(UsageError, match="multi-type: choose --resource-type"):
        service.get_client("multi")


def test_login_without_a_tool_plugin_is_a_clear_error(service: ConnectorService) -> None:
    register(service, "multi")
    with pytest.raises(UsageError, match="no installed plugin configures a local tool"):
        service.login("multi", "fake-generic")


def test_login_picks_the_only_instance_and_asks_when_there_are_several(
    service: ConnectorService,
) -> None:
    register(service, "buckets", resource_type="fake-bucket")
    with pytest.raises(UsageError, match=r"several fake-bucket resources.*fake://a, fake://b"):
        service.login("buckets")
    client = service.issue_client("buckets", resource_id="c")
    assert (client.resource_type, client.resource_id) == ("fake-bucket", "fake://c")


def test_expired_connector_is_refused_with_a_hint(service: ConnectorService) -> None:
    connector, _ = register(service, "old")
    stale = connector.model_copy(
        update={"expires_at": utcnow() - timedelta(minutes=1), "secrets": {}}
    )
    full = service.get("old", show_secrets=True)
    service.store.update(stale.model_copy(update={"secrets": full.secrets}))
    with pytest.raises(OperationError, match=r"expired at .*; update them"):
        service.get_client("old", "fake-bucket", "a")


def test_audit_listeners_see_operations_without_secrets(service: ConnectorService) -> None:
    seen: list[AuditEvent] = []

    class Listener:
        @hookimpl
        def audit_event(self, event: AuditEvent) -> None:
            seen.append(event)

    service.registry.register_open_plugin(Listener())
    register(service, "c")
    service.update("c", UpdateRequest(description="changed"))
    service.delete("c")
    assert [(e.action, e.connector_name) for e in seen] == [
        ("register", "c"),
        ("update", "c"),
        ("delete", "c"),
    ]
    assert all("k3y-value" not in e.model_dump_json() for e in seen)


def test_unreachable_plugin_timeout_is_a_connection_failure(service: ConnectorService) -> None:
    with pytest.raises(ConnectionFailure, match="did not answer within 2 s"):
        register(service, "hang", attributes={"delay": 30})
    assert service.list() == []


def test_registry_loads_only_the_named_plugin(fake_plugins: Path) -> None:
    registry = PluginRegistry()
    registry.declaration("fakekube")
    assert set(registry._loaded) == {"fakekube"}
