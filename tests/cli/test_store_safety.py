"""What a user notices of the store's defences, through the real ``keybroker`` process.

A row changed in the database without the key is refused before any request
leaves; an unsafe config directory or a lost key file stops the command with
one line saying what to do; parallel first registrations all succeed; parallel
updates of one connector never both report success with one of them lost.
"""

from __future__ import annotations

import base64
import json
import os
import sqlite3
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest

from peers.basic_auth_server import BasicAuthService, basic_auth_service
from peers.databases import server_database


def keybroker(
    *args: str, env: dict[str, str] | None = None, start_at: float | None = None
) -> subprocess.CompletedProcess[str]:
    return _wait(_spawn(*args, env=env, start_at=start_at))


def _spawn(
    *args: str, env: dict[str, str] | None = None, start_at: float | None = None
) -> subprocess.Popen[str]:
    """Start ``keybroker ARGS``; with ``start_at`` it waits for that moment before running."""
    launcher = (
        [
            "-c",
            f"import time; time.sleep(max(0, {start_at} - time.time()));"
            "import sys; from keybroker.cli.main import main; sys.argv[0] = 'keybroker'; "
            "sys.exit(main(sys.argv[1:]))",
        ]
        if start_at is not None
        else ["-m", "keybroker"]
    )
    return subprocess.Popen(
        [sys.executable, *launcher, *args],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env={**os.environ, **(env or {})},
    )


def _wait(process: subprocess.Popen[str]) -> subprocess.CompletedProcess[str]:
    out, err = process.communicate(timeout=120)
    return subprocess.CompletedProcess(process.args, process.returncode, out, err)


def _one_line_error(result: subprocess.CompletedProcess[str]) -> str:
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("Error: "), result.stderr
    assert "unexpected" not in lines[0] and "Traceback" not in result.stderr
    return lines[0]


def _register(
    web: BasicAuthService, name: str, **extra_env: str
) -> subprocess.CompletedProcess[str]:
    return keybroker(
        "connector",
        "register",
        name,
        "-t",
        "httpbasic",
        f"url={web.url}",
        f"username={web.username}",
        f"password={web.password}",
        env=extra_env,
    )


def _database() -> Path:
    return Path(os.environ["KEYBROKER_CONFIG_DIR"]) / "keybroker.db"


# -- a row changed without the key ---------------------------------------------------------


def test_tampered_row_is_refused_and_no_request_is_sent() -> None:
    with (
        basic_auth_service() as real,
        basic_auth_service(username="x", password="y") as attacker,
    ):
        registered = _register(real, "web")
        assert registered.returncode == 0, registered.stderr
        asked_before = list(real.requests)
        with sqlite3.connect(_database()) as db:
            (configuration,) = db.execute(
                "SELECT configuration FROM connectors WHERE name='web'"
            ).fetchone()
            redirected = {**json.loads(configuration), "url": attacker.url}
            db.execute("UPDATE connectors SET configuration=?", (json.dumps(redirected),))

        verified = keybroker("connector", "verify", "web")
        assert verified.returncode == 1
        message = _one_line_error(verified)
        assert "connector 'web' was changed outside keybroker" in message
        assert message.endswith(  # advice that works the same in a script and a terminal
            "and will not be used; delete it and register it again with the right credentials"
        )

        resources = keybroker("connector", "list-resources", "-o", "json")
        (report,) = json.loads(resources.stdout)
        assert report["error"].startswith("connector 'web' was changed outside keybroker")
        assert report["error"].count("'web'") == 1
        login = keybroker("connector", "login", "web", "-r", "http-server")
        assert login.returncode == 1
        assert not Path(os.environ["NETRC"]).exists()  # nothing written for the tool either

        assert attacker.requests == []
        assert real.requests == asked_before
        assert real.password not in verified.stderr + resources.stdout + login.stderr

        # the others keep working, and the broken one is still listed
        again = _register(real, "web2")
        assert again.returncode == 0, again.stderr
        listed = keybroker("connector", "list", "-o", "json")
        assert listed.returncode == 0
        assert sorted(c["name"] for c in json.loads(listed.stdout)) == ["web", "web2"]
        # and the advice works: the broken one can be deleted
        deleted = keybroker("connector", "delete", "web", "--yes")
        assert deleted.returncode == 0, deleted.stderr
        left = keybroker("connector", "list", "-o", "json")
        assert [c["name"] for c in json.loads(left.stdout)] == ["web2"]


