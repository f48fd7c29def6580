"""A fresh virtual environment with only some keybroker packages: a thin client machine.

Built as a user would install it (``uv pip install`` of the packages from this
checkout, their dependencies at the versions of the lock file), away from the
workspace's environment, so that what is *not* installed (another plugin, its
SDK) really is absent.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]


@dataclass
class ThinClient:
    """A fresh environment and the environment variables its commands run with."""

    venv: Path
    env: dict[str, str]

    @property
    def python(self) -> Path:
        return self.venv / "bin" / "python"

    def command(self, name: str) -> Path:
        """A console script of the environment (keybroker, keybroker-kube-credential)."""
        return self.venv / "bin" / name

    def keybroker(
        self, *args: str, input: str | None = None, cwd: Path | None = None
    ) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [str(self.command("keybroker")), *args],
            input=input,
            capture_output=True,
            text=True,
            env=self.env,
            cwd=cwd or self.venv.parent,
            timeout=120,
        )

    def distributions(self) -> set[str]:
        """The names of the distributions installed in the environment."""
        listed = subprocess.run(
            [
                str(self.python),
                "-c",
                "import importlib.metadata as m; "
                "print('\\n'.join(d.metadata['Name'] for d in m.distributions()))",
            ],
            capture_output=True,
            text=True,
            env=self.env,
            timeout=60,
            check=True,
        )
        return {line.strip().lower() for line in listed.stdout.splitlines() if line.strip()}


def _uv() -> list[str]:
    found = shutil.which("uv")
    if found is None:
        pytest.fail("uv is not installed; install it with 'python3 -m pip install uv'")
    return [found]


def thin_client(directory: Path, *plugins: str) -> ThinClient:
    """``keybroker`` and the named plugin packages (``plugins/<name>``), nothing else of ours."""
    directory.mkdir(parents=True, exist_ok=True)
    venv = directory / "venv"
    constraints = directory / "constraints.txt"
    uv = _uv()
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "VIRTUAL_ENV")}
    env["UV_PYTHON_DOWNLOADS"] = "never"
    packages = [f"keybroker-{name}" for name in plugins]
    export = [*uv, "export", "--frozen", "--no-hashes", "--no-dev", "--no-emit-workspace"]
    for package in packages or ["keybroker"]:
        export += ["--package", package]
    steps = [
        [*export, "--quiet", "-o", str(constraints), "--directory", str(ROOT)],
        [*uv, "venv", "--quiet", "--python", sys.executable, str(venv)],
        [
            *uv,
            "pip",
            "install",
            "--quiet",
            "--python",
            str(venv / "bin" / "python"),
            "-c",
            str(constraints),
            str(ROOT),
            *(str(ROOT / "plugins" / name) for name in plugins),
        ],
    ]
    for step in steps:
        done = subprocess.run(step, capture_output=True, text=True, env=env, timeout=600)
        if done.returncode != 0:
            pytest.fail(f"building the thin client failed: {' '.join(step)}\n{done.stderr}")
    env["PATH"] = f"{venv / 'bin'}{os.pathsep}{env.get('PATH', '')}"
    return ThinClient(venv=venv, env=env)
