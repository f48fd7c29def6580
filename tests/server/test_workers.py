"""``keybroker server up --workers N``: each worker accepts on a socket of its own.

With one shared listening socket, a client that opens many keep-alive connections
at once often lands all of them on one worker. These tests run the real command
and read from /proc which process holds which socket: every worker listens on a
socket of its own, a burst of connections reaches more than one worker, a worker
that dies is started again, SIGTERM stops them all, and a port in use is refused
before the database is touched.
"""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from collections import Counter
from collections.abc import Iterator
from pathlib import Path

import pytest

from peers.keybroker_server import ADMIN_PASSWORD, RunningServer, start_server

pytestmark = pytest.mark.skipif(
    not sys.platform.startswith("linux"), reason="reads sockets from Linux's /proc"
)

_LISTEN, _ESTABLISHED = "0A", "01"


def _port(server: RunningServer) -> int:
    return int(server.url.rsplit(":", 1)[1])


def _sockets(port: int, state: str) -> set[int]:
    """Inodes of the loopback TCP sockets on local ``port`` in ``state``."""
    found = set()
    for line in Path("/proc/net/tcp").read_text().splitlines()[1:]:
        fields = line.split()
        if int(fields[1].split(":")[1], 16) == port and fields[3] == state:
            found.add(int(fields[9]))
    return found


def _holders(inodes: set[int], pids: list[int]) -> Counter[int]:
    """How many of the sockets ``inodes`` each process of ``pids`` holds."""
    held: Counter[int] = Counter()
    for pid in pids:
        try:
            links = [os.readlink(f) for f in Path(f"/proc/{pid}/fd").iterdir()]
        except OSError:
            continue
        for link in links:
            if link.startswith("socket:[") and int(link[8:-1]) in inodes:
                held[pid] += 1
    return held


def _workers(server: RunningServer) -> list[int]:
    """The supervisor's live child processes."""
    children = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                stat = (entry / "stat").read_text()
            except OSError:
                continue
            fields = stat.rsplit(")", 1)[1].split()
            if int(fields[1]) == server.process.pid and fields[0] != "Z":
                children.append(int(entry.name))
    return children


