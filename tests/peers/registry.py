"""Debian's distribution registry (``docker-registry``) with htpasswd auth, and an image in it.

The image is built without a daemon: ``umoci`` writes an OCI layout with one
small layer and ``skopeo`` pushes it to the registry.
"""

from __future__ import annotations

import shutil
import subprocess
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import pytest

from peers.http_peer import free_port, wait_for_http

REPOSITORY = "demo/hello"
TAG = "1.0"


@dataclass
class Registry:
    """A running registry: its host:port and the one user it accepts."""

    host: str
    username: str
    password: str

    @property
    def url(self) -> str:
        """The registry's base URL."""
        return f"http://{self.host}"


def require(*commands: str) -> None:
    """Fail (not skip) with a clear message when a peer is not installed."""
    missing = [c for c in commands if shutil.which(c) is None]
    if missing:
        pytest.fail(f"test peers missing: {', '.join(missing)}; run 'bash .ci/install-peers'")


def push_image(directory: Path, registry: Registry, repository: str = REPOSITORY) -> None:
    """Build a one-layer image with umoci and push it to ``repository`` with skopeo."""
    require("umoci", "skopeo")
    layout = directory / "oci"
    rootfs = directory / "rootfs"
    (rootfs / "etc").mkdir(parents=True)
    (rootfs / "etc" / "greeting").write_text("hello from keybroker tests\n")
    commands = [
        ["umoci", "init", "--layout", str(layout)],
        ["umoci", "new", "--image", f"{layout}:latest"],
        [
            "umoci",
            "insert",
            "--rootless",
            "--image",
            f"{layout}:latest",
            str(rootfs / "etc"),
            "/etc",
        ],
        [
            "skopeo",
            "copy",
            "--quiet",
            f"oci:{layout}:latest",
            f"docker://{registry.host}/{repository}:{TAG}",
            "--dest-creds",
            f"{registry.username}:{registry.password}",
            "--dest-tls-verify=false",
        ],
    ]
    for command in commands:
        subprocess.run(command, check=True, capture_output=True, timeout=120)


@dataclass
class TokenAuth:
    """Bearer-token auth: the registry sends clients to ``realm`` and trusts ``certificate``."""

    realm: str
    service: str
    issuer: str
    certificate: Path


@contextmanager
def running_registry(
    directory: Path,
    username: str = "pusher",
    password: str = "push-secret-42",
    token_auth: TokenAuth | None = None,
) -> Iterator[Registry]:
    """Start ``docker-registry serve`` on a free port; stop it after.

    Clients log in with ``username``/``password`` (htpasswd), or, with
    ``token_auth``, through the bearer tokens of that realm's token server.
    """
    require("docker-registry", "htpasswd")
    directory.mkdir(parents=True, exist_ok=True)
    if token_auth is None:
        htpasswd = subprocess.run(
            ["htpasswd", "-Bbn", username, password], check=True, capture_output=True, text=True
        ).stdout
        (directory / "htpasswd").write_text(htpasswd)
        auth = f"  htpasswd:\n    realm: keybroker-test\n    path: {directory / 'htpasswd'}\n"
    else:
        auth = (
            f"  token:\n    realm: {token_auth.realm}\n    service: {token_auth.service}\n"
            f"    issuer: {token_auth.issuer}\n    rootcertbundle: {token_auth.certificate}\n"
        )
    port = free_port()
    config = directory / "config.yml"
    config.write_text(
        "version: 0.1\n"
        "log:\n  level: error\n"
        f"storage:\n  filesystem:\n    rootdirectory: {directory / 'data'}\n"
        f"http:\n  addr: 127.0.0.1:{port}\n"
        f"auth:\n{auth}"
    )
    log = (directory / "registry.log").open("w")
    process = subprocess.Popen(
        ["docker-registry", "serve", str(config)], stdout=log, stderr=subprocess.STDOUT
    )
    registry = Registry(f"127.0.0.1:{port}", username, password)
    try:
        wait_for_http(f"{registry.url}/v2/", process, directory / "registry.log", "docker-registry")
        yield registry
    finally:
        process.terminate()
        process.wait(timeout=10)
        log.close()
