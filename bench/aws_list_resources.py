"""AWS benchmark: ``list-resources`` over many connectors against ``verify`` of one, cold.

Starts moto server and a proxy in front of it that delays every AWS call, then
registers N multi-instance S3 connectors (secret-key, endpoint_url at the
proxy) in a throwaway embedded store and times, as a user runs them (each run
a fresh ``keybroker`` process, so the interpreter, the SDK and its models are
loaded every time):

- ``keybroker connector verify aws-00``: one connector,
- ``keybroker connector list-resources``: all N, checked concurrently.

It prints the median, min and max of each (wall time, and CPU time, which a
busy machine disturbs far less) and the ratios of the medians. The
target (issue 8) is list-resources within 1.5x of one verify: the connectors
are checked in parallel, so the fan-out should cost little more than one
connector. ``--in-process`` adds the same two operations timed warm, in this
process, for comparison.

    uv run python bench/aws_list_resources.py [--connectors 20] [--latency-ms 100] [--runs 7]
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "tests"))

TARGET_RATIO = 1.5


@contextmanager
def proxy_process(target: str, delay_seconds: float) -> Iterator[str]:
    """The delaying proxy in its own process, so that it does not compete for our GIL."""
    process = subprocess.Popen(
        [sys.executable, str(ROOT / "bench" / "latency_proxy.py"), target, str(delay_seconds)],
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        if process.stdout is None:
            raise RuntimeError("the latency proxy has no stdout")
        yield process.stdout.readline().strip()
    finally:
        process.terminate()
        process.wait(timeout=10)


def keybroker_command() -> list[str]:
    """The installed console script next to this interpreter, else ``python -m keybroker``."""
    script = Path(sys.executable).with_name("keybroker")
    return [str(script)] if script.exists() else [sys.executable, "-m", "keybroker"]


def time_process(
    argv: list[str], env: dict[str, str], runs: int
) -> tuple[list[float], list[float]]:
    """Wall and CPU times of ``runs`` fresh processes of ``argv``, after one discarded run.

    The warm-up fills the operating system's file cache (as on any machine
    that ran keybroker before); every measured run still starts a new
    interpreter. CPU time (user + system of the process) hardly depends on
    what else the machine runs, wall time does.
    """
    walls, cpus = [], []
    for index in range(runs + 1):
        before = resource.getrusage(resource.RUSAGE_CHILDREN)
        start = time.perf_counter()
        result = subprocess.run(argv, env=env, capture_output=True, text=True)
        elapsed = time.perf_counter() - start
        after = resource.getrusage(resource.RUSAGE_CHILDREN)
        if result.returncode != 0:
            raise SystemExit(f"{' '.join(argv)} failed ({result.returncode}):\n{result.stderr}")
        if index:
            walls.append(elapsed)
            cpus.append(after.ru_utime - before.ru_utime + after.ru_stime - before.ru_stime)
    return walls, cpus


def summary(times: list[float]) -> str:
    """``median (min .. max)`` in seconds."""
    return f"{statistics.median(times):6.3f} s  (min {min(times):.3f}, max {max(times):.3f})"


def register_connectors(config_dir: Path, names: list[str], endpoint: str, region: str) -> None:
    """N multi-instance S3 connectors with their own keys, stored without verification."""
    from keybroker.connector import RegisterRequest
    from keybroker.service import ConnectorService
    from keybroker.settings import Settings

    service = ConnectorService(settings=Settings(config_dir=config_dir))
    for index, name in enumerate(names):
        service.register(
            RegisterRequest(
                name=name,
                connector_type="aws",
                auth_method="secret-key",
                resource_type="s3-bucket",
                verify=False,
                attributes={
                    "aws_access_key_id": f"AKIABENCH{index:011d}",
                    "aws_secret_access_key": "bench-secret",
                    "region": region,
                    "endpoint_url": endpoint,
                },
            )
        )


def in_process(config_dir: Path, first: str, runs: int) -> tuple[list[float], list[float]]:
    """Warm timings in this process: verify one, list-resources over all."""
    from keybroker.service import ConnectorService
    from keybroker.settings import Settings

    service = ConnectorService(settings=Settings(config_dir=config_dir))
    service.verify(first)  # warm-up: imports, models, first connection
    single, together = [], []
    for _ in range(runs):
        start = time.perf_counter()
        service.verify(first)
        single.append(time.perf_counter() - start)
        start = time.perf_counter()
        service.list_resources()
        together.append(time.perf_counter() - start)
    return single, together


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--connectors", type=int, default=20)
    parser.add_argument("--latency-ms", type=float, default=100.0)
    parser.add_argument("--buckets", type=int, default=5)
    parser.add_argument("--runs", type=int, default=7, help="measured processes per command")
    parser.add_argument("--in-process", action="store_true", help="also time both warm")
    options = parser.parse_args()

    import boto3

    from peers.moto_server import REGION, running_moto

    with (
        tempfile.TemporaryDirectory() as scratch,
        running_moto(Path(scratch) / "moto.log") as moto,
    ):
        s3 = boto3.client(
            "s3",
            region_name=REGION,
            endpoint_url=moto.url,
            aws_access_key_id="bench",
            aws_secret_access_key="bench",
        )
        for index in range(options.buckets):
            s3.create_bucket(
                Bucket=f"bench-{index}",
                CreateBucketConfiguration={"LocationConstraint": REGION},
            )
        with proxy_process(moto.url, options.latency_ms / 1000) as proxy:
            config_dir = Path(scratch) / "config"
            names = [f"aws-{index:02d}" for index in range(options.connectors)]
            register_connectors(config_dir, names, proxy, REGION)
            env = {k: v for k, v in os.environ.items() if not k.startswith(("AWS_", "KEYBROKER_"))}
            env["KEYBROKER_CONFIG_DIR"] = str(config_dir)
            base = keybroker_command()
            verify_times, verify_cpu = time_process(
                [*base, "connector", "verify", names[0]], env, options.runs
            )
            listing_argv = [*base, "connector", "list-resources", "-o", "json"]
            listing_times, listing_cpu = time_process(listing_argv, env, options.runs)
            reports = json.loads(
                subprocess.run(listing_argv, env=env, capture_output=True, text=True).stdout
            )
            failed = [r["connector_name"] for r in reports if r.get("error")]
            warm = in_process(config_dir, names[0], options.runs) if options.in_process else None

    ratio = statistics.median(listing_times) / statistics.median(verify_times)
    cpu_ratio = statistics.median(listing_cpu) / statistics.median(verify_cpu)
    listing_label = f"list-resources ({options.connectors} connectors)"
    print(f"latency added per AWS call: {options.latency_ms:.0f} ms; {options.runs} runs each")
    print(f"{'':40} wall time")
    print(f"keybroker connector {'verify (1 connector)':28} {summary(verify_times)}")
    print(f"keybroker connector {listing_label:28} {summary(listing_times)}")
    print(f"{'':40} CPU time (user + system)")
    print(f"keybroker connector {'verify (1 connector)':28} {summary(verify_cpu)}")
    print(f"keybroker connector {listing_label:28} {summary(listing_cpu)}")
    failures = f": {', '.join(failed)}" if failed else ""
    print(f"  {len(reports)} reports, {len(failed)} failed{failures}")
    verdict = "within" if ratio <= TARGET_RATIO else "OVER"
    print(
        f"list-resources / verify (medians): wall {ratio:.2f}x, {verdict} the "
        f"{TARGET_RATIO}x target; CPU {cpu_ratio:.2f}x"
    )
    if warm is not None:
        single, together = warm
        print(f"warm, in one process: verify {summary(single)}")
        print(f"warm, in one process: list-resources {summary(together)}")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
