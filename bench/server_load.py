"""Load benchmark of the keybroker server: requests/s, p50 and p99 of whole HTTP requests.

Starts ``keybroker server up`` as real processes (REPLICAS processes of WORKERS
uvicorn workers each, on one database), seeds USERS accounts and CONNECTORS
connectors straight into the database (the connectors through the store, sealed
with the server's key, owned by ``admin``), signs in, and drives the server from
other processes: Debian's ``wrk`` when it is installed (``apt-get install wrk``),
else an asyncio client in this process. Measures, each after a short warm-up:

- ``GET /health`` (no authentication, no database),
- ``GET /api/v1/users?limit=50`` authenticated with a session token (one indexed
  token lookup plus one page query per request),
- ``GET /api/v1/auth/whoami`` with a session token and with a service account's API
  key (an API key costs one more indexed query: its address's refused-key count).
- ``GET /api/v1/connectors?limit=50``: the first page of 1,000 connectors,
- ``POST /api/v1/connectors/{name}/clients``: a connector client issued from a
  Kubernetes bearer-token connector (no cloud call: the "credential cache" is warm
  by construction, so this measures the server's own path: authentication,
  authorization, the sealed row, the plugin's derivation, the audit write).

The connector cases run when the server's OpenAPI document has their routes.
With several replicas every endpoint is driven by one ``wrk`` per replica, in
parallel, the connections split between them (wrk reaches one host per run);
their request rates add up and the p50/p99 shown are the worst of the replicas'.

Beside the rates, ``cpu ms/req`` is the CPU time the server processes (every
replica and worker) spent per answered request: a figure that holds up better
than req/s when other work shares the machine. ``load cpu`` is what the load
generator itself spent per request (wrk, or this process's asyncio client): on a
2-core machine it is taken from the server. ``busiest`` is the busiest server
process's share of the server's CPU time: 50% with two workers means an even split.

    uv run python bench/server_load.py                       # SQLite in a temp dir
    uv run python bench/server_load.py --database-url postgresql+psycopg://postgres@127.0.0.1:5432/kb_bench
    uv run python bench/server_load.py --replicas 2 --database-url ...
    uv run python bench/server_load.py --only connectors --repeat 5   # medians of 5 runs
    uv run python bench/server_load.py --only connectors --rate 500   # 500 req/s offered

``wrk`` keeps every connection busy, so it measures the most a server answers and
the latency at that saturation. ``--rate R`` offers R requests/s instead, evenly
spaced (open loop, an asyncio client in this process): the p99 at the load a
target names.

A PostgreSQL or MySQL database named in the URL is dropped and created afresh.
Target for the connector list on a 2-core machine: 500 requests/s with p99 under
50 ms for pages of 50 out of 1,000 (aim: 1,000/s). With N connections open, the
mean latency is N / rate (Little's law): the default 16 connections make 500/s
mean 32 ms per request; 32 connections would make a 50 ms p99 need well over
640/s.
"""

from __future__ import annotations

import argparse
import asyncio
import base64
import json
import os
import re
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request
import uuid
from pathlib import Path

ADMIN_PASSWORD = "bench-admin-password-1"


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def recreate_database(url: str) -> None:
    """Drop and create the database a PostgreSQL or MySQL URL names."""
    from sqlalchemy import create_engine, text
    from sqlalchemy.engine import make_url

    parsed = make_url(url)
    name = parsed.database
    if not name or not re.fullmatch(r"[A-Za-z0-9_]+", name):
        raise SystemExit(f"give a database name of letters, digits and _ in {url}")
    admin_db = "postgres" if parsed.get_backend_name() == "postgresql" else ""
    admin = create_engine(parsed.set(database=admin_db), isolation_level="AUTOCOMMIT")
    with admin.connect() as connection:
        force = " WITH (FORCE)" if parsed.get_backend_name() == "postgresql" else ""
        connection.execute(text(f"DROP DATABASE IF EXISTS {name}{force}"))
        connection.execute(text(f"CREATE DATABASE {name}"))
    admin.dispose()


