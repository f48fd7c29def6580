"""The ``gcp-storage-emulator`` (PyPI) as a real process: a GCS JSON API on 127.0.0.1.

It checks no credentials; the storage client reaches it through the standard
``STORAGE_EMULATOR_HOST`` variable and still sends its access token.
"""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import quote

from peers.http_peer import free_port, wait_for_http


@dataclass
class GcsEmulator:
    """A running emulator and helpers to prepare its buckets."""

    url: str

    def wipe(self) -> None:
        """Remove every bucket and object."""
        urllib.request.urlopen(f"{self.url}/wipe", timeout=10).read()

    def bucket(self, name: str, objects: dict[str, bytes] | None = None) -> None:
        """Create bucket ``name`` with ``objects`` in it."""
        request = urllib.request.Request(
            f"{self.url}/storage/v1/b?project=test-project",
            data=json.dumps({"name": name}).encode(),
            headers={"Content-Type": "application/json"},
            method="POST",
        )
        urllib.request.urlopen(request, timeout=10).read()
        for key, data in (objects or {}).items():
            upload = urllib.request.Request(
                f"{self.url}/upload/storage/v1/b/{name}/o?uploadType=media&name={quote(key)}",
                data=data,
                headers={"Content-Type": "application/octet-stream"},
                method="POST",
            )
            urllib.request.urlopen(upload, timeout=10).read()


@contextmanager
def running_gcs_emulator(directory: Path) -> Iterator[GcsEmulator]:
    """Start ``gcp-storage-emulator start --in-memory`` on a free port; stop it after."""
    directory.mkdir(parents=True, exist_ok=True)
    command = shutil.which("gcp-storage-emulator", path=str(Path(sys.executable).parent))
    program = [command] if command else [sys.executable, "-m", "gcp_storage_emulator"]
    port = free_port()
    log_path = directory / "gcs-emulator.log"
    log = log_path.open("w")
    process = subprocess.Popen(
        [*program, "start", "--host", "127.0.0.1", "--port", str(port), "--in-memory"],
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    emulator = GcsEmulator(f"http://127.0.0.1:{port}")
    try:
        wait_for_http(f"{emulator.url}/storage/v1/b", process, log_path, "gcp-storage-emulator")
        yield emulator
    finally:
        process.terminate()
        process.wait(timeout=10)
        log.close()
