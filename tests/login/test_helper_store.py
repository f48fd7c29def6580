"""What login writes for credential helpers: where the store is, never its password.

kubectl's exec entry and docker's credential mapping name the config
directory and a password-free store URL. The helper takes the password from
the environment kubectl or docker run in, and when that environment points at
another store it says what to set instead of looking in the wrong place.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
import yaml

from keybroker.settings import LOGIN_STORE_ENV, Settings, password_free_url
from peers.cli_runner import run
from peers.databases import server_database
from peers.fake_kube_api import FakeKubeApi
from peers.leaser import leaser_installed
from peers.minter import minter_installed
from peers.registry import REPOSITORY, TAG, Registry, require

STORE_PASSWORD = "store-pw-never-in-files-42"


@pytest.fixture
def helpers_env(tmp_path: Path, kube: FakeKubeApi) -> Iterator[dict[str, str]]:
    """Both test plugins installed; the environment kubectl, skopeo and helpers run with."""
    kube.token_file = tmp_path / "minted-tokens"
    with (
        minter_installed(tmp_path / "minter") as minter,
        leaser_installed(tmp_path / "leaser") as leaser,
    ):
        paths = [minter["PYTHONPATH"], leaser["PYTHONPATH"]]
        yield {"PYTHONPATH": os.pathsep.join(paths), "PATH": leaser["PATH"]}


def log_in_both(kube: FakeKubeApi, registry: Registry) -> None:
    """Register a minter (kubectl exec entry) and a leaser (docker helper) and log in with both."""
    for args in (
        [
            "minted",
            "-t",
            "minter",
            f"server={kube.server}",
            f"certificate_authority={kube.ca_pem}",
            f"token_file={kube.token_file}",
            "-r",
            "kubernetes-cluster",
        ],
        [
            "lease",
            "-t",
            "leaser",
            f"registry={registry.host}",
            f"username={registry.username}",
            f"password={registry.password}",
        ],
    ):
        registered = run("connector", "register", *args)
        assert registered.exit_code == 0, registered.output
    for args in (["minted", "--resource-id", "cluster-a"], ["lease"]):
        login = run("connector", "login", *args)
        assert login.exit_code == 0, login.output


def tool_files() -> dict[str, str]:
    docker = Path(os.environ["DOCKER_CONFIG"])
    return {
        "kubeconfig": Path(os.environ["KUBECONFIG"]).read_text(),
        "config.json": (docker / "config.json").read_text(),
        "mapping": (docker / "keybroker-credentials.json").read_text(),
    }


def exec_env() -> dict[str, str]:
    data = yaml.safe_load(Path(os.environ["KUBECONFIG"]).read_text())
    (user,) = (u["user"] for u in data["users"] if u["name"] == data["current-context"])
    return {entry["name"]: entry["value"] for entry in user["exec"]["env"]}


def kubectl(env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        ["kubectl", "get", "namespaces", "-o", "name", "--kubeconfig", os.environ["KUBECONFIG"]],
        capture_output=True,
        text=True,
        timeout=60,
        env=env,
    )


def skopeo_tags(env: dict[str, str], host: str) -> subprocess.CompletedProcess[str]:
    require("skopeo")
    authfile = str(Path(os.environ["DOCKER_CONFIG"]) / "config.json")
    image = f"docker://{host}/{REPOSITORY}"
    return subprocess.run(
        ["skopeo", "list-tags", "--authfile", authfile, "--tls-verify=false", image],
        capture_output=True,
        text=True,
        timeout=60,
        env=env,
    )


def credential_helper(env: dict[str, str], host: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [str(Path(sys.executable).with_name("docker-credential-keybroker")), "get"],
        input=host,
        capture_output=True,
        text=True,
        timeout=60,
        env=env,
    )


def test_a_store_password_is_never_written_and_the_helpers_still_work(
    kube: FakeKubeApi,
    registry: Registry,
    helpers_env: dict[str, str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    with server_database("postgresql") as bare_url:
        # the server trusts loopback connections, so the password changes nothing but the URL
        store_url = bare_url.replace("//postgres@", f"//postgres:{STORE_PASSWORD}@")
        monkeypatch.setenv("KEYBROKER_STORE_URL", store_url)
        log_in_both(kube, registry)
        for name, text in tool_files().items():
            assert STORE_PASSWORD not in text, name
        written = exec_env()
        assert "KEYBROKER_STORE_URL" not in written
        assert written[LOGIN_STORE_ENV] == store_url.replace(f":{STORE_PASSWORD}", "")
        (entry,) = json.loads(tool_files()["mapping"]).values()
        assert entry["env"] == written

        # kubectl and skopeo run in the user's environment, which names the store
        tool_env = {**os.environ, **helpers_env}
        out = kubectl(tool_env)
        assert out.returncode == 0, out.stderr
        assert "namespace/default" in out.stdout.split()
        tags = skopeo_tags(tool_env, registry.host)
        assert tags.returncode == 0, tags.stderr
        assert json.loads(tags.stdout)["Tags"] == [TAG]

        # without it the helpers find another store: they say what to set, and stop
        bare = {k: v for k, v in tool_env.items() if k != "KEYBROKER_STORE_URL"}
        refused = kubectl(bare)
        assert refused.returncode != 0
        assert "set KEYBROKER_STORE_URL" in refused.stderr
        assert written[LOGIN_STORE_ENV] in refused.stderr
        helper = credential_helper(bare, registry.host)
        assert helper.returncode == 1
        assert helper.stderr.startswith("keybroker: this login was made with the store")
        assert "set KEYBROKER_STORE_URL" in helper.stderr
        assert STORE_PASSWORD not in refused.stderr + helper.stderr + helper.stdout
        config_dir = Path(os.environ["KEYBROKER_CONFIG_DIR"])
        assert not (config_dir / "keybroker.db").exists()  # no empty store was created


def test_the_embedded_store_is_found_whatever_the_tool_environment_says(
    kube: FakeKubeApi,
    registry: Registry,
    helpers_env: dict[str, str],
) -> None:
    log_in_both(kube, registry)
    assert exec_env()["KEYBROKER_STORE_URL"] == ""
    # a shell that points keybroker at some other store does not mislead the helpers
    elsewhere = "postgresql+psycopg://postgres@127.0.0.1:5432/nosuch"
    tool_env = {**os.environ, **helpers_env, "KEYBROKER_STORE_URL": elsewhere}
    out = kubectl(tool_env)
    assert out.returncode == 0, out.stderr
    tags = skopeo_tags(tool_env, registry.host)
    assert tags.returncode == 0, tags.stderr


@pytest.mark.parametrize(
    ("url", "written"),
    [
        (None, ""),
        ("postgresql+psycopg://kb@db.internal:5432/keybroker", "same"),
        ("sqlite:////srv/keybroker/store.db", "same"),
        ("postgresql+psycopg://kb:S3cret-Pw@db.internal/keybroker", None),
        ("mysql+pymysql://kb@db.internal/keybroker?password=S3cret-Pw&charset=utf8mb4", None),
    ],
)
def test_refresh_env_never_carries_a_password(
    tmp_path: Path, url: str | None, written: str | None
) -> None:
    env = Settings(config_dir=tmp_path, store_url=url).refresh_env()
    assert env["KEYBROKER_CONFIG_DIR"] == str(tmp_path)
    assert env.get("KEYBROKER_STORE_URL") == (url if written == "same" else written)
    assert "S3cret-Pw" not in json.dumps(env)
    if url is not None:
        assert env[LOGIN_STORE_ENV] == password_free_url(url)
