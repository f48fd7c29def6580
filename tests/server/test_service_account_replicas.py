"""Service accounts through the real CLI, against two server processes sharing PostgreSQL.

The CLI of a CI job reaches one replica with ``KEYBROKER_STORE_URL`` and
``KEYBROKER_STORE_API_KEY`` and no prior ``connect``, while its owner manages the
account through the other replica: every change holds on the very next request.
"""

from __future__ import annotations

import json
import os
import stat
import time
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from peers.databases import server_database
from peers.keybroker_server import (
    ADMIN_PASSWORD,
    RunningServer,
    connect,
    keybroker,
    keybroker_json,
    new_encryption_key,
    start_server,
)

LIMIT = 12
SETTINGS = {
    "KEYBROKER_SERVER_API_KEY_FAILURES_PER_ADDRESS": str(LIMIT),
    "KEYBROKER_SERVER_SIGN_IN_WINDOW_SECONDS": "600",
}


@pytest.fixture(scope="module")
def replicas(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[RunningServer, ...]]:
    directory = tmp_path_factory.mktemp("sa-replicas")
    key = new_encryption_key()
    with server_database("postgresql") as url:
        first = start_server(directory, url, encryption_key=key, extra_env=SETTINGS, name="a")
        second = start_server(directory, url, encryption_key=key, extra_env=SETTINGS, name="b")
        try:
            yield first, second
        finally:
            first.stop()
            second.stop()


@pytest.fixture(autouse=True)
def _no_stored_failures(replicas: tuple[RunningServer, ...]) -> Iterator[None]:
    """Each test starts and ends with no refused API keys counted against 127.0.0.1."""
    from sqlalchemy import create_engine, text

    def clear() -> None:
        engine = create_engine(replicas[0].database_url)
        with engine.begin() as connection:
            connection.execute(text("DELETE FROM sign_in_failures WHERE scope = 'api_key'"))
        engine.dispose()

    clear()
    yield
    clear()


class Machine:
    """The environment of a CI job: a server URL and an API key, no session file."""

    def __init__(self, monkeypatch: pytest.MonkeyPatch) -> None:
        self._monkeypatch = monkeypatch

    def use(self, server: RunningServer, key: str) -> None:
        self._monkeypatch.setenv("KEYBROKER_STORE_URL", server.url)
        self._monkeypatch.setenv("KEYBROKER_STORE_API_KEY", key)

    def leave(self) -> None:
        self._monkeypatch.delenv("KEYBROKER_STORE_URL", raising=False)
        self._monkeypatch.delenv("KEYBROKER_STORE_API_KEY", raising=False)

    def status(self, server: RunningServer, key: str) -> Any:
        """``keybroker status`` as the machine; the completed process."""
        self.use(server, key)
        try:
            return keybroker("status", "-o", "json")
        finally:
            self.leave()


@pytest.fixture
def machine(monkeypatch: pytest.MonkeyPatch) -> Machine:
    return Machine(monkeypatch)


def _session_file() -> Path:
    return Path(os.environ["KEYBROKER_CONFIG_DIR"]) / "server-session.json"


def _works(machine: Machine, server: RunningServer, key: str) -> bool:
    result = machine.status(server, key)
    if result.returncode == 0:
        assert json.loads(result.stdout)["user"], result.stdout
        return True
    assert result.returncode == 1, result.stderr
    assert key not in result.stderr + result.stdout
    return False


def test_create_then_use_through_the_environment_on_the_other_replica(
    replicas: tuple[RunningServer, ...], machine: Machine
) -> None:
    a, b = replicas
    connect(a, "admin", ADMIN_PASSWORD)
    created = keybroker("service-account", "create", "ci-bot", "--description", "pipelines")
    assert created.returncode == 0, created.stderr
    key = next(word for word in created.stdout.split() if word.startswith("kbk_"))
    assert created.stdout.count(key) == 1  # shown once
    assert f"export KEYBROKER_STORE_URL={a.url}" in created.stdout
    assert "export KEYBROKER_STORE_API_KEY=" in created.stdout
    assert "shown only this once" in created.stdout
    # a CI job: no session file of its own, only the two variables
    machine.use(b, key)
    try:
        _session_file().rename(_session_file().with_suffix(".away"))
        shown = keybroker("status")
        data = keybroker_json("status")
        as_user = keybroker("user", "list")
    finally:
        _session_file().with_suffix(".away").rename(_session_file())
        machine.leave()
    assert shown.returncode == 0, shown.stderr
    assert "Service account: ci-bot" in shown.stdout
    assert "API key that does not expire" in shown.stdout
    assert key not in shown.stdout
    assert data["user"] == "ci-bot" and data["kind"] == "service_account"
    assert data["credential"] == "api_key" and data["expires_at"] is None
    assert as_user.returncode == 1 and "only an admin" in as_user.stderr
    # the owner sees when it was used
    described = keybroker_json("service-account", "api-key", "ci-bot", "describe", "default")
    assert described["last_used"] is not None
    listed = keybroker_json("service-account", "list")
    assert [(s["name"], s["owner"], s["active"]) for s in listed] == [("ci-bot", "admin", True)]


