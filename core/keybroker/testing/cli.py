"""Running the real ``keybroker`` CLI from tests: in-process or as a subprocess."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from typing import Any

from click.testing import Result


class CliRunner:
    """Runs ``keybroker`` commands against the environment of the test (its isolated home)."""

    def run(self, *args: str, input: str | None = None) -> Result:
        """Invoke ``keybroker ARGS`` in-process; the result has ``exit_code`` and ``output``."""
        from click.testing import CliRunner as ClickRunner

        from keybroker.cli.context import CliState
        from keybroker.cli.main import cli

        return ClickRunner().invoke(cli, list(args), obj=CliState(), input=input)

    def json(self, *args: str) -> Any:
        """Invoke a listing or describe with ``-o json``; fail the test unless it succeeds."""
        result = self.run(*args, "-o", "json")
        if result.exit_code != 0:
            raise AssertionError(f"keybroker {' '.join(args)} failed: {result.output}")
        return json.loads(result.output)

    def subprocess(
        self, *args: str, env: dict[str, str] | None = None, timeout: float = 60
    ) -> subprocess.CompletedProcess[str]:
        """Run ``python -m keybroker ARGS`` as a separate process, as a user would."""
        return subprocess.run(
            [sys.executable, "-m", "keybroker", *args],
            capture_output=True,
            text=True,
            env={**os.environ, **(env or {})},
            timeout=timeout,
            check=False,
        )
