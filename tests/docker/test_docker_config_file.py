"""How login treats docker's config.json: concurrent writers, symlinks, read-only files.

Docker itself does not lock config.json; keybroker takes ``config.json.lock``
(kubectl's convention) so that its own concurrent logins never lose entries.
skopeo, which reads the same file, checks what was written.
"""

from __future__ import annotations

import base64
import json
import os
import stat
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from peers.cli_runner import run
from peers.leaser import leaser_installed
from peers.registry import require

CONCURRENT_LOGINS = 6
EXISTING = {"auths": {"other.io": {"auth": "eDp5"}}, "psFormat": "table {{.ID}}"}


@pytest.fixture
def leaser(tmp_path: Path) -> Iterator[dict[str, str]]:
    with leaser_installed(tmp_path / "site") as env:
        yield env


def docker_config() -> Path:
    return Path(os.environ["DOCKER_CONFIG"]) / "config.json"


def mapping_file() -> Path:
    return Path(os.environ["DOCKER_CONFIG"]) / "keybroker-credentials.json"


def register_static(name: str, host: str) -> None:
    result = run(
        "connector",
        "register",
        name,
        "-t",
        "docker",
        f"registry={host}",
        f"username=user-{name}",
        f"password=secret-{name}",
        "--no-verify",
    )
    assert result.exit_code == 0, result.output


def register_leased(name: str, host: str) -> None:
    result = run(
        "connector",
        "register",
        name,
        "-t",
        "leaser",
        f"registry={host}",
        f"username=user-{name}",
        f"password=secret-{name}",
    )
    assert result.exit_code == 0, result.output


def skopeo_login_user(host: str) -> str | None:
    """The user name skopeo reads from the file for ``host`` (None when it finds none)."""
    require("skopeo")
    result = subprocess.run(
        ["skopeo", "login", "--get-login", "--authfile", str(docker_config()), host],
        capture_output=True,
        text=True,
        timeout=60,
    )
    return result.stdout.strip() if result.returncode == 0 else None


def write_existing(path: Path) -> str:
    path.parent.mkdir(parents=True, exist_ok=True)
    text = json.dumps(EXISTING)
    path.write_text(text)
    return text