def seed_users(url: str, count: int) -> None:
    """Insert ``count`` users directly (one shared password hash: no KDF per row)."""
    from sqlalchemy import create_engine, insert

    from keybroker.server.database import utcnow
    from keybroker.server.passwords import hash_password
    from keybroker.server.schema import users

    shared_hash = hash_password("bench-user-password-1")
    now = utcnow()
    rows = [
        {
            "id": str(uuid.uuid4()),
            "name": f"user{index:05d}",
            "kind": "user",
            "password_hash": shared_hash,
            "is_admin": False,
            "active": True,
            "description": "",
            "owner_id": None,
            "created": now,
            "updated": now,
        }
        for index in range(count)
    ]
    engine = create_engine(url)
    with engine.begin() as connection:
        connection.execute(insert(users), rows)
    engine.dispose()


#: the cluster every seeded connector reaches (never contacted: issuing a bearer-token
#: client needs no call to it)
CLUSTER_SERVER = "https://10.0.0.1:6443"
CLUSTER_ID = "10.0.0.1:6443"


def seed_connectors(url: str, encryption_key: str, count: int, owner: str) -> None:
    """Store ``count`` Kubernetes bearer-token connectors, sealed with the server's key."""
    from pydantic import SecretStr

    from keybroker.connector import Connector
    from keybroker.store.crypto import SecretBox, parse_key
    from keybroker.store.sql import SQLConnectorStore

    store = SQLConnectorStore(url, SecretBox(parse_key(encryption_key, "the bench")))
    try:
        for index in range(count):
            store.create(
                Connector(
                    name=f"bench-{index:05d}",
                    connector_type="kubernetes",
                    auth_method="token",
                    resource_type="kubernetes-cluster",
                    resource_id=CLUSTER_ID,
                    configuration={
                        "server": CLUSTER_SERVER,
                        "certificate_authority": None,
                        "insecure": False,
                    },
                    secrets={"token": SecretStr(f"bench-token-{index}")},
                    secret_names=["token"],
                    labels={"team": f"t{index % 10}"},
                    owner=owner,
                    shared=index % 2 == 0,
                )
            )
    finally:
        store.close()


def refresh_planner_statistics(url: str) -> None:
    """Have the database's planner count the seeded rows, as its autovacuum would do
    within a minute of a bulk insert (PostgreSQL: ``autovacuum_naptime``).

    Without it PostgreSQL plans the first page of the 1,000 freshly inserted
    connectors as if the table held a few dozen: a sequential scan and a sort (1.3 ms
    a page) instead of the name index (0.1 ms). A team's store reaches its size over
    days, long analysed.
    """
    from sqlalchemy import create_engine, text
    from sqlalchemy.engine import make_url

    backend = make_url(url).get_backend_name()
    engine = create_engine(url)
    try:
        with engine.begin() as connection:
            for table in ("connectors", "users"):
                statement = "ANALYZE TABLE" if backend in ("mysql", "mariadb") else "ANALYZE"
                connection.execute(text(f"{statement} {table}"))
    finally:
        engine.dispose()


def start(env: dict[str, str], port: int, workers: int, log: Path) -> subprocess.Popen[bytes]:
    command = [
        sys.executable,
        "-m",
        "keybroker",
        "server",
        "up",
        "--port",
        str(port),
        "--workers",
        str(workers),
        "--no-access-log",
    ]
    with open(log, "wb") as handle:
        process = subprocess.Popen(command, stdout=handle, stderr=subprocess.STDOUT, env=env)
    deadline = time.monotonic() + 60
    while True:
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{port}/ready", timeout=1):
                return process
        except OSError:
            if process.poll() is not None or time.monotonic() > deadline:
                process.kill()
                raise SystemExit(f"the server did not start:\n{log.read_text()}") from None
            time.sleep(0.2)


def sign_in(port: int) -> str:
    body = json.dumps({"username": "admin", "password": ADMIN_PASSWORD}).encode()
    request = urllib.request.Request(
        f"http://127.0.0.1:{port}/api/v1/auth/sign-in",
        data=body,
        headers={"Content-Type": "application/json"},
    )
    with urllib.request.urlopen(request, timeout=30) as response:
        return str(json.load(response)["token"])


def service_account_key(port: int, token: str) -> str:
    """The first API key of a new service account ``bench-ci``."""
    request = urllib.request.Request(
        f"http://127.0.0.1:{port}/api/v1/service-accounts",
        data=json.dumps({"name": "bench-ci"}).encode(),
        headers={"Content-Type": "application/json", "Authorization": f"Bearer {token}"},
    )
    with urllib.request.urlopen(request, timeout=30) as response:
        return str(json.load(response)["key"])


