"""An isolated home for a test: keybroker's store and every local tool's files in a temp dir."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

#: Environment variables pointed into the isolated home, with their paths in it.
ISOLATED_VARIABLES = {
    "KEYBROKER_CONFIG_DIR": "keybroker",
    "KUBECONFIG": "kube/config",
    "DOCKER_CONFIG": "docker",
    "NETRC": "netrc",
    "AWS_CONFIG_FILE": "aws/config",
    "AWS_SHARED_CREDENTIALS_FILE": "aws/credentials",
    "CLOUDSDK_CONFIG": "gcloud",
    "REGISTRY_AUTH_FILE": "containers/auth.json",
}

#: Prefixes of ambient variables removed so that no real credentials leak in.
CLEARED_PREFIXES = ("AWS_", "KEYBROKER_", "GOOGLE_", "CLOUDSDK_")


def isolate(home: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """Point HOME, keybroker, kubectl, docker, netrc and cloud CLIs at files under ``home``.

    Ambient cloud credentials (``AWS_*``, ``GOOGLE_*``, ...) and ``KEYBROKER_*``
    settings are removed, so nothing reads or writes the real user's files.
    """
    home.mkdir(parents=True, exist_ok=True)
    for variable in list(os.environ):
        if variable.startswith(CLEARED_PREFIXES):
            monkeypatch.delenv(variable, raising=False)
    monkeypatch.setenv("HOME", str(home))
    for variable, relative in ISOLATED_VARIABLES.items():
        monkeypatch.setenv(variable, str(home / relative))
    return home
