"""moto in server mode: the real peer of the AWS connector's tests.

Every AWS call of the plugin goes to it through ``endpoint_url``. IAM
enforcement is off by default; :meth:`MotoServer.enforce_iam` switches it on
(create users, keys and policies first: with enforcement on, moto checks every
request against them).
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import pytest

from peers.http_peer import free_port, wait_for_http

#: moto's default account, and the keys it accepts while enforcement is off
ACCOUNT = "123456789012"
REGION = "eu-west-1"


@dataclass
class MotoServer:
    """A running moto server."""

    url: str

    def _post(self, path: str, body: bytes = b"", content_type: str = "text/plain") -> None:
        request = urllib.request.Request(
            self.url + path, data=body, method="POST", headers={"Content-Type": content_type}
        )
        urllib.request.urlopen(request, timeout=10).read()

    def reset(self) -> None:
        """Forget every resource and switch IAM enforcement off."""
        self.enforce_iam(False)
        self._post("/moto-api/reset")

    def enforce_iam(self, on: bool = True) -> None:
        """Check every request's credentials and permissions (``on``) or none."""
        self._post("/moto-api/reset-auth", b"0" if on else b"inf")


def moto_command() -> list[str]:
    """``moto_server`` from this interpreter's environment."""
    beside = Path(sys.executable).with_name("moto_server")
    if beside.exists():
        return [str(beside)]
    found = shutil.which("moto_server")
    if found is None:
        pytest.fail("moto_server is not installed; run 'uv sync --all-packages --all-extras'")
    return [found]


@contextmanager
def running_moto(log: Path) -> Iterator[MotoServer]:
    """Start ``moto_server`` on a free loopback port; stop it afterwards."""
    port = free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith("AWS_")}
    with log.open("w") as output:
        process = subprocess.Popen(
            [*moto_command(), "-H", "127.0.0.1", "-p", str(port)],
            stdout=output,
            stderr=subprocess.STDOUT,
            env=env,
        )
        server = MotoServer(f"http://127.0.0.1:{port}")
        try:
            wait_for_http(f"{server.url}/moto-api/", process, log, "moto_server")
            yield server
        finally:
            process.terminate()
            process.wait(timeout=10)
