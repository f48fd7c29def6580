"""AWS benchmark: verify one multi-instance S3 connector, and list-resources over many.

Starts moto server and a proxy in front of it that delays every AWS call, then
registers N multi-instance S3 connectors (secret-key, endpoint_url at the
proxy) in a throwaway embedded store and measures:

- verifying one connector (median of several runs),
- verifying each connector one after another (their sum, and the slowest),
- one list-resources over all of them.

list-resources fans out concurrently, so it should take about as long as the
slowest connector, not the sum.

    uv run python bench/aws_list_resources.py [--connectors 20] [--latency-ms 100]
"""

from __future__ import annotations

import argparse
import os
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


@contextmanager
def proxy_process(target: str, delay_seconds: float) -> Iterator[str]:
    """The delaying proxy in its own process, so that it does not compete for our GIL."""
    process = subprocess.Popen(
        [sys.executable, str(ROOT / "bench" / "latency_proxy.py"), target, str(delay_seconds)],
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert process.stdout is not None
        yield process.stdout.readline().strip()
    finally:
        process.terminate()
        process.wait(timeout=10)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--connectors", type=int, default=20)
    parser.add_argument("--latency-ms", type=float, default=100.0)
    parser.add_argument("--buckets", type=int, default=5)
    parser.add_argument("--runs", type=int, default=5)
    options = parser.parse_args()

    import boto3

    from keybroker.connector import RegisterRequest
    from keybroker.service import ConnectorService
    from keybroker.settings import Settings
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
            os.environ["KEYBROKER_CONFIG_DIR"] = str(Path(scratch) / "config")
            service = ConnectorService(settings=Settings.from_env())
            names = [f"aws-{index:02d}" for index in range(options.connectors)]
            for name in names:
                service.register(
                    RegisterRequest(
                        name=name,
                        connector_type="aws",
                        auth_method="secret-key",
                        resource_type="s3-bucket",
                        verify=False,
                        attributes={
                            "aws_access_key_id": f"AKIA{name.upper()}",
                            "aws_secret_access_key": "bench-secret",
                            "region": REGION,
                            "endpoint_url": proxy,
                        },
                    )
                )
            service.verify(names[0])  # warm-up: imports, region data, first connection

            single = []
            for _ in range(options.runs):
                start = time.perf_counter()
                service.verify(names[0])
                single.append(time.perf_counter() - start)

            each = []
            for name in names:
                start = time.perf_counter()
                service.verify(name)
                each.append(time.perf_counter() - start)

            together = []
            for _ in range(options.runs):
                start = time.perf_counter()
                reports = service.list_resources()
                together.append(time.perf_counter() - start)
            failed = [r.connector_name for r in reports if not r.ok]

    listing = statistics.median(together)
    print(f"latency added per AWS call:            {options.latency_ms:.0f} ms")
    print(
        f"verify one multi-instance S3 connector: {statistics.median(single):.3f} s (median "
        f"of {options.runs})"
    )
    print(
        f"verify {options.connectors} connectors one by one:     {sum(each):.3f} s "
        f"(slowest {max(each):.3f} s)"
    )
    print(
        f"list-resources over {options.connectors} connectors:   {listing:.3f} s (median of "
        f"{options.runs}; {len(reports)} reports, {len(failed)} failed)"
    )
    print(
        f"list-resources / slowest connector:     {listing / max(each):.2f}x   "
        f"list-resources / sum: {listing / sum(each):.2f}x"
    )
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
