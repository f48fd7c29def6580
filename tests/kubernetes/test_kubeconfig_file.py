"""How login treats the kubeconfig file: concurrent writers, kubectl's lock, symlinks, read-only.

Every test ends with the real kubectl reading the file keybroker wrote.
"""

from __future__ import annotations

import json
import os
import stat
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
import yaml

import keybroker.files
from peers.cli_runner import run
from peers.fake_kube_api import FakeKubeApi, fake_kube_api

TOKEN = "kb-file-token-0123456789"
CONCURRENT_LOGINS = 8


@pytest.fixture
def kube(tmp_path: Path) -> Iterator[FakeKubeApi]:
    with fake_kube_api(tmp_path / "kube-tls") as api:
        api.tokens.add(TOKEN)
        yield api


def kubeconfig() -> Path:
    return Path(os.environ["KUBECONFIG"])


def register(kube: FakeKubeApi, name: str, *options: str) -> None:
    result = run(
        "connector",
        "register",
        name,
        "-t",
        "kubernetes",
        "-a",
        "token",
        f"server={kube.server}",
        f"certificate_authority={kube.ca_pem}",
        f"token={TOKEN}",
        *options,
    )
    assert result.exit_code == 0, result.output


def kubectl_contexts() -> set[str]:
    """The context names kubectl itself reads from the file."""
    view = subprocess.run(
        ["kubectl", "config", "view", "-o", "json", "--kubeconfig", str(kubeconfig())],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert view.returncode == 0, view.stderr
    return {context["name"] for context in json.loads(view.stdout)["contexts"]}


def kubectl_namespaces() -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        ["kubectl", "get", "namespaces", "-o", "name", "--kubeconfig", str(kubeconfig())],
        capture_output=True,
        text=True,
        timeout=60,
    )


def existing_config() -> dict[str, object]:
    return {
        "apiVersion": "v1",
        "kind": "Config",
        "current-context": "other",
        "clusters": [{"name": "other", "cluster": {"server": "https://other.example:6443"}}],
        "users": [{"name": "other", "user": {"token": "other-token"}}],
        "contexts": [{"name": "other", "context": {"cluster": "other", "user": "other"}}],
    }