def _server_up(*args: str, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    """``keybroker server up ARGS``, expected to stop on its own."""
    return subprocess.run(
        [sys.executable, "-m", "keybroker", "server", "up", *args],
        capture_output=True,
        text=True,
        env=env,
        timeout=60,
    )


def _listening_workers(server: RunningServer) -> Counter[int]:
    return _holders(_sockets(_port(server), _LISTEN), _workers(server))


@pytest.fixture
def two_workers(tmp_path: Path) -> Iterator[RunningServer]:
    server = start_server(tmp_path, args=("--workers", "2"))
    deadline = time.monotonic() + 30
    while len(_listening_workers(server)) < 2 and time.monotonic() < deadline:
        time.sleep(0.2)
    yield server
    server.stop()


def test_each_worker_listens_on_a_socket_of_its_own(two_workers: RunningServer) -> None:
    port = _port(two_workers)
    assert len(_sockets(port, _LISTEN)) == 2  # two sockets on one port, not one shared
    assert sorted(_listening_workers(two_workers).values()) == [1, 1]


def test_a_burst_of_keep_alive_connections_reaches_both_workers(
    two_workers: RunningServer,
) -> None:
    token = two_workers.sign_in("admin", ADMIN_PASSWORD)
    port = _port(two_workers)
    request = (
        f"GET /api/v1/auth/whoami HTTP/1.1\r\nHost: 127.0.0.1\r\n"
        f"Authorization: Bearer {token}\r\n\r\n"
    ).encode()
    connections = [socket.create_connection(("127.0.0.1", port)) for _ in range(16)]
    try:
        for connection in connections:
            connection.sendall(request)
        answers = [connection.recv(65536) for connection in connections]
        assert all(answer.startswith(b"HTTP/1.1 200") for answer in answers)
        held = _holders(_sockets(port, _ESTABLISHED), _workers(two_workers))
        # the kernel places connections by their addresses: all 16 on one of two
        # sockets has a chance of 1 in 32,768; one shared socket often does it
        assert len(held) == 2 and sum(held.values()) == 16, held
    finally:
        for connection in connections:
            connection.close()


def test_a_worker_that_dies_is_started_again(two_workers: RunningServer) -> None:
    victim = next(iter(_listening_workers(two_workers)))
    os.kill(victim, signal.SIGKILL)
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        listening = _listening_workers(two_workers)
        if len(listening) == 2 and victim not in listening:
            break
        time.sleep(0.2)
    else:
        pytest.fail(f"no worker took the dead one's place: {_listening_workers(two_workers)}")
    for _ in range(10):
        assert two_workers.request("GET", "/health")[0] == 200
    assert "starting it again" in two_workers.log_text()


def test_sigterm_stops_every_worker_and_frees_the_port(two_workers: RunningServer) -> None:
    workers = list(_listening_workers(two_workers))
    two_workers.process.send_signal(signal.SIGTERM)
    assert two_workers.process.wait(timeout=40) == 0
    assert not any(Path(f"/proc/{pid}").exists() for pid in workers)
    with socket.socket() as probe:
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        probe.bind(("127.0.0.1", _port(two_workers)))


@pytest.mark.parametrize("workers", ["1", "2"])
def test_a_port_in_use_is_refused_before_the_database_is_touched(
    tmp_path: Path, workers: str
) -> None:
    data_dir = tmp_path / "data"
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        env = {k: v for k, v in os.environ.items() if not k.startswith("KEYBROKER_SERVER_")}
        env.update(KEYBROKER_SERVER_DATA_DIR=str(data_dir), KEYBROKER_ADMIN_PASSWORD="x" * 16)
        result = _server_up("--port", str(port), "--workers", workers, env=env)
    assert result.returncode == 2, result
    assert result.stderr.strip().splitlines() == [
        f"Error: cannot listen on 127.0.0.1:{port}: address already in use; "
        "stop what listens there or choose another port"
    ]
    assert not (data_dir / "server.db").exists()


def test_a_second_server_cannot_share_a_running_servers_port(
    two_workers: RunningServer, tmp_path: Path
) -> None:
    env = dict(two_workers.env, KEYBROKER_SERVER_DATA_DIR=str(tmp_path / "other"))
    result = _server_up("--port", str(_port(two_workers)), "--workers", "2", env=env)
    assert result.returncode == 2 and "address already in use" in result.stderr, result
    assert sorted(_listening_workers(two_workers).values()) == [1, 1]
    assert two_workers.request("GET", "/health")[0] == 200


@pytest.mark.parametrize(
    ("host", "reason"),
    [
        ("192.0.2.1", "cannot assign requested address; give an address of this machine"),
        ("no-such-host.invalid", "check --host and --port"),
    ],
)
def test_an_address_that_cannot_be_bound_is_refused_in_one_line(
    tmp_path: Path, host: str, reason: str
) -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith("KEYBROKER_SERVER_")}
    env.update(KEYBROKER_SERVER_DATA_DIR=str(tmp_path / "data"))
    result = _server_up("--host", host, "--insecure-listen", "--workers", "2", env=env)
    assert result.returncode == 2, result
    [line] = result.stderr.strip().splitlines()
    assert line.startswith(f"Error: cannot listen on {host}:8080: ") and reason in line, line
    assert not (tmp_path / "data" / "server.db").exists()


def test_workers_that_cannot_start_stop_the_server_instead_of_restarting(tmp_path: Path) -> None:
    script = (
        "import sys\n"
        "from keybroker.server.workers import bind_sockets, serve\n"
        "sockets = bind_sockets('127.0.0.1', 0, 1)\n"
        "sys.exit(serve({'app': 'keybroker_no_such_module:app', 'log_level': 'info'}, sockets))\n"
    )
    result = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, timeout=120
    )
    assert result.returncode == 1, result
    assert "could not start; stopping the server" in result.stderr
    assert "starting it again" not in result.stderr
