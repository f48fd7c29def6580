"""schemathesis fuzzes the whole API from /openapi.json: no 500, every answer as documented."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from peers.databases import server_database
from peers.keybroker_server import ADMIN_PASSWORD, RunningServer, new_encryption_key, start_server

CONFIG = Path(__file__).with_name("schemathesis.toml")


# the whole API (connectors included) takes schemathesis a few minutes on this machine
@pytest.mark.timeout(900)
@pytest.mark.parametrize("kind", ["sqlite", "postgresql", "mariadb"])
def test_schemathesis_finds_nothing(tmp_path: Path, kind: str) -> None:
    if kind == "sqlite":
        _fuzz(start_server(tmp_path))
        return
    with server_database(kind) as url:
        _fuzz(start_server(tmp_path, url, encryption_key=new_encryption_key()))


def _fuzz(server: RunningServer) -> None:
    try:
        token = server.sign_in("admin", ADMIN_PASSWORD)
        # the first /openapi.json builds the document; on a busy machine that can take
        # longer than schemathesis waits for it
        assert server.request("GET", "/openapi.json")[0] == 200
        executable = shutil.which("schemathesis") or str(
            Path(sys.executable).with_name("schemathesis")
        )
        result = subprocess.run(
            [
                executable,
                "--config-file",
                str(CONFIG),
                "run",
                f"{server.url}/openapi.json",
                "--header",
                f"Authorization: Bearer {token}",
                "--checks",
                "all",
                "--max-examples",
                "25",
                "--seed",
                "20261129",
                "--workers",
                "1",
                # signing out would end the fuzzer's own session half-way
                "--exclude-path",
                "/api/v1/auth/sign-out",
                "--no-color",
            ],
            capture_output=True,
            text=True,
            timeout=840,
            cwd=server.log.parent,  # schemathesis keeps a cache in its working directory
            env={**os.environ, "SCHEMATHESIS_HOOKS": ""},
        )
        summary = result.stdout[-6000:]
        assert result.returncode == 0, summary
        assert "unexpected" not in server.log_text(), server.log_text()[-3000:]
    finally:
        server.stop()