def test_rotation_without_and_with_retention_across_replicas(
    replicas: tuple[RunningServer, ...], machine: Machine
) -> None:
    a, b = replicas
    connect(a, "admin", ADMIN_PASSWORD)
    first = keybroker_json("service-account", "create", "rotating-bot")["key"]
    assert _works(machine, b, first)
    rotated = keybroker_json("service-account", "api-key", "rotating-bot", "rotate", "default")
    second = rotated["key"]
    assert not _works(machine, b, first) and not _works(machine, a, first)
    assert _works(machine, b, second)
    # --retain in (decimal) minutes: 0.15 is nine seconds
    result = keybroker(
        "service-account", "api-key", "rotating-bot", "rotate", "default", "--retain", "0.15"
    )
    assert result.returncode == 0, result.stderr
    assert "The old value keeps working until" in result.stdout
    third = next(word for word in result.stdout.split() if word.startswith("kbk_"))
    for server in (a, b):
        for value in (second, third):
            assert server.request("GET", "/api/v1/auth/whoami", token=value)[0] == 200
    retained = json.loads(machine.status(a, second).stdout)
    assert retained["expires_at"] is not None  # status says when the old value ends
    ends = datetime.fromisoformat(retained["expires_at"])
    time.sleep(max(0.0, (ends - datetime.now(UTC)).total_seconds()) + 0.5)
    for server in (a, b):
        assert not _works(machine, server, second)
        assert _works(machine, server, third)
    refused = machine.status(b, second)
    assert "rotated and its retention has ended" in refused.stderr
    described = keybroker_json("service-account", "api-key", "rotating-bot", "describe", "default")
    assert described["rotated"] is not None and described["retained_until"] is None


def test_deactivation_and_deletion_hold_at_once_on_every_replica(
    replicas: tuple[RunningServer, ...], machine: Machine
) -> None:
    a, b = replicas
    connect(a, "admin", ADMIN_PASSWORD)
    key = keybroker_json("service-account", "create", "paused-bot")["key"]
    key_cmd = ("service-account", "api-key", "paused-bot")
    assert _works(machine, b, key)
    done = keybroker(*key_cmd, "update", "default", "--active", "false")
    assert done.returncode == 0 and "deactivated" in done.stdout
    assert not _works(machine, b, key)
    assert "API key is deactivated (service account 'paused-bot')" in machine.status(b, key).stderr
    assert keybroker(*key_cmd, "update", "default", "--active", "true").returncode == 0
    assert _works(machine, b, key)
    assert keybroker("service-account", "update", "paused-bot", "--active", "false").returncode == 0
    assert not _works(machine, b, key)
    assert "service account 'paused-bot' is deactivated" in machine.status(a, key).stderr
    assert keybroker("service-account", "update", "paused-bot", "--active", "true").returncode == 0
    assert _works(machine, b, key)
    # deleting the account: its key gets the answer of a key never issued
    refused_delete = keybroker("service-account", "delete", "paused-bot")
    assert refused_delete.returncode == 2 and "--yes" in refused_delete.stderr
    assert _works(machine, b, key)  # nothing deleted
    assert keybroker("service-account", "delete", "paused-bot", "-y").returncode == 0
    gone = machine.status(b, key).stderr
    assert gone == machine.status(a, "kbk_" + "Z" * 43).stderr
    assert "API key is not valid" in gone
    actions = [e["action"] for e in keybroker_json("audit", "list", "--user", "admin")]
    for action in ("api_key.update", "service_account.update", "service_account.delete"):
        assert action in actions


