"""Scope rules: the three scopes, narrowing, canonical ids, and which connectors reach what."""

from __future__ import annotations

import pytest

from keybroker.connector import ConnectorQuery
from keybroker.errors import PluginError, UsageError
from keybroker.service import ConnectorService
from peers.fake_plugins import register


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


def test_narrowing_outside_the_scope_is_refused_naming_the_parameter(
    service: ConnectorService,
) -> None:
    register(service, "single", resource_type="fake-bucket", resource_id="a")
    with pytest.raises(UsageError, match="scoped to resource 'fake://a', not 'fake://b'") as wide:
        service.verify("single", resource_id="b")
    assert wide.value.parameter == "resource_id"
    with pytest.raises(UsageError, match="scoped to resource type 'fake-bucket'") as other:
        service.verify("single", resource_type="fake-generic")
    assert other.value.parameter == "resource_type"
    register(service, "multi")
    with pytest.raises(UsageError, match="multi-type: a resource id needs a resource type") as e:
        service.verify("multi", resource_id="a")
    assert e.value.parameter == "resource_type"
    assert "--" not in str(e.value)  # the service names parameters, never command-line flags


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


def test_a_canonical_id_hook_answering_none_is_a_plugin_error(service: ConnectorService) -> None:
    with pytest.raises(PluginError, match="'canonical_resource_id' hook returned nothing"):
        register(service, "odd", resource_type="fake-bucket", resource_id="null-id")
    assert service.list() == []


def test_list_filters_multi_type_connectors_by_what_their_type_offers(
    service: ConnectorService,
) -> None:
    register(service, "multi")
    register(service, "gen", resource_type="fake-generic")
    names = [c.name for c in service.list(ConnectorQuery(resource_type="fake-bucket"))]
    assert names == ["multi"]
    assert service.list(ConnectorQuery(resource_type="http-endpoint")) == []


def test_resource_id_filter_matches_every_connector_that_reaches_the_resource(
    service: ConnectorService,
) -> None:
    register(service, "multi")  # multi-type: its type offers buckets
    register(service, "every-bucket", resource_type="fake-bucket")
    register(service, "bucket-a", resource_type="fake-bucket", resource_id="a")
    register(service, "bucket-b", resource_type="fake-bucket", resource_id="b")
    register(service, "gen", resource_type="fake-generic")

    def names(resource_id: str) -> list[str]:
        query = ConnectorQuery(resource_type="fake-bucket", resource_id=resource_id)
        return [c.name for c in service.list(query)]

    # "a" and "fake://a" are the same bucket once canonicalized by the connector type
    assert names("a") == ["bucket-a", "every-bucket", "multi"]
    assert names("fake://a") == ["bucket-a", "every-bucket", "multi"]
    assert names("no/such/bucket") == []  # no connector type accepts that id
    with pytest.raises(UsageError, match="needs a resource type") as caught:
        service.list(ConnectorQuery(resource_id="a"))
    assert caught.value.parameter == "resource_type"


@pytest.mark.parametrize(
    ("call", "valid"),
    [
        (lambda s: s.list(ConnectorQuery(resource_type="nosuch")), "fake-bucket"),
        (lambda s: s.list_resources(resource_type="nosuch"), "fake-bucket"),
        (lambda s: s.list_types(resource_type="nosuch"), "fake-bucket"),
        (lambda s: s.list_types(auth_method="nosuch"), "temp"),
        (lambda s: s.list(ConnectorQuery(connector_type="nosuch")), "fakecloud"),
        (lambda s: s.list_resources(connector_type="nosuch"), "fakecloud"),
    ],
)
def test_an_unknown_filter_value_is_an_error_naming_the_valid_ones(
    service: ConnectorService, call: object, valid: str
) -> None:
    register(service, "c")
    with pytest.raises(UsageError, match=r"unknown .*'nosuch'") as caught:
        call(service)  # type: ignore[operator]
    assert valid in str(caught.value)
    assert caught.value.parameter in ("resource_type", "auth_method", "connector_type")


def test_list_resources_by_id_keeps_only_connectors_that_can_reach_it(
    service: ConnectorService,
) -> None:
    register(service, "a-only", resource_type="fake-bucket", resource_id="a")
    register(service, "b-only", resource_type="fake-bucket", resource_id="b")
    register(service, "generic", resource_type="fake-generic")
    reports = service.list_resources(resource_type="fake-bucket", resource_id="fake://b")
    assert [r.connector_name for r in reports] == ["b-only"]
    assert reports[0].resources[0].resource_ids == ["fake://b"]
    with pytest.raises(UsageError, match="a resource id needs a resource type"):
        service.list_resources(resource_id="b")
