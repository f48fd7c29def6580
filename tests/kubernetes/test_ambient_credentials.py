"""A kubernetes connector uses its own credentials and keybroker's proxy rule, nothing else."""

from __future__ import annotations

import base64
import os
from collections.abc import Iterator
from pathlib import Path

import pytest
from click.testing import Result

import keybroker
from peers.cli_runner import run
from peers.connect_proxy import clear_proxy_environment, recording_proxy
from peers.fake_kube_api import NAMESPACES, FakeKubeApi, fake_kube_api

TOKEN = "kb-ambient-token-0123456789"
PROXY_USER, PROXY_PASSWORD = "proxy-user", "proxy-pass-7"


@pytest.fixture(autouse=True)
def no_machine_proxies(monkeypatch: pytest.MonkeyPatch) -> None:
    clear_proxy_environment(monkeypatch)


@pytest.fixture
def kube(tmp_path: Path) -> Iterator[FakeKubeApi]:
    with fake_kube_api(tmp_path / "kube-tls") as api:
        api.tokens.add(TOKEN)
        api.basic.add(("admin", "admin-password"))
        yield api


def register(kube: FakeKubeApi, *attributes: str) -> Result:
    return run(
        "connector",
        "register",
        "kube",
        "-t",
        "kubernetes",
        f"server={kube.server}",
        f"certificate_authority={kube.ca_pem}",
        *attributes,
    )


def test_https_proxy_carries_a_tunnel_and_only_the_proxy_sees_its_credentials(
    kube: FakeKubeApi, monkeypatch: pytest.MonkeyPatch
) -> None:
    from kubernetes import client as k8s

    with recording_proxy() as proxy:
        monkeypatch.setenv("HTTPS_PROXY", f"http://{PROXY_USER}:{PROXY_PASSWORD}@{proxy.address}")
        registered = register(kube, "-a", "token", f"token={TOKEN}")
        assert registered.exit_code == 0, registered.output
        api = k8s.CoreV1Api(keybroker.get_client("kube"))
        assert len(api.list_namespace().items) == len(NAMESPACES)
    target = kube.server.removeprefix("https://")
    assert proxy.tunnels and set(proxy.tunnels) == {target}  # verify and the Python client
    expected = "Basic " + base64.b64encode(f"{PROXY_USER}:{PROXY_PASSWORD}".encode()).decode()
    assert set(proxy.proxy_authorizations) == {expected}
    assert set(kube.seen_tokens) == {TOKEN}  # the API server saw the connector's token only


def test_no_proxy_is_honoured(kube: FakeKubeApi, monkeypatch: pytest.MonkeyPatch) -> None:
    with recording_proxy() as proxy:
        monkeypatch.setenv("HTTPS_PROXY", proxy.url)
        monkeypatch.setenv("NO_PROXY", "example.com,127.0.0.0/8")
        registered = register(kube, "-a", "token", f"token={TOKEN}")
        assert registered.exit_code == 0, registered.output
        keybroker.get_client("kube")
    assert proxy.tunnels == []


def test_an_unreachable_proxy_is_named(kube: FakeKubeApi, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("HTTPS_PROXY", f"http://{PROXY_USER}:{PROXY_PASSWORD}@127.0.0.1:1")
    result = register(kube, "-a", "token", f"token={TOKEN}")
    assert result.exit_code == 1
    assert f"cannot reach {kube.server} through the proxy 127.0.0.1:1" in result.output
    assert PROXY_PASSWORD not in result.output


def test_a_netrc_entry_never_verifies_a_wrong_password(kube: FakeKubeApi) -> None:
    entry = "machine 127.0.0.1 login admin password admin-password\n"
    Path(os.environ["NETRC"]).write_text(entry)
    (Path(os.environ["HOME"]) / ".netrc").write_text(entry)
    result = register(kube, "-a", "password", "username=admin", "password=wrong")
    assert result.exit_code == 1
    assert "refused the credentials" in result.output


@pytest.mark.parametrize(
    ("attribute", "message"),
    [
        ("token=abc\ndef", "invalid token"),
        ("token=abc def", "invalid token"),
        ("token=", "missing required attribute 'token'"),  # empty is not given
    ],
)
def test_a_token_that_cannot_be_a_header_is_refused_without_echoing_it(
    kube: FakeKubeApi, attribute: str, message: str
) -> None:
    result = register(kube, "-a", "token", attribute)
    assert result.exit_code == 2, result.output
    assert message in result.output
    secret = attribute.split("=", 1)[1]
    if secret:
        assert secret not in result.output


@pytest.mark.parametrize(
    ("server", "shown"),
    [
        ("https://admin:pw-in-url@127.0.0.1:6443", False),
        ("https://127.0.0.1:6443/?x=1", True),
        ("https://127.0.0.1\n:6443", True),
    ],
)
def test_a_server_url_with_credentials_query_or_line_breaks_is_refused(
    server: str, shown: bool
) -> None:
    result = run(
        "connector",
        "register",
        "kube",
        "-t",
        "kubernetes",
        "-a",
        "token",
        f"server={server}",
        f"token={TOKEN}",
    )
    assert result.exit_code == 2, result.output
    assert "invalid Kubernetes API server URL" in result.output
    assert "pw-in-url" not in result.output
    assert ("'https://127.0.0.1" in result.output) is shown  # control characters are escaped