# -- what the server spends ------------------------------------------------------------------


def _process_tree(root: int) -> list[int]:
    """``root`` and its descendants (uvicorn's worker processes), from /proc."""
    children: dict[int, list[int]] = {}
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
        except OSError:
            continue
        parent = int(stat.rsplit(")", 1)[1].split()[1])
        children.setdefault(parent, []).append(int(entry.name))
    found, pending = [], [root]
    while pending:
        pid = pending.pop()
        found.append(pid)
        pending.extend(children.get(pid, []))
    return found


def cpu_by_process(roots: list[int]) -> dict[int, float]:
    """User plus system CPU seconds of each server process so far (none without /proc)."""
    tick = os.sysconf("SC_CLK_TCK") if hasattr(os, "sysconf") else 100
    found = {}
    for root in roots:
        for pid in _process_tree(root):
            try:
                fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
            except OSError:
                continue
            found[pid] = (int(fields[11]) + int(fields[12])) / tick  # utime, stime
    return found


def load_cpu_seconds() -> float:
    """CPU seconds the load generator spent so far: this process and its ``wrk`` children."""
    import resource

    children = resource.getrusage(resource.RUSAGE_CHILDREN)
    return time.process_time() + children.ru_utime + children.ru_stime


def busiest_share(before: dict[int, float], after: dict[int, float]) -> float:
    """The busiest server process's share of the CPU all of them spent in between: 0.5
    means two workers shared the load evenly, 1.0 that one did all of it."""
    spent = [after[pid] - before.get(pid, 0.0) for pid in after]
    total = sum(spent)
    return max(spent) / total if total > 0 else 0.0


# -- load generators ------------------------------------------------------------------------


class Case:
    """One endpoint to drive: its label, method, path and JSON body (or None)."""

    def __init__(
        self, label: str, path: str, token: str | None, method: str = "GET", body: object = None
    ) -> None:
        self.label, self.path, self.token, self.method = label, path, token, method
        self.body = None if body is None else json.dumps(body)


def _wrk_seconds(text: str) -> float:
    match = re.fullmatch(r"([\d.]+)(us|ms|s|m)", text)
    if not match:
        return float("nan")
    value, unit = float(match.group(1)), match.group(2)
    return value * {"us": 1e-6, "ms": 1e-3, "s": 1.0, "m": 60.0}[unit]


def _percentile(output: str, percent: int) -> float:
    """A latency percentile from wrk's ``--latency`` distribution, in seconds."""
    found = re.search(rf"^\s+{percent}%\s+(\S+)\s*$", output, flags=re.MULTILINE)
    return _wrk_seconds(found.group(1)) if found else float("nan")


def _wrk_script(case: Case, directory: Path) -> list[str]:
    """wrk options for the case's method and body (a Lua script for anything but GET)."""
    if case.method == "GET" and case.body is None:
        return []
    script = directory / "request.lua"
    lines = [f"wrk.method = {json.dumps(case.method)}"]
    if case.body is not None:
        lines += [
            f"wrk.body = {json.dumps(case.body)}",
            'wrk.headers["Content-Type"] = "application/json"',
        ]
    script.write_text("\n".join(lines) + "\n")
    return ["-s", str(script)]