@pytest.mark.parametrize("kind", ["postgresql", "mariadb"])
def test_a_broken_row_on_a_server_database_is_listed_beside_the_others(kind: str) -> None:
    from sqlalchemy import create_engine, text

    with server_database(kind) as url, basic_auth_service() as web:
        store = {"KEYBROKER_STORE_URL": url}
        for name in ("alpha", "beta", "gamma"):
            assert _register(web, name, **store).returncode == 0
        engine = create_engine(url)
        with engine.begin() as db:  # one changed row, one that is not even JSON any more
            db.execute(text("UPDATE connectors SET description = 'x' WHERE name = 'alpha'"))
            db.execute(text("UPDATE connectors SET configuration = '{' WHERE name = 'gamma'"))
        engine.dispose()

        listed = keybroker("connector", "list", "-o", "json", env=store)
        assert listed.returncode == 0, listed.stderr
        errors = {c["name"]: c["error"] for c in json.loads(listed.stdout)}
        assert errors["beta"] is None
        for name in ("alpha", "gamma"):
            assert errors[name] == (
                f"connector '{name}' was changed outside keybroker (its row fails the "
                "integrity check) and will not be used; delete it and register it again with "
                "the right credentials"
            )
        table = keybroker("connector", "list", env={**store, "COLUMNS": "250"})
        assert table.returncode == 0 and "beta" in table.stdout

        resources = keybroker("connector", "list-resources", "-o", "json", env=store)
        assert resources.returncode == 1  # some could not be checked: scripts can tell
        reports = {r["connector_name"]: r for r in json.loads(resources.stdout)}
        assert reports["beta"]["error"] is None and reports["alpha"]["error"]

        # a value the database column could not hold is refused before anything is stored
        too_long = keybroker(
            "connector",
            "register",
            "long",
            "-t",
            "httpbasic",
            f"url={web.url}",
            "username=alice",
            "password=x",
            "-r",
            "http-endpoint",
            "--resource-id",
            "/" + "a" * 600,
            "--no-verify",
            env=store,
        )
        assert too_long.returncode == 2
        assert _one_line_error(too_long) == (
            "Error: --resource-id: the resource id is longer than 512 characters"
        )


# -- files and keys -------------------------------------------------------------------------


def test_config_directory_writable_by_others_is_refused(tmp_path: Path) -> None:
    shared = tmp_path / "shared-config"
    shared.mkdir()
    shared.chmod(0o777)
    result = keybroker("connector", "list", env={"KEYBROKER_CONFIG_DIR": str(shared)})
    assert result.returncode == 1
    assert _one_line_error(result) == (
        f"Error: the config directory {shared} is writable by other users (mode 777); "
        f"run 'chmod 700 {shared}'"
    )
    assert list(shared.iterdir()) == []


def test_lost_key_file_is_an_error_not_a_new_key() -> None:
    with basic_auth_service() as web:
        assert _register(web, "web").returncode == 0
        key_file = Path(os.environ["KEYBROKER_CONFIG_DIR"]) / "secret.key"
        key_file.unlink()
        result = keybroker("connector", "verify", "web")
        assert result.returncode == 1
        assert "encryption key that is missing" in _one_line_error(result)
        assert not key_file.exists()
        assert web.requests.count("/index") == 1  # only the registration's verification


def test_wrong_key_fails_before_any_connector_is_read() -> None:
    with basic_auth_service() as web:
        assert _register(web, "web").returncode == 0
        other_key = base64.urlsafe_b64encode(os.urandom(32)).decode()
        result = keybroker("connector", "list", env={"KEYBROKER_ENCRYPTION_KEY": other_key})
        assert result.returncode == 1
        assert "encryption key from KEYBROKER_ENCRYPTION_KEY does not open the store" in (
            _one_line_error(result)
        )


@pytest.mark.parametrize(
    ("variable", "value", "message"),
    [
        ("KEYBROKER_TIMEOUT", "abc", "KEYBROKER_TIMEOUT='abc' is not valid: give a number of"),
        ("KEYBROKER_TIMEOUT", "0", "greater than 0"),
        ("KEYBROKER_TIMEOUT", "-5", "greater than 0"),
        ("KEYBROKER_ENCRYPTION_KEY", "short", "KEYBROKER_ENCRYPTION_KEY is not valid"),
        ("KEYBROKER_STORE_URL", "no-scheme", "KEYBROKER_STORE_URL is not a URL"),
    ],
)
def test_malformed_environment_is_a_usage_error(variable: str, value: str, message: str) -> None:
    result = keybroker("connector", "list", env={variable: value})
    assert result.returncode == 2
    assert message in _one_line_error(result)
    if variable != "KEYBROKER_TIMEOUT":
        assert value not in result.stderr  # keys and URLs are never echoed


