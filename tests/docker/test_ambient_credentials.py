"""A docker connector is verified with its own credentials only: no .netrc, stores or proxies.

Before these were closed, a ``.netrc`` entry for the registry host made a
connector with a wrong password verify: requests filled in the entry.
"""

from __future__ import annotations

import base64
import json
import os
import stat
from pathlib import Path

import pytest
from click.testing import Result

import keybroker
from peers.cli_runner import run
from peers.connect_proxy import clear_proxy_environment, recording_proxy
from peers.fake_docker_daemon import fake_docker_daemon
from peers.registry import Registry


@pytest.fixture(autouse=True)
def no_machine_proxies(monkeypatch: pytest.MonkeyPatch) -> None:
    clear_proxy_environment(monkeypatch)


def register(registry: Registry, password: str, name: str = "reg") -> Result:
    return run(
        "connector",
        "register",
        name,
        "-t",
        "docker",
        f"registry={registry.url}",
        f"username={registry.username}",
        f"password={password}",
    )


def write_netrc(text: str) -> None:
    netrc = Path(os.environ["NETRC"])
    netrc.write_text(text)
    netrc.chmod(0o600)
    (Path(os.environ["HOME"]) / ".netrc").write_text(text)


@pytest.mark.parametrize("entry", ["machine 127.0.0.1", "default"])
def test_a_netrc_entry_never_verifies_a_wrong_password(registry: Registry, entry: str) -> None:
    write_netrc(f"{entry} login {registry.username} password {registry.password}\n")
    result = register(registry, "wrong-password")
    assert result.exit_code == 1, result.output
    assert "refused the credentials" in result.output
    assert run("connector", "list", "-o", "json").output.strip() == "[]"
    assert register(registry, registry.password).exit_code == 0


def test_a_docker_credential_helper_never_verifies_a_wrong_password(
    registry: Registry, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    helper = tmp_path / "bin" / "docker-credential-ambient"
    helper.parent.mkdir()
    answer = {"Username": registry.username, "Secret": registry.password}
    helper.write_text(f"#!/bin/sh\ncat >/dev/null\necho '{json.dumps(answer)}'\n")
    helper.chmod(stat.S_IRWXU)
    monkeypatch.setenv("PATH", f"{helper.parent}{os.pathsep}{os.environ['PATH']}")
    config = Path(os.environ["DOCKER_CONFIG"]) / "config.json"
    config.parent.mkdir(parents=True, exist_ok=True)
    stores = {"credsStore": "ambient", "credHelpers": {registry.host: "ambient"}}
    config.write_text(json.dumps(stores))
    result = register(registry, "wrong-password")
    assert result.exit_code == 1, result.output


def test_plain_http_never_goes_through_a_proxy(
    registry: Registry, monkeypatch: pytest.MonkeyPatch
) -> None:
    with recording_proxy() as proxy:
        for name in ("HTTP_PROXY", "http_proxy", "ALL_PROXY", "HTTPS_PROXY"):
            monkeypatch.setenv(name, proxy.url)
        result = register(registry, registry.password)
        assert result.exit_code == 0, result.output
        assert run("connector", "verify", "reg").exit_code == 0
    # the proxy would have read the password in clear
    assert proxy.plain_requests == [] and proxy.tunnels == []


def test_https_goes_through_the_proxy_and_the_failure_names_the_registry(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    with recording_proxy() as proxy:
        monkeypatch.setenv("HTTPS_PROXY", proxy.url)
        result = run(
            "connector",
            "register",
            "reg",
            "-t",
            "docker",
            "registry=registry.example.test",
            "username=u",
            "password=p",
        )
    assert result.exit_code == 1
    assert proxy.tunnels == ["registry.example.test:443"]  # the proxy never sees the password
    assert "cannot reach registry registry.example.test at https://registry.example.test" in (
        result.output
    )
    assert f"the proxy {proxy.address} named by HTTPS_PROXY" in result.output


def test_the_python_client_logs_in_with_the_connectors_password_only(
    registry: Registry, monkeypatch: pytest.MonkeyPatch
) -> None:
    assert register(registry, registry.password).exit_code == 0
    config = Path(os.environ["DOCKER_CONFIG"]) / "config.json"
    config.parent.mkdir(parents=True, exist_ok=True)
    stale = base64.b64encode(f"{registry.username}:stale-password".encode()).decode()
    config.write_text(json.dumps({"auths": {registry.host: {"auth": stale}}}))
    with fake_docker_daemon() as daemon:
        monkeypatch.setenv("DOCKER_HOST", daemon.host)
        client = keybroker.get_client("reg")
        auth = client.api._auth_configs.resolve_authconfig(registry.host)
    # the SDK would have reused config.json's entry for the same user and skipped the login
    (login,) = daemon.logins
    assert login["password"] == registry.password
    assert auth["password"] == registry.password


@pytest.mark.parametrize(
    ("attributes", "message", "secret"),
    [
        (["registry=https://robot:pw-in-url@ghcr.io", "username=u"], "without credentials", "pw-"),
        (["registry=ghcr.io\n/x", "username=u"], "spaces or control characters", None),
        (["registry=ghcr.io", "username=a:b"], "invalid username", None),
    ],
)
def test_values_a_registry_client_would_mangle_are_refused(
    attributes: list[str], message: str, secret: str | None
) -> None:
    result = run("connector", "register", "reg", "-t", "docker", *attributes, "password=p")
    assert result.exit_code == 2, result.output
    assert message in result.output
    if secret:
        assert secret not in result.output