def test_concurrent_login_processes_keep_every_registry(leaser: dict[str, str]) -> None:
    static = {f"static-{i}": f"127.0.0.1:{6100 + i}" for i in range(CONCURRENT_LOGINS // 2)}
    leased = {f"leased-{i}": f"leased-{i}.example:5000" for i in range(CONCURRENT_LOGINS // 2)}
    for name, host in static.items():
        register_static(name, host)
    for name, host in leased.items():
        register_leased(name, host)
    write_existing(docker_config())
    processes = [
        subprocess.Popen(
            [sys.executable, "-m", "keybroker", "connector", "login", name],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            env={**os.environ, **leaser},
        )
        for name in [*static, *leased]
    ]
    for process in processes:
        _, stderr = process.communicate(timeout=120)
        assert process.returncode == 0, stderr
    data = json.loads(docker_config().read_text())
    assert set(data["auths"]) == {"other.io", *static.values()}
    assert data["credHelpers"] == {host: "keybroker" for host in leased.values()}
    assert data["psFormat"] == EXISTING["psFormat"]
    mapping = json.loads(mapping_file().read_text())
    assert {host: entry["connector_name"] for host, entry in mapping.items()} == {
        host: name for name, host in leased.items()
    }
    for name, host in static.items():
        assert skopeo_login_user(host) == f"user-{name}"
    assert not list(docker_config().parent.glob("*.lock"))


@pytest.mark.parametrize("relative", [False, True])
def test_login_writes_through_a_symlinked_config(tmp_path: Path, relative: bool) -> None:
    register_static("reg", "127.0.0.1:6200")
    real = tmp_path / "dotfiles" / "docker.json"
    write_existing(real)
    real.chmod(0o644)
    docker_config().parent.mkdir(parents=True, exist_ok=True)
    docker_config().symlink_to(os.path.relpath(real, docker_config().parent) if relative else real)
    result = run("connector", "login", "reg")
    assert result.exit_code == 0, result.output
    assert docker_config().is_symlink()
    data = json.loads(real.read_text())
    assert data["auths"]["other.io"] == EXISTING["auths"]["other.io"]  # type: ignore[index]
    assert data["auths"]["127.0.0.1:6200"] == {
        "auth": base64.b64encode(b"user-reg:secret-reg").decode()
    }
    assert stat.S_IMODE(real.stat().st_mode) == 0o600
    assert skopeo_login_user("127.0.0.1:6200") == "user-reg"


@pytest.mark.parametrize("through_link", [False, True])
def test_a_read_only_config_is_refused(tmp_path: Path, through_link: bool) -> None:
    register_static("reg", "127.0.0.1:6200")
    real = tmp_path / "dotfiles" / "docker.json" if through_link else docker_config()
    original = write_existing(real)
    real.chmod(0o444)
    if through_link:
        docker_config().parent.mkdir(parents=True, exist_ok=True)
        docker_config().symlink_to(real)
    result = run("connector", "login", "reg")
    assert result.exit_code == 2
    assert "is read-only" in result.output and "nothing was changed" in result.output
    assert len(result.output.strip().splitlines()) == 1
    assert real.read_text() == original
    assert stat.S_IMODE(real.stat().st_mode) == 0o444
    assert docker_config().is_symlink() == through_link
    assert skopeo_login_user("127.0.0.1:6200") is None


def test_a_read_only_mapping_file_changes_nothing(leaser: dict[str, str]) -> None:
    register_leased("lease", "leased.example:5000")
    original = write_existing(docker_config())
    mapping_file().write_text("{}\n")
    mapping_file().chmod(0o400)
    result = run("connector", "login", "lease")
    assert result.exit_code == 2
    assert f"{mapping_file()} is read-only" in result.output
    assert docker_config().read_text() == original
    assert mapping_file().read_text() == "{}\n"


REFUSED_CONFIGS = {
    "auths not an object": ({"auths": []}, "'auths' is not an object"),
    "entry not an object": (
        {"auths": {"r.io": "x"}},
        "the 'auths' entry of 'r.io' is not an object",
    ),
    "auth not a string": (
        {"auths": {"r.io": {"auth": 5}}},
        "'auth' of the 'auths' entry of 'r.io' is not a string",
    ),
    "helpers not names": (
        {"credHelpers": {"r.io": 5}},
        "'credHelpers' is not an object of helper names",
    ),
    "store not a name": ({"credsStore": ["x"]}, "'credsStore' is not a helper name"),
}


@pytest.mark.parametrize("case", sorted(REFUSED_CONFIGS))
def test_a_config_docker_would_refuse_is_named_and_never_changed(case: str) -> None:
    """Auto-configuration and login both say what is wrong; neither writes anything."""
    content, problem = REFUSED_CONFIGS[case]
    docker_config().parent.mkdir(parents=True, exist_ok=True)
    text = json.dumps(content)
    docker_config().write_text(text)
    registered = run(
        "connector", "register", "reg", "-t", "docker", "registry=r.io", "username=u",
        "password=p", "--no-verify",
    )  # fmt: skip
    assert registered.exit_code == 0, registered.output
    for args in (["register", "auto", "-t", "docker", "--auto-configure"], ["login", "reg"]):
        result = run("connector", *args)
        assert result.exit_code == 2, result.output
        assert result.output == (
            f"Error: {docker_config()} is not a docker config file ({problem}); fix or move "
            "it, then retry (nothing was changed)\n"
        )
    assert docker_config().read_text() == text
    assert not mapping_file().exists()


def test_an_auth_that_is_not_base64_is_named_by_auto_configure() -> None:
    docker_config().parent.mkdir(parents=True, exist_ok=True)
    docker_config().write_text(json.dumps({"auths": {"r.io": {"auth": "/w=="}}}))
    result = run("connector", "register", "auto", "-t", "docker", "--auto-configure")
    assert result.exit_code == 2
    assert result.output == (
        f"Error: the 'auth' of the entry for 'r.io' in {docker_config()} is not "
        "base64-encoded user:password; fix it (docker login rewrites it)\n"
    )
