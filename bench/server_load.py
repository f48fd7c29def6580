"""Load benchmark of the keybroker server: requests/s, p50 and p99 of whole HTTP requests.

Starts ``keybroker server up`` as real processes (REPLICAS processes of WORKERS
uvicorn workers each, on one database), seeds USERS accounts straight into the
database, signs in, and drives the server from other processes: Debian's ``wrk``
when it is installed (``apt-get install wrk``), else an asyncio client in this
process. Measures:

- ``GET /health`` (no authentication, no database),
- ``GET /api/v1/users?limit=50`` authenticated with a session token (one indexed
  token lookup plus one page query per request),
- ``GET /api/v1/auth/whoami`` with a session token and with a service account's API
  key (an API key costs one more indexed query: its address's refused-key count).

    uv run python bench/server_load.py                       # SQLite in a temp dir
    uv run python bench/server_load.py --database-url postgresql+psycopg://postgres@127.0.0.1:5432/kb_bench
    uv run python bench/server_load.py --replicas 2 --database-url ...

A PostgreSQL or MySQL database named in the URL is dropped and created afresh.
Target for the connector list of the next phase, on a 2-core machine: 500
requests/s with p99 under 50 ms for pages of 50 out of 1,000.
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


# -- load generators ------------------------------------------------------------------------


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


def run_wrk(urls: list[str], token: str | None, connections: int, seconds: int) -> dict[str, float]:
    """One wrk per URL (replica), connections split between them; figures combined."""
    per = max(1, connections // len(urls))
    headers = ["-H", f"Authorization: Bearer {token}"] if token else []
    processes = [
        subprocess.Popen(
            ["wrk", "-t1", f"-c{per}", f"-d{seconds}s", "--latency", *headers, url],
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
        )
        for url in urls
    ]
    outputs = [p.communicate()[0] for p in processes]
    rps = p50 = p99 = 0.0
    errors = 0
    for output in outputs:
        found = re.search(r"Requests/sec:\s+([\d.]+)", output)
        if not found:
            raise SystemExit(f"wrk failed:\n{output}")
        rps += float(found.group(1))
        p50 = max(p50, _percentile(output, 50))
        p99 = max(p99, _percentile(output, 99))
        bad = re.search(r"Non-2xx or 3xx responses: (\d+)", output)
        errors += int(bad.group(1)) if bad else 0
    return {"rps": rps, "p50": p50, "p99": p99, "errors": errors}


async def _client(
    host: str, port: int, path: str, token: str | None, until: float, latencies: list[float]
) -> int:
    reader, writer = await asyncio.open_connection(host, port)
    auth = f"Authorization: Bearer {token}\r\n" if token else ""
    request = f"GET {path} HTTP/1.1\r\nHost: {host}\r\n{auth}\r\n".encode()
    errors = 0
    while time.perf_counter() < until:
        start = time.perf_counter()
        writer.write(request)
        head = await reader.readuntil(b"\r\n\r\n")
        length = int(re.search(rb"(?i)content-length: (\d+)", head).group(1))  # type: ignore[union-attr]
        await reader.readexactly(length)
        latencies.append(time.perf_counter() - start)
        if not head.startswith(b"HTTP/1.1 2"):
            errors += 1
    writer.close()
    return errors


async def _drive(
    urls: list[str], token: str | None, connections: int, seconds: int
) -> dict[str, float]:
    from urllib.parse import urlsplit

    latencies: list[float] = []
    until = time.perf_counter() + seconds
    tasks = []
    for index in range(connections):
        parts = urlsplit(urls[index % len(urls)])
        path = parts.path + (f"?{parts.query}" if parts.query else "")
        tasks.append(_client(parts.hostname or "", parts.port or 80, path, token, until, latencies))
    start = time.perf_counter()
    errors = sum(await asyncio.gather(*tasks))
    elapsed = time.perf_counter() - start
    ordered = sorted(latencies)
    return {
        "rps": len(ordered) / elapsed,
        "p50": statistics.median(ordered),
        "p99": ordered[int(len(ordered) * 0.99) - 1],
        "errors": errors,
    }


def measure(
    tool: str, urls: list[str], token: str | None, connections: int, seconds: int
) -> dict[str, float]:
    if tool == "wrk":
        return run_wrk(urls, token, connections, seconds)
    return asyncio.run(_drive(urls, token, connections, seconds))


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--database-url", help="default: SQLite in a temporary directory")
    parser.add_argument("--workers", type=int, default=2, help="uvicorn workers per replica")
    parser.add_argument("--replicas", type=int, default=1, help="server processes")
    parser.add_argument("--users", type=int, default=1000)
    parser.add_argument("--connections", type=int, default=32)
    parser.add_argument("--seconds", type=int, default=10)
    parser.add_argument("--tool", choices=["auto", "wrk", "asyncio"], default="auto")
    options = parser.parse_args()
    tool = options.tool
    if tool == "auto":
        tool = "wrk" if shutil.which("wrk") else "asyncio"

    with tempfile.TemporaryDirectory() as directory:
        url = options.database_url or f"sqlite:///{directory}/server.db"
        if not url.startswith("sqlite"):
            recreate_database(url)
        env = {k: v for k, v in os.environ.items() if not k.startswith("KEYBROKER_SERVER_")}
        env.update(
            KEYBROKER_SERVER_DATA_DIR=directory,
            KEYBROKER_SERVER_DATABASE_URL=url,
            KEYBROKER_SERVER_ENCRYPTION_KEY=base64.urlsafe_b64encode(os.urandom(32)).decode(),
            KEYBROKER_ADMIN_PASSWORD=ADMIN_PASSWORD,
        )
        subprocess.run(
            [sys.executable, "-m", "keybroker", "server", "migrate"],
            env=env,
            check=True,
            capture_output=True,
        )
        ports = [free_port() for _ in range(options.replicas)]
        processes = []
        try:
            for index, port in enumerate(ports):
                processes.append(
                    start(env, port, options.workers, Path(directory) / f"{index}.log")
                )
            token = sign_in(ports[0])  # the first start created the admin
            seed_users(url, options.users)
            api_key = service_account_key(ports[0], token)
            from sqlalchemy.engine import make_url

            backend = make_url(url).get_backend_name()
            print(
                f"keybroker server: {backend}, {options.replicas} replica(s) x {options.workers} "
                f"worker(s), {options.users} users, {options.connections} connections, "
                f"{options.seconds} s each, load from {tool}"
            )
            print(f"{'endpoint':42} {'req/s':>9} {'p50 ms':>8} {'p99 ms':>8} {'errors':>7}")
            cases = [
                ("GET /health", "/health", None),
                ("GET /api/v1/users?limit=50 (bearer)", "/api/v1/users?limit=50", token),
                ("GET /api/v1/auth/whoami (session)", "/api/v1/auth/whoami", token),
                ("GET /api/v1/auth/whoami (API key)", "/api/v1/auth/whoami", api_key),
            ]
            for label, path, credential in cases:
                urls = [f"http://127.0.0.1:{port}{path}" for port in ports]
                figures = measure(tool, urls, credential, options.connections, options.seconds)
                print(
                    f"{label:42} {figures['rps']:9.0f} {figures['p50'] * 1000:8.1f} "
                    f"{figures['p99'] * 1000:8.1f} {int(figures['errors']):7d}"
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
