"""Device flow benchmark: the browser sign-in as a user lives it, whole CLI processes, cold.

Starts ``keybroker server up`` (SQLite, in a temporary directory, polling interval
1 s), then N times: runs ``keybroker connect --url URL --no-browser``, measures until
it shows the code, approves over HTTP the way a browser without JavaScript would
(sign in, enter the code, approve), and measures until the command has connected.
Then times ``keybroker authorized-device list`` and ``keybroker status`` as fresh
processes. Prints medians and ranges.

    uv run python bench/device_flow.py [--runs 5]

The wait after the approval is bounded by the polling interval the server asks for
(5 s by default, 1 s here); the rest is process start, two HTTP requests and a file
write.
"""

from __future__ import annotations

import argparse
import http.cookiejar
import os
import re
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.parse
import urllib.request

PASSWORD = "bench-admin-password-1"


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def start_server(directory: str) -> tuple[subprocess.Popen[bytes], str]:
    port = free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith("KEYBROKER_")}
    env.update(
        KEYBROKER_SERVER_DATA_DIR=os.path.join(directory, "server"),
        KEYBROKER_ADMIN_PASSWORD=PASSWORD,
        KEYBROKER_SERVER_DEVICE_POLL_INTERVAL_SECONDS="1",
        KEYBROKER_SERVER_DEVICE_REQUESTS_PER_ADDRESS="1000",
    )
    process = subprocess.Popen(
        [sys.executable, "-m", "keybroker", "server", "up", "--port", str(port), "--no-access-log"],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        try:
            with urllib.request.urlopen(url + "/health", timeout=1):
                return process, url
        except OSError:
            time.sleep(0.1)
    process.kill()
    raise SystemExit("the server did not start")


def approve(url: str, user_code: str) -> None:
    """Sign in on the device pages and approve ``user_code``, as a browser would."""
    opener = urllib.request.build_opener(
        urllib.request.HTTPCookieProcessor(http.cookiejar.CookieJar())
    )

    def fetch(path: str, fields: dict[str, str] | None = None) -> str:
        data = urllib.parse.urlencode(fields).encode() if fields is not None else None
        with opener.open(url + path, data=data, timeout=30) as response:
            return str(response.read().decode())

    def csrf(page: str) -> str:
        match = re.search(r'name="csrf_token" value="([^"]+)"', page)
        if not match:
            raise SystemExit("no form on the page")
        return match.group(1)

    page = fetch("/device")
    page = fetch(
        "/device/sign-in",
        {"csrf_token": csrf(page), "username": "admin", "password": PASSWORD, "user_code": ""},
    )
    page = fetch("/device", {"csrf_token": csrf(page), "user_code": user_code})
    fields = {"csrf_token": csrf(page), "user_code": user_code, "decision": "approve"}
    if "Device approved" not in fetch("/device/decision", fields):
        raise SystemExit("the approval failed")


def connect_once(url: str, env: dict[str, str]) -> tuple[float, float]:
    """Seconds until the code shows, and from the approval until connected."""
    started = time.perf_counter()
    process = subprocess.Popen(
        [sys.executable, "-m", "keybroker", "connect", "--url", url, "--no-browser"],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    assert process.stderr is not None
    code = None
    while True:
        line = process.stderr.readline()
        if not line:
            raise SystemExit("connect ended before showing a code")
        found = re.match(r"^\s{4}([A-Z]{4}-[A-Z]{4})$", line)
        code = found.group(1) if found else code
        if line.startswith("Waiting for the approval"):
            break
    shown = time.perf_counter() - started
    assert code is not None
    approve(url, code)
    approved = time.perf_counter()
    process.communicate(timeout=60)
    if process.returncode != 0:
        raise SystemExit("connect failed")
    return shown, time.perf_counter() - approved


def timed(argv: list[str], env: dict[str, str], runs: int) -> list[float]:
    subprocess.run(argv, env=env, capture_output=True, check=True)
    times = []
    for _ in range(runs):
        begin = time.perf_counter()
        subprocess.run(argv, env=env, capture_output=True, check=True)
        times.append(time.perf_counter() - begin)
    return times


def report(name: str, values: list[float]) -> None:
    print(
        f"{name:<44} median {statistics.median(values) * 1000:7.0f} ms  "
        f"(min {min(values) * 1000:.0f}, max {max(values) * 1000:.0f}, n={len(values)})"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=5)
    runs = parser.parse_args().runs
    with tempfile.TemporaryDirectory() as directory:
        server, url = start_server(directory)
        try:
            env = {k: v for k, v in os.environ.items() if not k.startswith("KEYBROKER_")}
            env.pop("DISPLAY", None)
            env["KEYBROKER_CONFIG_DIR"] = os.path.join(directory, "client")
            shown, connected = [], []
            for _ in range(runs):
                to_code, to_connected = connect_once(url, env)
                shown.append(to_code)
                connected.append(to_connected)
            cli = [sys.executable, "-m", "keybroker"]
            report("connect: start until the code shows", shown)
            report("connect: approval until connected", connected)
            report("authorized-device list", timed([*cli, "authorized-device", "list"], env, runs))
            report("status", timed([*cli, "status"], env, runs))
        finally:
            server.terminate()
            server.wait(timeout=30)


if __name__ == "__main__":
    main()