# -- several processes at once --------------------------------------------------------------


@pytest.fixture(params=["sqlite", "postgresql"])
def fresh_store(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[dict[str, str]]:
    """Environment of a store nobody has used yet (no config dir, no database schema)."""
    env = {"KEYBROKER_CONFIG_DIR": str(tmp_path / "first-use")}
    if request.param == "sqlite":
        yield env
        return
    with server_database(request.param) as url:
        yield {**env, "KEYBROKER_STORE_URL": url}


def test_parallel_first_registrations_all_succeed(fresh_store: dict[str, str]) -> None:
    with basic_auth_service() as web:
        start = time.time() + 1.5
        processes = [
            _spawn(
                "connector",
                "register",
                f"web{i}",
                "-t",
                "httpbasic",
                f"url={web.url}",
                f"username={web.username}",
                f"password={web.password}",
                env=fresh_store,
                start_at=start,
            )
            for i in range(5)
        ]
        results = [_wait(p) for p in processes]
        for result in results:
            assert result.returncode == 0, result.stderr
        listed = keybroker("connector", "list", "-o", "json", env=fresh_store)
        assert sorted(c["name"] for c in json.loads(listed.stdout)) == [f"web{i}" for i in range(5)]
        shown = keybroker("connector", "describe", "web3", "-x", "-o", "json", env=fresh_store)
        assert json.loads(shown.stdout)["secrets"]["password"] == web.password


@dataclass
class GatedService:
    """A basic-auth service whose answers wait until ``gate`` requests have arrived."""

    url: str
    gate: int = 1


@contextmanager
def gated_service(passwords: set[str]) -> Iterator[GatedService]:
    """Accept user alice with any of ``passwords``; hold each answer until ``gate`` came in.

    With ``gate`` set to 2, two verifications are both in flight before either
    finishes, so two updates have both read the connector before either writes.
    """
    accepted = {"Basic " + base64.b64encode(f"alice:{p}".encode()).decode() for p in passwords}
    arrived = threading.Condition()
    count = [0]
    state = GatedService("")

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            with arrived:
                count[0] += 1
                arrived.notify_all()
                arrived.wait_for(lambda: count[0] >= state.gate, timeout=20)
            if self.headers.get("Authorization") not in accepted:
                self.send_response(401)
                self.end_headers()
                return
            body = json.dumps(["/reports"]).encode() if self.path == "/index" else b"ok"
            self.send_response(200)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args: object) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    state.url = f"http://127.0.0.1:{server.server_address[1]}"
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield state
    finally:
        server.shutdown()
        server.server_close()


@pytest.fixture(params=["sqlite", "postgresql", "mariadb"])
def any_store(request: pytest.FixtureRequest) -> Iterator[dict[str, str]]:
    if request.param == "sqlite":
        yield {}
        return
    with server_database(request.param) as url:
        yield {"KEYBROKER_STORE_URL": url}


def test_parallel_password_rotations_never_both_succeed(any_store: dict[str, str]) -> None:
    with gated_service({"original", "rotated-a", "rotated-b"}) as service:
        registered = keybroker(
            "connector",
            "register",
            "web",
            "-t",
            "httpbasic",
            f"url={service.url}",
            "username=alice",
            "password=original",
            env=any_store,
        )
        assert registered.returncode == 0, registered.stderr
        service.gate = 3  # the registration's request, then one from each update
        updates = {
            password: _spawn("connector", "update", "web", f"password={password}", env=any_store)
            for password in ("rotated-a", "rotated-b")
        }
        results = {password: _wait(p) for password, p in updates.items()}
    succeeded = [p for p, r in results.items() if r.returncode == 0]
    assert len(succeeded) == 1, {p: r.stderr for p, r in results.items()}
    (loser,) = [r for r in results.values() if r.returncode != 0]
    assert loser.returncode == 1  # the command was right; running it again succeeds
    assert (
        "connector 'web' was changed by someone else since it was read; run the command again"
        in (_one_line_error(loser))
    )
    shown = keybroker("connector", "describe", "web", "-x", "-o", "json", env=any_store)
    assert json.loads(shown.stdout)["secrets"]["password"] == succeeded[0]
