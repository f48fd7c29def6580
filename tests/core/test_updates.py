"""Updates: merged, re-verified, all-or-nothing, and never silently overwriting another."""

from __future__ import annotations

import threading
from pathlib import Path

import pytest

from keybroker.connector import UpdateRequest
from keybroker.errors import AuthorizationError, NotFoundError, StaleVersionError
from keybroker.service import ConnectorService
from keybroker.settings import Settings
from keybroker.store.memory import MemoryConnectorStore
from peers.fake_plugins import register


def test_update_reverifies_and_leaves_the_connector_unchanged_on_failure(
    service: ConnectorService,
) -> None:
    register(service, "c", resource_type="fake-bucket")
    with pytest.raises(AuthorizationError):
        service.update("c", UpdateRequest(attributes={"fail": "now denied"}))
    assert service.get("c", show_secrets=True).configuration.get("fail") in (None, "")
    result = service.update(
        "c", UpdateRequest(name="renamed", labels={"team": "data"}, resource_id="b")
    )
    updated = result.connector
    assert (updated.name, updated.labels, updated.resource_id) == (
        "renamed",
        {"team": "data"},
        "fake://b",
    )
    assert result.verification is not None
    assert result.verification.resources[0].resource_ids == ["fake://b"]
    with pytest.raises(NotFoundError):
        service.get("c")


def test_updates_carry_the_version_read_so_a_stale_write_is_refused(
    fake_plugins: Path, tmp_path: Path
) -> None:
    service = ConnectorService(
        store=MemoryConnectorStore(),  # checks versions as every store does
        settings=Settings(config_dir=tmp_path / "kb", timeout_seconds=5.0),
    )
    register(service, "shared", resource_type="fake-bucket")
    # one after the other: each update carries the version it read, so each succeeds
    first = service.get("shared").version
    for secret in ("rotated-1", "rotated-2"):
        service.update("shared", UpdateRequest(attributes={"key": secret}))
    assert service.get("shared").version == first + 2

    # at the same time: A reads, verifies slowly; B reads and writes in between
    failures: list[Exception] = []

    def slow_update() -> None:
        try:
            service.update("shared", UpdateRequest(attributes={"key": "from-a", "delay": 1.0}))
        except Exception as exc:
            failures.append(exc)

    writer_a = threading.Thread(target=slow_update)
    writer_a.start()
    threading.Event().wait(0.3)
    service.update("shared", UpdateRequest(attributes={"key": "from-b"}, verify=False))
    writer_a.join()
    assert len(failures) == 1 and isinstance(failures[0], StaleVersionError)
    assert "was changed by someone else" in str(failures[0])
    assert failures[0].http_status == 409
    stored = service.get("shared", show_secrets=True)
    assert stored.secrets["key"].get_secret_value() == "from-b"  # B's write was not lost
