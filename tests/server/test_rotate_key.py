"""``keybroker server rotate-key``: stop, rotate, restart with the new key (SQLite, PostgreSQL).

After the rotation the connector's secret opens with the new key only, tokens
issued before keep working, and a replica started with the old key refuses to run.
"""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from peers.basic_auth_server import basic_auth_service
from peers.databases import server_database
from peers.keybroker_server import ADMIN_PASSWORD, RunningServer, new_encryption_key, start_server

SERVICE_PASSWORD = "rotated-Secret-value-42"


@pytest.fixture(params=["sqlite", "postgresql"])
def database(request: pytest.FixtureRequest) -> Iterator[str | None]:
    if request.param == "sqlite":
        yield None
        return
    with server_database("postgresql") as url:
        yield url


def _rotate(server: RunningServer, *args: str, stdin: str | None = None) -> str:
    result = subprocess.run(
        [sys.executable, "-m", "keybroker", "server", "rotate-key", *args],
        input=stdin,
        capture_output=True,
        text=True,
        env=server.env,
        timeout=120,
    )
    assert result.returncode == 0, result.stderr
    assert SERVICE_PASSWORD not in result.stdout + result.stderr
    return result.stdout


def test_rotate_key_reencrypts_and_keeps_tokens(database: str | None, tmp_path: Path) -> None:
    old_key = None if database is None else new_encryption_key()
    data_dir = tmp_path / "data"
    first = start_server(tmp_path, database, encryption_key=old_key, data_dir=data_dir, name="a")
    with basic_auth_service("svc", SERVICE_PASSWORD) as web:
        try:
            token = first.sign_in("admin", ADMIN_PASSWORD)
            body = {
                "name": "web",
                "connector_type": "httpbasic",
                "attributes": {"url": web.url, "username": "svc", "password": SERVICE_PASSWORD},
            }
            assert first.request("POST", "/api/v1/connectors", body, token)[0] == 201
        finally:
            first.stop()

        key_file = data_dir / "secret.key"
        if database is None:
            before = key_file.read_text()
            output = _rotate(first)
            new_key = key_file.read_text().strip()
            assert new_key != before.strip() and "key file" in output
            assert (key_file.stat().st_mode & 0o777) == 0o600
            assert SERVICE_PASSWORD.encode() not in (data_dir / "server.db").read_bytes()
        else:
            new_key = new_encryption_key()
            output = _rotate(first, "--new-key-stdin", stdin=new_key + "\n")
        assert "Re-encrypted 1 connector" in output

        second = start_server(
            tmp_path,
            database,
            encryption_key=None if database is None else new_key,
            data_dir=data_dir,
            name="b",
        )
        try:
            status, _, shown = second.request(
                "GET", "/api/v1/connectors/web?show_secrets=true", token=token
            )
            assert status == 200, shown  # the token from before the rotation still works
            assert shown["secrets"] == {"password": SERVICE_PASSWORD}
            status, _, report = second.request(
                "POST", "/api/v1/connectors/web/verify", {}, token=token
            )
            assert status == 200, report
            fresh = second.sign_in("admin", ADMIN_PASSWORD)
            assert second.request("GET", "/api/v1/connectors", token=fresh)[0] == 200
        finally:
            second.stop()

    if database is not None:  # a replica left with the old key refuses to start
        stale = subprocess.run(
            [sys.executable, "-m", "keybroker", "server", "migrate"],
            capture_output=True,
            text=True,
            env={**second.env, "KEYBROKER_SERVER_ENCRYPTION_KEY": old_key or ""},
            timeout=120,
        )
        assert stale.returncode == 0  # migrating needs no key
        with pytest.raises(BaseException, match="did not start"):
            start_server(tmp_path, database, encryption_key=old_key, name="c")


def test_rotate_key_refuses_a_wrong_current_key_and_changes_nothing(tmp_path: Path) -> None:
    with server_database("postgresql") as url:
        key = new_encryption_key()
        server = start_server(tmp_path, url, encryption_key=key)
        server.stop()
        result = subprocess.run(
            [sys.executable, "-m", "keybroker", "server", "rotate-key", "--new-key-stdin"],
            input=new_encryption_key() + "\n",
            capture_output=True,
            text=True,
            env={**server.env, "KEYBROKER_SERVER_ENCRYPTION_KEY": new_encryption_key()},
            timeout=120,
        )
        assert result.returncode != 0
        assert "not the one the database was set up with" in result.stderr
        again = start_server(tmp_path, url, encryption_key=key, name="again")
        again.stop()
        missing = subprocess.run(
            [sys.executable, "-m", "keybroker", "server", "rotate-key"],
            capture_output=True,
            text=True,
            env=server.env,
            timeout=120,
        )
        assert missing.returncode == 2
        assert "--new-key-stdin" in missing.stderr
