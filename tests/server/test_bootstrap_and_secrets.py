"""First start, the generated admin password, and no secret in logs or the database."""

from __future__ import annotations

import os
import re
from pathlib import Path

import pytest

from peers.databases import server_database
from peers.keybroker_server import (
    ADMIN_PASSWORD,
    RunningServer,
    connect,
    keybroker,
    new_encryption_key,
    start_server,
)

ALICE_PASSWORD = "alice-secret-password-Qm4"
NEW_ADMIN_PASSWORD = "rotated-admin-password-Lp2"


def test_generated_admin_password_is_printed_once(tmp_path: Path) -> None:
    first = start_server(tmp_path, admin_password=None, name="first")
    try:
        match = re.search(r"generated password\n\n\s+(\S+)\n", first.log_text())
        assert match, first.log_text()
        generated = match.group(1)
        assert len(generated) >= 20
        assert first.sign_in("admin", generated)
    finally:
        first.stop()
    # the same data directory again: the admin exists, nothing is generated or printed
    second = start_server(tmp_path, admin_password=None, name="second", data_dir=first.data_dir)
    try:
        assert second.sign_in("admin", generated)
        log = second.log_text()
        assert generated not in log
        assert "generated password" not in log
    finally:
        second.stop()
    assert first.log_text().count(generated) == 1


def test_too_short_admin_password_stops_the_server(tmp_path: Path) -> None:
    import subprocess
    import sys

    env = {**os.environ, "KEYBROKER_ADMIN_PASSWORD": "short"}
    result = subprocess.run(
        [
            sys.executable,
            "-m",
            "keybroker",
            "server",
            "up",
            "--data-dir",
            str(tmp_path / "d"),
            "--port",
            "1",
        ],
        capture_output=True,
        text=True,
        env=env,
        timeout=60,
    )
    assert result.returncode == 2
    assert "KEYBROKER_ADMIN_PASSWORD must be at least 12 characters" in result.stderr
    assert "short" not in result.stderr.replace("KEYBROKER", "")


def _scenario(server: RunningServer) -> list[str]:
    """Sign in, create a user, change passwords: return every secret that passed by."""
    admin = server.sign_in("admin", ADMIN_PASSWORD)
    status, _, _ = server.request(
        "POST", "/api/v1/users", {"name": "alice", "password": ALICE_PASSWORD}, admin
    )
    assert status == 201
    alice = server.sign_in("alice", ALICE_PASSWORD)
    connect(server, "alice", ALICE_PASSWORD)
    assert keybroker("status").returncode == 0
    server.request(
        "POST", "/api/v1/auth/sign-in", {"username": "alice", "password": "typo" + ALICE_PASSWORD}
    )
    # a password typed into the user name field must not be stored in clear either
    server.request("POST", "/api/v1/auth/sign-in", {"username": ALICE_PASSWORD, "password": "x"})
    server.request("PATCH", "/api/v1/users/admin", {"password": NEW_ADMIN_PASSWORD}, admin)
    cli_session = Path(os.environ["KEYBROKER_CONFIG_DIR"]) / "server-session.json"
    cli_token = re.search(r'"token": "([^"]+)"', cli_session.read_text())
    assert cli_token
    return [ADMIN_PASSWORD, NEW_ADMIN_PASSWORD, ALICE_PASSWORD, admin, alice, cli_token.group(1)]


def _database_text(url: str) -> str:
    from sqlalchemy import MetaData, create_engine, select

    engine = create_engine(url)
    try:
        metadata = MetaData()
        metadata.reflect(engine)
        with engine.connect() as connection:
            return "\n".join(
                repr(row)
                for table in metadata.sorted_tables
                for row in connection.execute(select(table))
            )
    finally:
        engine.dispose()


@pytest.mark.parametrize("kind", ["sqlite", "postgresql"])
def test_no_secret_in_the_log_or_the_database(tmp_path: Path, kind: str) -> None:
    if kind == "sqlite":
        server = start_server(tmp_path)
        try:
            secrets = _scenario(server)
        finally:
            server.stop()
        stored = b"".join(p.read_bytes() for p in server.data_dir.glob("server.db*"))
        database = stored.decode("latin-1") + _database_text(server.database_url)
    else:
        with server_database(kind) as url:
            server = start_server(tmp_path, url, encryption_key=new_encryption_key())
            try:
                secrets = _scenario(server)
            finally:
                server.stop()
            database = _database_text(url)
    log = server.log_text()
    assert "POST /api/v1/auth/sign-in" in log  # the access log was written
    assert "argon2id" in database  # the password hashes are there, hashed
    for secret in secrets:
        assert secret not in log
        assert secret not in database
