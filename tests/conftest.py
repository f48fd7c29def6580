"""Fixtures shared by every test: an isolated home for keybroker and the local tools."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

ISOLATED_VARIABLES = {
    "KEYBROKER_CONFIG_DIR": "keybroker",
    "KUBECONFIG": "kube/config",
    "DOCKER_CONFIG": "docker",
    "NETRC": "netrc",
    "AWS_CONFIG_FILE": "aws/config",
    "AWS_SHARED_CREDENTIALS_FILE": "aws/credentials",
}


@pytest.fixture(autouse=True)
def isolated_home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """Point keybroker, kubectl, docker, netrc and AWS at files under a fresh temp dir.

    No test ever reads or writes the real user's configuration.
    """
    home = tmp_path / "home"
    home.mkdir()
    monkeypatch.setenv("HOME", str(home))
    for variable, relative in ISOLATED_VARIABLES.items():
        monkeypatch.setenv(variable, str(home / relative))
    for variable in list(os.environ):
        if variable.startswith(("AWS_", "KEYBROKER_")) and variable not in ISOLATED_VARIABLES:
            monkeypatch.delenv(variable, raising=False)
    return home


@pytest.fixture(autouse=True)
def fresh_secret_registry(monkeypatch: pytest.MonkeyPatch) -> None:
    """Each test starts with no remembered secrets, like each real keybroker process.

    In-process CLI runs remember the secrets they load; without this, a value one
    test used as a secret ('secret', 'nope') would be masked in a later test's
    output, and tests would pass or fail by the order they run in.
    """
    from keybroker import redaction

    monkeypatch.setattr(redaction, "_registry", redaction.SecretRegistry())