def test_concurrent_login_processes_keep_every_context(kube: FakeKubeApi) -> None:
    names = [f"kube-{index}" for index in range(CONCURRENT_LOGINS)]
    for name in names:
        register(kube, name, "--no-verify")
    kubeconfig().parent.mkdir(parents=True, exist_ok=True)
    kubeconfig().write_text(yaml.safe_dump(existing_config()))
    processes = [
        subprocess.Popen(
            [sys.executable, "-m", "keybroker", "connector", "login", name],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for name in names
    ]
    for process in processes:
        _, stderr = process.communicate(timeout=120)
        assert process.returncode == 0, stderr
    assert kubectl_contexts() == {"other", *names}
    data = yaml.safe_load(kubeconfig().read_text())
    assert {user["name"] for user in data["users"]} == {"other", *names}
    assert {cluster["name"] for cluster in data["clusters"]} == {"other", *names}
    assert not Path(f"{kubeconfig()}.lock").exists()
    assert kubectl_namespaces().returncode == 0


def test_login_waits_for_kubectl_lock(kube: FakeKubeApi) -> None:
    register(kube, "kube")
    kubeconfig().parent.mkdir(parents=True, exist_ok=True)
    lock = Path(f"{kubeconfig()}.lock")
    lock.touch()  # what kubectl holds while it writes the file

    def kubectl_finishes() -> None:
        time.sleep(0.5)
        kubeconfig().write_text(yaml.safe_dump(existing_config()))
        lock.unlink()

    writer = threading.Thread(target=kubectl_finishes)
    writer.start()
    result = run("connector", "login", "kube")
    writer.join()
    assert result.exit_code == 0, result.output
    assert kubectl_contexts() == {"other", "kube"}  # kubectl's write was re-read, not lost
    assert not lock.exists()


def test_a_lock_that_stays_is_reported_and_nothing_changes(
    kube: FakeKubeApi, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(keybroker.files, "LOCK_WAIT_SECONDS", 0.3)
    register(kube, "kube")
    kubeconfig().parent.mkdir(parents=True, exist_ok=True)
    original = yaml.safe_dump(existing_config())
    kubeconfig().write_text(original)
    lock = Path(f"{kubeconfig()}.lock")
    lock.touch()
    result = run("connector", "login", "kube")
    assert result.exit_code == 1
    assert f"{lock} has existed for more than 0.3 s" in result.output
    assert f"remove {lock}" in result.output
    assert len(result.output.strip().splitlines()) == 1
    assert kubeconfig().read_text() == original
    assert lock.exists()  # someone else's lock is never removed


@pytest.mark.parametrize("relative", [False, True])
def test_login_writes_through_a_symlinked_kubeconfig(kube: FakeKubeApi, relative: bool) -> None:
    register(kube, "kube")
    real = kubeconfig().parent.parent / "dotfiles" / "kubeconfig"
    real.parent.mkdir(parents=True)
    real.write_text(yaml.safe_dump(existing_config()))
    real.chmod(0o640)
    kubeconfig().parent.mkdir(parents=True, exist_ok=True)
    kubeconfig().symlink_to(os.path.relpath(real, kubeconfig().parent) if relative else real)
    result = run("connector", "login", "kube")
    assert result.exit_code == 0, result.output
    assert kubeconfig().is_symlink()
    assert kubeconfig().resolve() == real.resolve()
    assert {c["name"] for c in yaml.safe_load(real.read_text())["contexts"]} == {"other", "kube"}
    assert stat.S_IMODE(real.stat().st_mode) == 0o600  # holds a token now: owner only
    assert not list(kubeconfig().parent.glob(".config.*"))  # no temp file left beside the link
    assert kubectl_contexts() == {"other", "kube"}
    assert kubectl_namespaces().returncode == 0


@pytest.mark.parametrize("through_link", [False, True])
def test_a_read_only_kubeconfig_is_refused(kube: FakeKubeApi, through_link: bool) -> None:
    register(kube, "kube")
    original = yaml.safe_dump(existing_config())
    real = kubeconfig().parent.parent / "dotfiles" / "kubeconfig" if through_link else kubeconfig()
    real.parent.mkdir(parents=True, exist_ok=True)
    real.write_text(original)
    real.chmod(0o444)
    if through_link:
        kubeconfig().parent.mkdir(parents=True, exist_ok=True)
        kubeconfig().symlink_to(real)
    result = run("connector", "login", "kube")
    assert result.exit_code == 2
    assert "is read-only" in result.output and "nothing was changed" in result.output
    assert len(result.output.strip().splitlines()) == 1
    assert real.read_text() == original
    assert stat.S_IMODE(real.stat().st_mode) == 0o444
    assert kubeconfig().is_symlink() == through_link
    assert not Path(f"{kubeconfig()}.lock").exists()
    assert kubectl_contexts() == {"other"}


# -- what kubectl itself would refuse ------------------------------------------------------

CONTEXT = "current-context: c\ncontexts: [{name: c, context: {cluster: k, user: u}}]\n"
REFUSED_KUBECONFIGS = {
    "not a mapping": ("- a\n- b\n", "it is not a YAML mapping"),
    "entry without a name": ("contexts: [x]\n", "entry 1 of 'contexts' has no name"),
    "body not a mapping": (
        "current-context: c\ncontexts: [{name: c, context: 5}]\n",
        "the context of entry 'c' in 'contexts' is not a mapping",
    ),
    "current context not a name": ("current-context: [c]\n", "'current-context' is not a name"),
}


@pytest.mark.parametrize("case", sorted(REFUSED_KUBECONFIGS))
def test_a_kubeconfig_kubectl_would_refuse_is_named_and_never_changed(case: str) -> None:
    """Auto-configuration and login both say what is wrong; neither writes anything."""
    text, problem = REFUSED_KUBECONFIGS[case]
    kubeconfig().parent.mkdir(parents=True, exist_ok=True)
    kubeconfig().write_text(text)
    registered = run(
        "connector", "register", "kb", "-t", "kubernetes", "-a", "token",
        "server=https://127.0.0.1:1", "token=abcd", "--no-verify",
    )  # fmt: skip
    assert registered.exit_code == 0, registered.output
    for args in (["register", "auto", "-t", "kubernetes", "--auto-configure"], ["login", "kb"]):
        result = run("connector", *args)
        assert result.exit_code == 2, result.output
        assert result.output == (
            f"Error: {kubeconfig()} is not a kubeconfig file ({problem}); fix or move it, then "
            "retry (nothing was changed)\n"
        )
    assert kubeconfig().read_text() == text


@pytest.mark.parametrize(
    ("entries", "problem"),
    [
        ("clusters: [{name: k, cluster: {server: 5}}]", "cluster of context 'c': 'server' is"),
        (
            "clusters: [{name: k, cluster: {server: 'https://h', certificate-authority-data: x}}]",
            "cluster of context 'c': 'certificate-authority-data' is not base64-encoded text",
        ),
        (
            "clusters: [{name: k, cluster: {server: 'https://h'}}]\n"
            "users: [{name: u, user: {token: [1]}}]",
            "user of context 'c': 'token' is not a string",
        ),
        ("clusters: [{name: [k]}]", "entry 1 of 'clusters' has no name"),
    ],
)
def test_auto_configure_names_the_malformed_kubeconfig_value(entries: str, problem: str) -> None:
    kubeconfig().parent.mkdir(parents=True, exist_ok=True)
    kubeconfig().write_text(CONTEXT + entries + "\n")
    result = run("connector", "register", "auto", "-t", "kubernetes", "--auto-configure")
    assert result.exit_code == 2, result.output
    assert problem in result.output and result.output.count("\n") == 1
    assert "object has no attribute" not in result.output
