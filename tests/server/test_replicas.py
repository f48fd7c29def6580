"""Two server processes on one PostgreSQL: no state in a process, one migration at a time."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from peers.basic_auth_server import basic_auth_service
from peers.databases import server_database
from peers.keybroker_server import ADMIN_PASSWORD, RunningServer, new_encryption_key, start_server

PASSWORD = "replica-user-password-1"
LIMITS = {
    "KEYBROKER_SERVER_SIGN_IN_FAILURES_PER_USER": "3",
    "KEYBROKER_SERVER_SIGN_IN_WINDOW_SECONDS": "600",
}


@pytest.fixture(scope="module")
def replicas(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[RunningServer, ...]]:
    directory = tmp_path_factory.mktemp("replicas")
    key = new_encryption_key()
    with server_database("postgresql") as url:
        first = start_server(directory, url, encryption_key=key, extra_env=LIMITS, name="a")
        second = start_server(directory, url, encryption_key=key, extra_env=LIMITS, name="b")
        try:
            yield first, second
        finally:
            first.stop()
            second.stop()


def _create(server: RunningServer, token: str, name: str) -> None:
    status, _, body = server.request(
        "POST", "/api/v1/users", {"name": name, "password": PASSWORD}, token
    )
    assert status == 201, body


def test_sign_in_limit_is_shared_by_the_replicas(replicas: tuple[RunningServer, ...]) -> None:
    a, b = replicas
    _create(a, a.sign_in("admin", ADMIN_PASSWORD), "henry")
    wrong = {"username": "henry", "password": "not-the-password"}
    for server in (a, b, a):
        assert server.request("POST", "/api/v1/auth/sign-in", wrong)[0] == 401
    # the fourth attempt, even with the right password and through the other replica
    status, headers, body = b.request(
        "POST", "/api/v1/auth/sign-in", {"username": "henry", "password": PASSWORD}
    )
    assert status == 429
    assert body["error"]["code"] == "rate_limited"
    assert 0 < int(headers["retry-after"]) <= 600
    assert a.request("POST", "/api/v1/auth/sign-in", wrong)[0] == 429
    # other users are not affected
    assert b.sign_in("admin", ADMIN_PASSWORD)


def test_deactivation_through_one_replica_holds_on_the_other(
    replicas: tuple[RunningServer, ...],
) -> None:
    a, b = replicas
    admin = a.sign_in("admin", ADMIN_PASSWORD)
    _create(a, admin, "irene")
    token = b.sign_in("irene", PASSWORD)
    assert a.request("GET", "/api/v1/auth/whoami", token=token)[0] == 200
    assert a.request("PATCH", "/api/v1/users/irene", {"active": False}, admin)[0] == 200
    status, _, body = b.request("GET", "/api/v1/auth/whoami", token=token)
    assert status == 401
    assert "deactivated" in body["error"]["message"]
    # a user deleted through b is gone through a at once
    assert b.request("DELETE", "/api/v1/users/irene", token=admin)[0] == 204
    assert a.request("GET", "/api/v1/users/irene", token=admin)[0] == 404


def test_connectors_changed_through_one_replica_are_seen_through_the_other(
    replicas: tuple[RunningServer, ...],
) -> None:
    a, b = replicas
    admin = a.sign_in("admin", ADMIN_PASSWORD)
    _create(a, admin, "jack")
    _create(b, admin, "kate")
    jack, kate = a.sign_in("jack", PASSWORD), b.sign_in("kate", PASSWORD)
    with basic_auth_service("svc", "replicated-Secret-9") as web:
        body = {
            "name": "replicated",
            "connector_type": "httpbasic",
            "attributes": {"url": web.url, "username": "svc", "password": web.password},
        }
        assert a.request("POST", "/api/v1/connectors", body, jack)[0] == 201
        # registered through a: there through b, sealed with the key both replicas share
        status, _, shown = b.request(
            "GET", "/api/v1/connectors/replicated?show_secrets=true", token=jack
        )
        assert status == 200 and shown["secrets"] == {"password": web.password}
        assert b.request("GET", "/api/v1/connectors/replicated", token=kate)[0] == 404
        # shared through a: kate uses it through b on the next request
        status, _, updated = a.request(
            "PATCH", "/api/v1/connectors/replicated", {"shared": True, "version": 1}, jack
        )
        assert status == 200, updated
        assert b.request("POST", "/api/v1/connectors/replicated/verify", {}, kate)[0] == 200
        # a change based on what b showed before the share loses against a's
        status, _, stale = b.request(
            "PATCH", "/api/v1/connectors/replicated", {"description": "x", "version": 1}, jack
        )
        assert status == 409 and stale["error"]["code"] == "stale_version"
        # deleted through b: gone through a
        assert b.request("DELETE", "/api/v1/connectors/replicated", token=jack)[0] == 200
        assert a.request("GET", "/api/v1/connectors/replicated", token=jack)[0] == 404
        status, _, page = a.request("GET", "/api/v1/connectors", token=kate)
        assert status == 200 and page["items"] == []


def test_a_replica_with_another_key_refuses_to_start(
    replicas: tuple[RunningServer, ...], tmp_path: Path
) -> None:
    a, _ = replicas
    env = {**a.env, "KEYBROKER_SERVER_ENCRYPTION_KEY": new_encryption_key()}
    result = subprocess.run(
        [sys.executable, "-m", "keybroker", "server", "up", "--port", "1"],
        capture_output=True,
        text=True,
        env=env,
        timeout=60,
    )
    assert result.returncode == 1
    assert "encryption key is not the one the database was set up with" in result.stderr


def test_a_server_database_needs_an_explicit_key(tmp_path: Path) -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith("KEYBROKER_SERVER_")}
    env["KEYBROKER_SERVER_DATA_DIR"] = str(tmp_path)
    env["KEYBROKER_SERVER_DATABASE_URL"] = "postgresql+psycopg://postgres@127.0.0.1:5432/none"
    result = subprocess.run(
        [sys.executable, "-m", "keybroker", "server", "up", "--port", "1"],
        capture_output=True,
        text=True,
        env=env,
        timeout=60,
    )
    assert result.returncode == 2
    assert "no encryption key: set KEYBROKER_SERVER_ENCRYPTION_KEY" in result.stderr
    assert not (tmp_path / "secret.key").exists()


@pytest.mark.parametrize("kind", ["postgresql", "mariadb"])
def test_concurrent_migrations_do_not_race(kind: str) -> None:
    from sqlalchemy import create_engine, text

    from keybroker.store.schema import HEAD_REVISION

    with server_database(kind) as url:
        env = {**os.environ, "KEYBROKER_SERVER_DATABASE_URL": url}
        processes = [
            subprocess.Popen(
                [sys.executable, "-m", "keybroker", "server", "migrate"],
                stdout=subprocess.PIPE,
                stderr=subprocess.PIPE,
                text=True,
                env=env,
            )
            for _ in range(3)
        ]
        results = [(p.wait(timeout=120), *p.communicate()) for p in processes]
        assert [code for code, _, _ in results] == [0, 0, 0], results
        assert all(f"at revision {HEAD_REVISION}" in out for _, out, _ in results), results
        engine = create_engine(url)
        with engine.connect() as connection:
            revisions = connection.execute(text("SELECT version_num FROM alembic_version")).all()
        engine.dispose()
        assert [r[0] for r in revisions] == [HEAD_REVISION]


def test_a_dropped_database_connection_fails_a_request_retryably_then_heals(
    replicas: tuple[RunningServer, ...],
) -> None:
    from sqlalchemy import create_engine, text

    a, _ = replicas
    token = a.sign_in("admin", ADMIN_PASSWORD)
    assert a.request("GET", "/api/v1/auth/whoami", token=token)[0] == 200
    engine = create_engine(a.database_url, isolation_level="AUTOCOMMIT")
    with engine.connect() as connection:
        dropped = connection.execute(
            text(
                "SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity "
                "WHERE datname = current_database() AND pid <> pg_backend_pid()"
            )
        ).scalar()
    engine.dispose()
    assert dropped
    # the token lookup and the connector page read through their own pool: both heal
    paths = ["/api/v1/auth/whoami", "/api/v1/connectors?limit=5"] * 10
    answers = [a.request("GET", path, token=token) for path in paths]
    statuses = [status for status, _, _ in answers]
    assert set(statuses) <= {200, 503}, statuses
    assert statuses[-5:] == [200] * 5
    for status, headers, body in answers:
        if status == 503:
            assert body["error"]["code"] == "store_unavailable"
            assert headers["retry-after"] == "1"
    assert "Traceback" not in a.log_text()
