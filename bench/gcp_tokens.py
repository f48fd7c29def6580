"""GCP benchmark: what a user waits for, as whole cold CLI processes.

Starts the fake Google API server (the test peer) and registers a
service-account connector in a throwaway embedded store, then times
separate processes, as a user or kubectl runs them:

- ``keybroker connector describe-type gcp`` (must not import google-auth),
- ``keybroker connector verify`` of a multi-type connector (signs a JWT,
  fetches a token),
- ``keybroker-kube-credential`` for a GKE cluster, the exec plugin kubectl runs
  whenever it needs a token (token plus GKE clusters.get),
- ``list-resources -r kubernetes-cluster`` over N connectors (one token each).

    uv run python bench/gcp_tokens.py [--connectors 10] [--runs 5]
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "tests"))


def timed(command: list[str], runs: int, env: dict[str, str]) -> float:
    """Median wall time of ``command`` over ``runs`` cold processes (fails loudly)."""
    times = []
    for _ in range(runs):
        start = time.perf_counter()
        done = subprocess.run(command, capture_output=True, text=True, env=env, timeout=120)
        times.append(time.perf_counter() - start)
        if done.returncode != 0:
            raise SystemExit(f"{' '.join(command)} failed: {done.stdout}{done.stderr}")
    return statistics.median(times)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--connectors", type=int, default=10)
    parser.add_argument("--runs", type=int, default=5)
    options = parser.parse_args()

    from peers.fake_google import PROJECT, fake_google
    from peers.fake_kube_api import fake_kube_api

    with tempfile.TemporaryDirectory() as scratch:
        base = Path(scratch)
        with fake_google(base / "google") as google, fake_kube_api(base / "kube") as kube:
            key = google.add_service_account("bench")
            assert key is not None
            google.members.add(key["client_email"])
            host = kube.server.removeprefix("https://")
            google.add_cluster("us-central1", "prod", host, kube.ca_pem)
            key_file = base / "key.json"
            key_file.write_text(json.dumps(key))
            env = {
                **os.environ,
                "KEYBROKER_CONFIG_DIR": str(base / "config"),
                "NO_GCE_CHECK": "true",
            }
            keybroker = [sys.executable, "-m", "keybroker"]
            names = [f"gcp-{index:02d}" for index in range(options.connectors)]
            for name in names:
                subprocess.run(
                    [
                        *keybroker,
                        "connector",
                        "register",
                        name,
                        "-t",
                        "gcp",
                        "-a",
                        "service-account",
                        f"service_account_json=@{key_file}",
                        f"api_endpoint={google.url}",
                        "--no-verify",
                    ],
                    check=True,
                    capture_output=True,
                    env=env,
                )
            credential = shutil.which(
                "keybroker-kube-credential", path=str(Path(sys.executable).parent)
            )
            assert credential is not None
            runs = options.runs
            describe = timed([*keybroker, "connector", "describe-type", "gcp"], runs, env)
            verify = timed([*keybroker, "connector", "verify", names[0]], runs, env)
            exec_plugin = timed(
                [
                    credential,
                    "--connector",
                    names[0],
                    "--resource-type",
                    "kubernetes-cluster",
                    "--resource-id",
                    "us-central1/prod",
                ],
                runs,
                env,
            )
            listing = timed(
                [*keybroker, "connector", "list-resources", "-r", "kubernetes-cluster"],
                runs,
                env,
            )
            grants = len(google.grants)
    print(f"project {PROJECT}, {runs} cold processes each, median wall time:")
    print(f"describe-type gcp:                           {describe:.3f} s")
    print(f"verify (multi-type, mints a token):          {verify:.3f} s")
    print(f"keybroker-kube-credential (GKE token):       {exec_plugin:.3f} s")
    print(f"list-resources -r kubernetes-cluster ({options.connectors:>2}):  {listing:.3f} s")
    print(f"tokens minted in all: {grants}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
