"""Validation: names, labels, descriptions, attributes and expiry, before anything is stored."""

from __future__ import annotations

from typing import Any

import pytest

from keybroker.connector import RegisterRequest, UpdateRequest
from keybroker.errors import ConflictError, UsageError
from keybroker.service import ConnectorService
from peers.fake_plugins import calls, register


def test_duplicate_name_is_a_conflict_refused_before_any_verification(
    service: ConnectorService,
) -> None:
    register(service, "taken")
    before = len(calls())
    with pytest.raises(ConflictError, match="'taken' already exists") as caught:
        register(service, "taken", attributes={"delay": 5})
    assert len(calls()) == before
    assert (caught.value.exit_code, caught.value.http_status) == (2, 409)
    register(service, "other")
    with pytest.raises(ConflictError, match="'taken' already exists"):
        service.update("other", UpdateRequest(name="taken"))


@pytest.mark.parametrize(
    ("changes", "message", "parameter"),
    [
        (
            {"connector_type": "nope"},
            "unknown connector type 'nope'; known types: .*fakecloud",
            "connector_type",
        ),
        (
            {"auth_method": "magic"},
            "unknown auth method 'magic'.*valid auth methods: key, temp",
            "auth_method",
        ),
        (
            {"resource_type": "queue"},
            "unknown resource type 'queue'.*fake-generic, fake-bucket",
            "resource_type",
        ),
        ({"resource_id": "x"}, "a resource id needs a resource type", "resource_type"),
        (
            {"resource_type": "fake-bucket", "resource_id": "no/slash"},
            "invalid bucket name",
            "resource_id",
        ),
        ({"name": "has space"}, "invalid connector name 'has space'", "name"),
        ({"name": "trailing\n"}, r"invalid connector name 'trailing\\n'", "name"),
        ({"name": "x" * 129}, "invalid connector name", "name"),
        (
            {"expiration_seconds": 1000},
            "'key' does not issue temporary credentials",
            "expiration_seconds",
        ),
        (
            {"auth_method": "temp", "expiration_seconds": 60},
            "60 s is outside.*900 to 7200 s",
            "expiration_seconds",
        ),
        ({"labels": {"team": "data\x1b[31m"}}, "control character", "labels"),
        ({"labels": {"a=b": "c"}}, "contains '='", "labels"),
        ({"description": "two\nlines"}, "control character", "description"),
        ({"description": "evil \u202etxt.exe"}, "control character", "description"),
    ],
)
def test_bad_register_requests_are_one_clear_line_and_store_nothing(
    service: ConnectorService, changes: dict[str, Any], message: str, parameter: str | None
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
    assert caught.value.parameter == parameter
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
    assert caught.value.parameter == "attributes"


def test_several_missing_attributes_are_named_together_in_one_clause(
    service: ConnectorService,
) -> None:
    with pytest.raises(UsageError) as caught:
        service.register(
            RegisterRequest(name="c", connector_type="fakecloud", auth_method="key", attributes={})
        )
    text = str(caught.value)
    assert text.startswith("missing required attributes 'account', 'key' for fakecloud")
    assert text.count("missing") == 1


def test_an_empty_value_is_missing_never_an_empty_credential_sent(
    service: ConnectorService,
) -> None:
    before = len(calls())
    with pytest.raises(UsageError) as caught:
        register(service, "c", attributes={"key": "", "buckets": ""})
    assert str(caught.value).startswith("missing required attribute 'key' for fakecloud")
    assert len(calls()) == before  # nothing was verified with an empty key
    register(service, "c", attributes={"buckets": ""})  # an empty optional one is left out
    with pytest.raises(UsageError, match="missing required attribute 'key'"):
        service.update("c", UpdateRequest(attributes={"key": ""}, verify=False))
    assert service.get("c", show_secrets=True).secrets["key"].get_secret_value() == "k3y-value"


def test_validator_messages_have_no_pydantic_prefix_and_never_a_secret(
    service: ConnectorService,
) -> None:
    def refused(**attributes: str) -> str:
        with pytest.raises(UsageError) as caught:
            register(service, "c", attributes=attributes)
        return str(caught.value)

    plain = refused(account="-leading")
    assert "attribute 'account': must not start with '-'" in plain
    assert "Value error" not in plain
    echoed = refused(key="hunter2!precious")  # the plugin's validator echoes the secret
    assert "attribute 'key':" in echoed
    assert "hunter2!precious" not in echoed and "***" in echoed


def test_temporary_auth_method_gets_its_default_expiration(service: ConnectorService) -> None:
    connector, _ = register(service, "temp", auth_method="temp")
    assert connector.expiration_seconds == 3600