def test_connect_with_an_api_key(replicas: tuple[RunningServer, ...]) -> None:
    a, b = replicas
    connect(a, "admin", ADMIN_PASSWORD)
    key = keybroker_json("service-account", "create", "desk-bot")["key"]
    keybroker("disconnect")
    wrong = key[:-2] + ("AA" if not key.endswith("AA") else "BB")
    refused = keybroker("connect", "--url", b.url, "--api-key-stdin", input=wrong + "\n")
    assert refused.returncode == 1
    assert "API key is not valid" in refused.stderr
    assert wrong not in refused.stderr + refused.stdout
    assert not _session_file().exists()
    result = keybroker("connect", "--url", b.url, "--api-key-stdin", input=key + "\n")
    assert result.returncode == 0, result.stderr
    assert "as the service account desk-bot" in result.stdout
    assert key not in result.stdout + result.stderr
    assert stat.S_IMODE(_session_file().stat().st_mode) == 0o600
    status = keybroker("status")
    assert "Service account: desk-bot" in status.stdout
    assert "API key that does not expire" in status.stdout
    # disconnecting forgets the key here and leaves it valid for other machines
    left = keybroker("disconnect")
    assert left.returncode == 0 and "stays valid" in left.stdout
    assert not _session_file().exists()
    assert a.request("GET", "/api/v1/auth/whoami", token=key)[0] == 200
    # --api-key on the command line works too; a session token is not an API key
    assert keybroker("connect", "--url", a.url, "--api-key", key).returncode == 0
    session = a.sign_in("admin", ADMIN_PASSWORD)
    not_key = keybroker("connect", "--url", a.url, "--api-key", session)
    assert not_key.returncode == 2 and "service account's API key" in not_key.stderr


def test_refused_keys_are_rate_limited_across_replicas(
    replicas: tuple[RunningServer, ...], machine: Machine
) -> None:
    a, b = replicas
    admin = a.sign_in("admin", ADMIN_PASSWORD)
    status, _, created = a.request("POST", "/api/v1/service-accounts", {"name": "busy-bot"}, admin)
    assert status == 201, created
    good = created["key"]
    guesses = [f"kbk_{n:043d}" for n in range(LIMIT)]
    for n, guess in enumerate(guesses):
        server = (a, b)[n % 2]
        assert server.request("GET", "/api/v1/auth/whoami", token=guess)[0] == 401
    # the limit is reached: every API key from this address waits, the right one included
    for server in (a, b):
        status, headers, body = server.request("GET", "/api/v1/auth/whoami", token=good)
        assert (status, body["error"]["code"]) == (429, "rate_limited")
        assert 0 < int(headers["retry-after"]) <= 600
    limited = machine.status(b, good)
    assert limited.returncode == 1 and "too many refused API keys" in limited.stderr
    # people signing in with sessions are not affected
    assert b.request("GET", "/api/v1/auth/whoami", token=admin)[0] == 200
    failures = a.request("GET", f"/api/v1/audit?action=auth.api_key&limit={LIMIT}", token=admin)
    assert len(failures[2]["items"]) == LIMIT
    assert all(e["outcome"] == "failed" for e in failures[2]["items"])


def test_api_key_commands_and_their_output(replicas: tuple[RunningServer, ...]) -> None:
    import yaml

    a, _ = replicas
    connect(a, "admin", ADMIN_PASSWORD)
    assert keybroker("service-account", "create", "multi-bot").returncode == 0
    keys = ("service-account", "api-key", "multi-bot")
    made = keybroker(*keys, "create", "deploy", "--description", "deploy job")
    assert made.returncode == 0, made.stderr
    assert "Created the API key 'deploy' of 'multi-bot'" in made.stdout
    listed = keybroker(*keys, "list")
    assert listed.returncode == 0
    assert "deploy job" in listed.stdout and "default" in listed.stdout
    assert "kbk_" not in listed.stdout
    described = yaml.safe_load(keybroker(*keys, "describe", "deploy", "-o", "yaml").stdout)
    assert described["name"] == "deploy" and described["service_account"] == "multi-bot"
    assert described["last_used"] is None and "key" not in described
    missing = keybroker(*keys, "describe", "nope")
    assert missing.returncode == 2 and "has no API key named 'nope'" in missing.stderr
    bad = keybroker(*keys, "update", "deploy", "--active", "maybe")
    assert bad.returncode == 2 and "--active takes true or false" in bad.stderr
    bad = keybroker(*keys, "rotate", "deploy", "--retain", "-1")
    assert bad.returncode == 2
    assert keybroker(*keys, "delete", "deploy", "--yes").returncode == 0
    assert [k["name"] for k in keybroker_json(*keys, "list")] == ["default"]
    duplicate = keybroker("service-account", "create", "multi-bot")
    assert duplicate.returncode == 2 and "already exists" in duplicate.stderr
    assert keybroker("service-account", "delete", "multi-bot", "--yes").returncode == 0
