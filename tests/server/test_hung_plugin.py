"""A plugin that hangs, behind a real server: requests time out and threads stay bounded.

The server runs with the fake connector types on its path, a pool of two
plugin-call threads and a one-second timeout. Many concurrent verifications of
a connector whose cloud never answers each fail after about the timeout, and
the server process ends with no more threads than the pool allows.
"""

from __future__ import annotations

import threading
import time
from pathlib import Path

import pytest

from peers.fake_plugins import fake_plugins_installed
from peers.keybroker_server import ADMIN_PASSWORD, RunningServer, start_server


def _threads(server: RunningServer) -> int:
    status = Path(f"/proc/{server.process.pid}/status").read_text()
    return int(next(line.split()[1] for line in status.splitlines() if line.startswith("Threads:")))


def _server_with_fake_plugins(tmp_path: Path, env: dict[str, str]) -> RunningServer:
    """A server process with the fake connector types on its path and ``env`` set."""
    with fake_plugins_installed(tmp_path / "plugins") as plugins:
        return start_server(tmp_path, extra_env={"PYTHONPATH": str(plugins), **env})


def _register_hanging_connector(server: RunningServer, token: str) -> None:
    """Store the connector "hangs", whose cloud takes a minute to answer (not verified)."""
    body = {
        "name": "hangs",
        "connector_type": "fakecloud",
        "auth_method": "key",
        "resource_type": "fake-bucket",
        "attributes": {"account": "a", "key": "k3y-value", "delay": "60"},
        "verify": False,
    }
    status, _, created = server.request("POST", "/api/v1/connectors", body, token)
    assert status == 201, created


def test_hung_plugin_calls_do_not_pile_up_threads(tmp_path: Path) -> None:
    server = _server_with_fake_plugins(
        tmp_path, {"KEYBROKER_PLUGIN_CALL_THREADS": "2", "KEYBROKER_TIMEOUT": "1"}
    )
    try:
        token = server.sign_in("admin", ADMIN_PASSWORD)
        _register_hanging_connector(server, token)
        answers: list[tuple[int, float]] = []

        def verify() -> None:
            started = time.monotonic()
            status, _, _ = server.request("POST", "/api/v1/connectors/hangs/verify", {}, token)
            answers.append((status, time.monotonic() - started))

        def wave() -> None:  # six concurrent requests
            requests = [threading.Thread(target=verify) for _ in range(6)]
            for thread in requests:
                thread.start()
            for thread in requests:
                thread.join(30)

        wave()  # the server's request threads and the plugin-call pool are started now
        baseline = _threads(server)
        wave()
        wave()
        assert [status for status, _ in answers] == [502] * 18
        assert max(seconds for _, seconds in answers) < 10
        # twelve more calls that hang for a minute, and not one more thread
        assert _threads(server) <= baseline
        status, _, reports = server.request("GET", "/api/v1/resources", token=token)
        assert status == 200
        assert [r["error"] for r in reports["items"]] == [
            "connector 'hangs' did not answer within 1 s"
        ]
        assert _threads(server) <= baseline
        assert "Traceback" not in server.log_text()
    finally:
        server.stop()


@pytest.mark.parametrize("lane", ["0", "2"], ids=["event-loop-lane", "two-thread-lane"])
def test_requests_to_the_database_are_answered_while_hung_plugin_calls_fill_the_pool(
    tmp_path: Path, lane: str
) -> None:
    """Forty-five verifications hang for their whole timeout: more than the 40 threads
    that run blocking handlers. Lists, describes and identities use the database lane
    (on the event loop, or on threads of its own), so they are answered at once instead
    of after the timeout."""
    server = _server_with_fake_plugins(
        tmp_path,
        {
            "KEYBROKER_PLUGIN_CALL_THREADS": "64",
            "KEYBROKER_TIMEOUT": "8",
            "KEYBROKER_SERVER_DATABASE_THREADS": lane,
        },
    )
    try:
        token = server.sign_in("admin", ADMIN_PASSWORD)
        _register_hanging_connector(server, token)
        hung = [
            threading.Thread(
                target=server.request,
                args=("POST", "/api/v1/connectors/hangs/verify", {}, token),
            )
            for _ in range(45)
        ]
        started = time.monotonic()
        for thread in hung:
            thread.start()
        time.sleep(1.5)  # every verification has reached its hung plugin call
        answered = []
        for path in ("/api/v1/connectors?limit=5", "/api/v1/connectors/hangs", "/api/v1/users"):
            status, _, _ = server.request("GET", path, token=token)
            answered.append((path, status, time.monotonic() - started))
        assert [status for _, status, _ in answered] == [200, 200, 200]
        # answered well before the hung calls time out (8 s after they started)
        assert all(at < 6 for _, _, at in answered), answered
        for thread in hung:
            thread.join(30)
    finally:
        server.stop()