def run_wrk(case: Case, ports: list[int], connections: int, seconds: int) -> dict[str, float]:
    """One wrk per replica, connections split between them, run at once; figures combined."""
    per = max(1, connections // len(ports))
    headers = ["-H", f"Authorization: Bearer {case.token}"] if case.token else []
    with tempfile.TemporaryDirectory() as directory:
        script = _wrk_script(case, Path(directory))
        processes = [
            subprocess.Popen(
                [
                    "wrk",
                    "-t1",
                    f"-c{per}",
                    f"-d{seconds}s",
                    "--latency",
                    *headers,
                    *script,
                    f"http://127.0.0.1:{port}{case.path}",
                ],
                stdout=subprocess.PIPE,
                stderr=subprocess.STDOUT,
                text=True,
            )
            for port in ports
        ]
        outputs = [p.communicate()[0] for p in processes]
    rps = p50 = p99 = 0.0
    errors = requests = 0
    for output in outputs:
        found = re.search(r"Requests/sec:\s+([\d.]+)", output)
        count = re.search(r"(\d+) requests in", output)
        if not found or not count:
            raise SystemExit(f"wrk failed:\n{output}")
        rps += float(found.group(1))
        requests += int(count.group(1))
        p50 = max(p50, _percentile(output, 50))
        p99 = max(p99, _percentile(output, 99))
        bad = re.search(r"Non-2xx or 3xx responses: (\d+)", output)
        errors += int(bad.group(1)) if bad else 0
    return {"rps": rps, "p50": p50, "p99": p99, "errors": errors, "requests": requests}


def _request_bytes(case: Case) -> bytes:
    """The case as one HTTP/1.1 keep-alive request."""
    head = f"{case.method} {case.path} HTTP/1.1\r\nHost: 127.0.0.1\r\n"
    if case.token:
        head += f"Authorization: Bearer {case.token}\r\n"
    body = (case.body or "").encode()
    if case.body is not None:
        head += f"Content-Type: application/json\r\nContent-Length: {len(body)}\r\n"
    return f"{head}\r\n".encode() + body


async def _exchange(
    reader: asyncio.StreamReader, writer: asyncio.StreamWriter, request: bytes
) -> bool:
    """Send one request and read its whole answer; whether the status was 2xx."""
    writer.write(request)
    answer = await reader.readuntil(b"\r\n\r\n")
    length = int(re.search(rb"(?i)content-length: (\d+)", answer).group(1))  # type: ignore[union-attr]
    await reader.readexactly(length)
    return answer.startswith(b"HTTP/1.1 2")


async def _client(port: int, case: Case, until: float, latencies: list[float]) -> int:
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    request = _request_bytes(case)
    errors = 0
    while time.perf_counter() < until:
        start = time.perf_counter()
        ok = await _exchange(reader, writer, request)
        latencies.append(time.perf_counter() - start)
        errors += not ok
    writer.close()
    return errors


def _figures(latencies: list[float], elapsed: float, errors: int) -> dict[str, float]:
    """Rate, p50, p99 and counts of the answers an asyncio client timed."""
    ordered = sorted(latencies)
    return {
        "rps": len(ordered) / elapsed,
        "p50": statistics.median(ordered),
        "p99": ordered[int(len(ordered) * 0.99) - 1],
        "errors": errors,
        "requests": len(ordered),
    }


async def _drive_at_rate(
    case: Case, ports: list[int], connections: int, seconds: int, rate: float
) -> dict[str, float]:
    """Open-loop load: request i is due at i / rate seconds, whatever came before.

    Each request takes a free connection of the pool (waiting for one if all are
    busy) and its latency counts from when it was *due*, so a server that falls
    behind is charged for the wait (no coordinated omission). The pool hands out
    the connection freed last, as HTTP clients' pools do (urllib3's, httpx's): a
    worker process that answers sooner gets more of the requests, wherever the
    kernel happened to place the connections.
    """
    pool: asyncio.Queue[tuple[asyncio.StreamReader, asyncio.StreamWriter]] = asyncio.LifoQueue()
    for index in range(connections):
        pool.put_nowait(await asyncio.open_connection("127.0.0.1", ports[index % len(ports)]))
    request = _request_bytes(case)
    latencies: list[float] = []
    errors = 0

    async def one(due: float) -> None:
        nonlocal errors
        connection = await pool.get()
        try:
            errors += not await _exchange(*connection, request)
        finally:
            pool.put_nowait(connection)
        latencies.append(time.perf_counter() - due)

    tasks = []
    start = time.perf_counter()
    for index in range(int(rate * seconds)):
        due = start + index / rate
        delay = due - time.perf_counter()
        if delay > 0:
            await asyncio.sleep(delay)
        tasks.append(asyncio.create_task(one(due)))
    await asyncio.gather(*tasks)
    elapsed = time.perf_counter() - start
    while not pool.empty():
        pool.get_nowait()[1].close()
    return _figures(latencies, elapsed, errors)


async def _drive(case: Case, ports: list[int], connections: int, seconds: int) -> dict[str, float]:
    latencies: list[float] = []
    until = time.perf_counter() + seconds
    tasks = [
        _client(ports[index % len(ports)], case, until, latencies) for index in range(connections)
    ]
    start = time.perf_counter()
    errors = sum(await asyncio.gather(*tasks))
    elapsed = time.perf_counter() - start
    return _figures(latencies, elapsed, errors)


def measure(
    tool: str, case: Case, ports: list[int], connections: int, seconds: int, rate: float = 0
) -> dict[str, float]:
    if rate:
        return asyncio.run(_drive_at_rate(case, ports, connections, seconds, rate))
    if tool == "wrk":
        return run_wrk(case, ports, connections, seconds)
    return asyncio.run(_drive(case, ports, connections, seconds))


def served_routes(port: int) -> set[tuple[str, str]]:
    """(method, path template) pairs of the server's OpenAPI document."""
    with urllib.request.urlopen(f"http://127.0.0.1:{port}/openapi.json", timeout=30) as response:
        document = json.load(response)
    return {
        (method.upper(), path)
        for path, operations in document.get("paths", {}).items()
        for method in operations
    }


def cases(token: str, api_key: str | None, routes: set[tuple[str, str]]) -> list[Case]:
    """The endpoints to drive; the connector ones only where the server has them."""
    found = [
        Case("GET /health", "/health", None),
        Case("GET /api/v1/users?limit=50 (bearer)", "/api/v1/users?limit=50", token),
        Case("GET /api/v1/auth/whoami (session)", "/api/v1/auth/whoami", token),
    ]
    if api_key is not None:
        found.append(Case("GET /api/v1/auth/whoami (API key)", "/api/v1/auth/whoami", api_key))
    if ("GET", "/api/v1/connectors") in routes:
        found.append(
            Case("GET /api/v1/connectors?limit=50 (bearer)", "/api/v1/connectors?limit=50", token)
        )
    else:
        print("(no GET /api/v1/connectors on this server: the connector list is not measured)")
    clients = next(
        (
            p
            for m, p in routes
            if m == "POST" and re.fullmatch(r"/api/v1/connectors/\{[^}]+\}/clients", p)
        ),
        None,
    )
    if clients:
        found.append(
            Case(
                "POST /api/v1/connectors/{name}/clients",
                "/api/v1/connectors/bench-00000/clients",
                token,
                method="POST",
                body={
                    "resource_type": "kubernetes-cluster",
                    "resource_id": CLUSTER_ID,
                    "purpose": "issue",
                },
            )
        )
    else:
        print("(no POST /api/v1/connectors/{name}/clients: issuing clients is not measured)")
    return found


def print_figures(label: str, figures: dict[str, float]) -> None:
    """One line of the table: rate, p50 and p99 in ms, CPU ms per request, errors."""
    print(
        f"{label:42} {figures['rps']:7.0f} {figures['p50'] * 1000:7.1f} "
        f"{figures['p99'] * 1000:7.1f} {figures['cpu'] * 1000:10.2f} "
        f"{figures['load_cpu'] * 1000:8.2f} {figures['busiest'] * 100:8.0f}% "
        f"{int(figures['errors']):6d}",
        flush=True,
    )


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--database-url", help="default: SQLite in a temporary directory")
    parser.add_argument("--workers", type=int, default=2, help="uvicorn workers per replica")
    parser.add_argument("--replicas", type=int, default=1, help="server processes")
    parser.add_argument("--users", type=int, default=1000)
    parser.add_argument("--connectors", type=int, default=1000)
    parser.add_argument("--connections", type=int, default=16, help="open connections in all")
    parser.add_argument("--seconds", type=int, default=10)
    parser.add_argument("--warm-up", type=int, default=2, help="seconds of load before each case")
    parser.add_argument(
        "--repeat",
        type=int,
        default=1,
        help="measure each case this many times; print the median rate and p99 too",
    )
    parser.add_argument(
        "--rate",
        type=float,
        default=0,
        help="offer this many requests/s, evenly spaced (open loop, latency counted from "
        "when each request was due) instead of as many as the connections allow",
    )
    parser.add_argument(
        "--database-threads",
        type=int,
        help="KEYBROKER_SERVER_DATABASE_THREADS of the servers (default: the server's own)",
    )
    parser.add_argument("--tool", choices=["auto", "wrk", "asyncio"], default="auto")
    parser.add_argument(
        "--only", help="comma-separated words: run the cases whose label holds one of them"
    )
    options = parser.parse_args()
    tool = options.tool
    if tool == "auto":
        tool = "wrk" if shutil.which("wrk") else "asyncio"

    with tempfile.TemporaryDirectory() as directory:
        url = options.database_url or f"sqlite:///{directory}/server.db"
        if not url.startswith("sqlite"):
            recreate_database(url)
        key = base64.urlsafe_b64encode(os.urandom(32)).decode()
        env = {k: v for k, v in os.environ.items() if not k.startswith("KEYBROKER_SERVER_")}
        env.update(
            KEYBROKER_SERVER_DATA_DIR=directory,
            KEYBROKER_SERVER_DATABASE_URL=url,
            KEYBROKER_SERVER_ENCRYPTION_KEY=key,
            KEYBROKER_ADMIN_PASSWORD=ADMIN_PASSWORD,
        )
        if options.database_threads is not None:
            env["KEYBROKER_SERVER_DATABASE_THREADS"] = str(options.database_threads)
        subprocess.run(
            [sys.executable, "-m", "keybroker", "server", "migrate"],
            env=env,
            check=True,
            capture_output=True,
        )
        seeded = time.perf_counter()
        seed_connectors(url, key, options.connectors, owner="admin")
        seeded = time.perf_counter() - seeded
        ports = [free_port() for _ in range(options.replicas)]
        processes = []
        try:
            for index, port in enumerate(ports):
                processes.append(
                    start(env, port, options.workers, Path(directory) / f"{index}.log")
                )
            token = sign_in(ports[0])  # the first start created the admin
            seed_users(url, options.users)  # after: the admin is made only in an empty database
            refresh_planner_statistics(url)
            routes = served_routes(ports[0])
            api_key = (
                service_account_key(ports[0], token)
                if ("POST", "/api/v1/service-accounts") in routes
                else None
            )
            selected = cases(token, api_key, routes)
            if options.only:
                words = options.only.split(",")
                selected = [c for c in selected if any(w in c.label for w in words)]
            from sqlalchemy.engine import make_url

            backend = make_url(url).get_backend_name()
            print(
                f"keybroker server: {backend}, {options.replicas} replica(s) x {options.workers} "
                f"worker(s), {options.users} users, {options.connectors} connectors (stored in "
                f"{seeded:.1f} s), {options.connections} connections, {options.seconds} s each, "
                + (
                    f"{options.rate:.0f} requests/s offered (open loop, asyncio)"
                    if options.rate
                    else f"load from {tool}"
                )
            )
            print(
                f"{'endpoint':42} {'req/s':>7} {'p50 ms':>7} {'p99 ms':>7} {'cpu ms/req':>10} "
                f"{'load cpu':>8} {'busiest':>9} {'errors':>6}"
            )
            roots = [process.pid for process in processes]
            for case in selected:
                if options.warm_up:
                    measure(tool, case, ports, options.connections, options.warm_up)
                runs = []
                for _ in range(options.repeat):
                    before, load_before = cpu_by_process(roots), load_cpu_seconds()
                    figures = measure(
                        tool, case, ports, options.connections, options.seconds, options.rate
                    )
                    after, answered = cpu_by_process(roots), max(1, figures["requests"])
                    spent = sum(after.values()) - sum(before.values())
                    figures["cpu"] = spent / answered
                    figures["load_cpu"] = (load_cpu_seconds() - load_before) / answered
                    figures["busiest"] = busiest_share(before, after)
                    runs.append(figures)
                    print_figures(case.label, figures)
                if options.repeat > 1:
                    median = {
                        key: statistics.median(run[key] for run in runs)
                        for key in ("rps", "p50", "p99", "cpu", "load_cpu", "busiest")
                    }
                    median["errors"] = sum(run["errors"] for run in runs)
                    print_figures(f"  median of {options.repeat}", median)
                    print(
                        f"  {'worst p99, lowest rate':40} "
                        f"{min(r['rps'] for r in runs):7.0f} {'':7} "
                        f"{max(r['p99'] for r in runs) * 1000:7.1f}",
                        flush=True,
                    )
        finally:
            for process in processes:
                process.terminate()
            for process in processes:
                try:
                    process.wait(timeout=15)
                except subprocess.TimeoutExpired:
                    process.kill()
    return 0


if __name__ == "__main__":
    sys.exit(main())
