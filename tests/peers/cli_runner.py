"""Running the real ``keybroker`` CLI from tests: in-process (click) or as a subprocess."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from typing import Any

from click.testing import CliRunner, Result

from keybroker.cli.context import CliState
from keybroker.cli.main import cli


def run(*args: str, input: str | None = None) -> Result:
    """Invoke ``keybroker ARGS`` in-process on the test's embedded store."""
    return CliRunner().invoke(cli, list(args), obj=CliState(), input=input)


def run_json(*args: str) -> Any:
    """Invoke a listing or describe with ``-o json`` and decode its output."""
    result = run(*args, "-o", "json")
    assert result.exit_code == 0, result.output
    return json.loads(result.output)


def keybroker(
    *args: str, env: dict[str, str] | None = None, timeout: float = 60
) -> subprocess.CompletedProcess[str]:
    """Run ``python -m keybroker ARGS`` as a separate process."""
    return subprocess.run(
        [sys.executable, "-m", "keybroker", *args],
        capture_output=True,
        text=True,
        env={**os.environ, **(env or {})},
        timeout=timeout,
    )
