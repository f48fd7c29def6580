"""Verification fails closed, and list-resources reports every connector on its own."""

from __future__ import annotations

import json

import pytest

from keybroker.connector import Connector, ConnectorQuery, RegisterRequest
from keybroker.errors import (
    AuthorizationError,
    ConnectionFailure,
    OperationError,
    PluginError,
    StoreError,
)
from keybroker.service import ConnectorService
from peers.fake_plugins import register


def test_failed_verification_stores_nothing(service: ConnectorService) -> None:
    with pytest.raises(AuthorizationError, match="denied by policy"):
        register(service, "bad", attributes={"fail": "denied by policy"})
    assert service.list() == []
    with pytest.raises(AuthorizationError, match="no access to fake://z"):
        register(service, "bad", resource_type="fake-bucket", resource_id="z")
    assert service.list() == []


def test_a_type_that_cannot_verify_never_counts_as_verified(service: ConnectorService) -> None:
    """Its plugin misspells 'verify': register refuses instead of passing."""
    request = RegisterRequest(
        name="unverifiable",
        connector_type="fakenoverify",
        attributes={"password": "wrong-password"},
    )
    for verify in (True, False):
        with pytest.raises(PluginError, match="'verify'"):
            service.register(request.model_copy(update={"verify": verify}))
    assert service.list() == []


def test_the_service_refuses_to_verify_without_a_verify_hook(service: ConnectorService) -> None:
    """Even with a registry that let such a plugin through, nothing counts as verified."""
    register(service, "c", verify=False)
    real = service.backend.calls.implements  # type: ignore[attr-defined]

    def without_verify(connector_type: str, hook_name: str) -> bool:
        return hook_name != "verify" and real(connector_type, hook_name)

    service.backend.calls.implements = without_verify  # type: ignore[attr-defined]
    with pytest.raises(PluginError, match=r"cannot verify connectors.*no 'verify' hook"):
        service.verify("c")
    (report,) = service.list_resources()
    assert report.error is not None and "no 'verify' hook" in report.error


@pytest.mark.parametrize(
    ("answer", "scope", "message"),
    [
        ("none", {}, "'verify' hook returned nothing"),
        ("none", {"resource_type": "fake-bucket"}, "'verify' hook returned nothing"),
        (
            "wrong",
            {"resource_type": "fake-bucket", "resource_id": "a"},
            "did not confirm access to fake-bucket 'fake://a'",
        ),
    ],
)
def test_a_verify_hook_answering_nonsense_is_a_plugin_error(
    service: ConnectorService, answer: str, scope: dict[str, str], message: str
) -> None:
    with pytest.raises(PluginError, match=message) as caught:
        register(service, "odd", attributes={"answer": answer}, **scope)
    assert caught.value.exit_code == 1
    assert service.list() == []


def test_plugin_errors_keep_their_class_and_lose_their_secrets(service: ConnectorService) -> None:
    with pytest.raises(OperationError) as caught:
        register(service, "boom", attributes={"key": "explode"})
    assert type(caught.value) is OperationError  # a RuntimeError in the plugin
    assert "explode" not in str(caught.value)
    assert "***" in str(caught.value)
    with pytest.raises(AuthorizationError):  # a keybroker error raised by the plugin
        register(service, "denied", attributes={"fail": "nope"})
    connector, _ = register(service, "ok")
    full = service.get("ok", show_secrets=True)
    assert "k3y-value" not in repr(full)
    assert full.secrets["key"].get_secret_value() == "k3y-value"
    masked = service.get("ok")
    assert masked.secrets == {}
    assert masked.secret_names == ["key"]
    assert connector.secret_names == ["key"]


def test_a_pydantic_error_from_a_plugin_is_one_line_without_jargon_or_input(
    service: ConnectorService,
) -> None:
    with pytest.raises(OperationError) as caught:
        register(service, "modelled", attributes={"key": "model-s3cr3t-value"})
    message = str(caught.value)
    assert message == "invalid Answer: token: the token was refused"
    assert "Value error" not in message and "pydantic" not in message
    assert "s3cr3t" not in message and "\n" not in message


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


def test_one_unreadable_row_is_reported_as_broken_and_the_others_listed(
    service: ConnectorService,
) -> None:
    """A store marks a row it cannot read or trust with ``error`` (e.g. a tampered row)."""
    register(service, "good", resource_type="fake-bucket")
    service.store.create(
        Connector(
            name="tampered",
            connector_type="fakecloud",
            auth_method="key",
            error="its integrity check failed",
        )
    )
    listed = {c.name: c for c in service.list()}
    assert listed["tampered"].error == "its integrity check failed"
    assert listed["good"].error is None
    filtered = service.list(ConnectorQuery(resource_type="fake-bucket", resource_id="a"))
    assert {c.name for c in filtered} == {"good", "tampered"}  # never hidden by a filter
    reports = {r.connector_name: r for r in service.list_resources()}
    assert reports["good"].ok
    assert reports["tampered"].error == (
        "connector 'tampered' is broken: its integrity check failed"
    )
    for use in (service.verify, service.issue_client):
        with pytest.raises(StoreError, match="is broken"):
            use("tampered")


def test_unreachable_plugin_timeout_is_a_connection_failure(service: ConnectorService) -> None:
    with pytest.raises(ConnectionFailure, match="did not answer within 2 s") as caught:
        register(service, "hang", attributes={"delay": 30})
    assert caught.value.http_status == 502
    assert service.list() == []


def test_the_cli_lists_a_broken_connector_as_broken(service: ConnectorService) -> None:
    from click.testing import CliRunner

    from keybroker.cli.context import CliState
    from keybroker.cli.main import cli

    register(service, "good")
    service.store.create(
        Connector(name="tampered", connector_type="fakecloud", auth_method="key", error="bad row")
    )

    def run(*args: str, exit_code: int = 0) -> str:
        runner = CliRunner()
        result = runner.invoke(cli, ["connector", *args], obj=CliState(service=service))
        assert result.exit_code == exit_code, result.output
        return result.stdout

    row = next(line for line in run("list").splitlines() if "tampered" in line)
    assert "error: bad row" in row
    listed = {c["name"]: c for c in json.loads(run("list", "-o", "json"))}
    assert listed["tampered"]["error"] == "bad row" and listed["good"]["error"] is None
    listing = run("list-resources", "-o", "json", exit_code=1)  # 1: one could not be checked
    resources = {r["connector_name"]: r for r in json.loads(listing)}
    assert resources["tampered"]["error"] == "connector 'tampered' is broken: bad row"
    assert resources["good"]["error"] is None
