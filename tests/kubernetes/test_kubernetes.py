"""The kubernetes connector against a real TLS API server, with the real kubectl."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml

from peers.cli_runner import run, run_json
from peers.fake_kube_api import NAMESPACES, FakeKubeApi, fake_kube_api
from peers.minter import minter_installed

TOKEN = "kb-test-token-0123456789"


@pytest.fixture
def kube(tmp_path: Path) -> Iterator[FakeKubeApi]:
    with fake_kube_api(tmp_path / "kube-tls") as api:
        api.tokens.add(TOKEN)
        api.basic.add(("admin", "admin-password"))
        yield api


def kubeconfig() -> Path:
    return Path(os.environ["KUBECONFIG"])


def register_token(kube: FakeKubeApi, name: str = "kube", token: str = TOKEN, *extra: str):
    return run(
        "connector",
        "register",
        name,
        "-t",
        "kubernetes",
        "-a",
        "token",
        f"server={kube.server}",
        f"certificate_authority={kube.ca_pem}",
        f"token={token}",
        *extra,
    )


def kubectl(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        ["kubectl", "--kubeconfig", str(kubeconfig()), *args],
        capture_output=True,
        text=True,
        timeout=60,
        env={**os.environ, **(env or {})},
    )


def test_register_verify_and_list_resources(kube: FakeKubeApi) -> None:
    result = register_token(kube)
    assert result.exit_code == 0, result.output
    port = kube.server.rsplit(":", 1)[1]
    (connector,) = run_json("connector", "list")
    assert connector["resource_type"] == "kubernetes-cluster"
    assert connector["resource_id"] == f"127.0.0.1:{port}"
    assert connector["secrets"] == {"token": "[HIDDEN]"}
    verified = run("connector", "verify", "kube")
    assert verified.exit_code == 0 and f"127.0.0.1:{port}" in verified.output
    (report,) = run_json("connector", "list-resources", "-r", "kubernetes-cluster")
    assert report["resources"][0]["resource_ids"] == [f"127.0.0.1:{port}"]


def test_password_auth_method(kube: FakeKubeApi) -> None:
    result = run(
        "connector",
        "register",
        "kube-basic",
        "-t",
        "kubernetes",
        "-a",
        "password",
        f"server={kube.server}",
        f"certificate_authority={kube.ca_pem}",
        "username=admin",
        "password=admin-password",
    )
    assert result.exit_code == 0, result.output
    assert run("connector", "login", "kube-basic").exit_code == 0
    out = kubectl("get", "namespaces", "-o", "name")
    assert out.returncode == 0, out.stderr
    assert out.stdout.split() == [f"namespace/{n}" for n in NAMESPACES]


def test_wrong_token_is_refused_and_nothing_stored(kube: FakeKubeApi) -> None:
    result = register_token(kube, token="not-the-token")
    assert result.exit_code == 1
    assert "refused the credentials (HTTP 401)" in result.output
    assert "not-the-token" not in result.output
    assert run_json("connector", "list") == []


def test_untrusted_server_certificate_is_a_clear_failure(kube: FakeKubeApi) -> None:
    result = run(
        "connector",
        "register",
        "kube",
        "-t",
        "kubernetes",
        "-a",
        "token",
        f"server={kube.server}",
        f"token={TOKEN}",
    )
    assert result.exit_code == 1
    assert "TLS check of" in result.output and "certificate_authority" in result.output
    insecure = run(
        "connector",
        "register",
        "kube",
        "-t",
        "kubernetes",
        "-a",
        "token",
        f"server={kube.server}",
        f"token={TOKEN}",
        "--insecure",
    )
    assert insecure.exit_code == 0, insecure.output


@pytest.mark.parametrize(
    ("attributes", "message"),
    [
        (["server=ftp://example.com", f"token={TOKEN}"], "invalid Kubernetes API server URL"),
        (["server=https://", f"token={TOKEN}"], "invalid Kubernetes API server URL"),
        (
            ["server=https://10.0.0.1:6443", "certificate_authority=not a pem", f"token={TOKEN}"],
            "not a PEM certificate",
        ),
        (["server=https://10.0.0.1:6443"], "missing required attribute 'token'"),
    ],
)
def test_bad_attributes(attributes: list[str], message: str) -> None:
    result = run("connector", "register", "kube", "-t", "kubernetes", "-a", "token", *attributes)
    assert result.exit_code == 2, result.output
    assert message in result.output
    assert run_json("connector", "list") == []


def test_unreachable_server() -> None:
    result = run(
        "connector",
        "register",
        "kube",
        "-t",
        "kubernetes",
        "-a",
        "token",
        "server=https://127.0.0.1:1",
        f"token={TOKEN}",
        "--insecure",
    )
    assert result.exit_code == 1
    assert "cannot reach https://127.0.0.1:1" in result.output


def test_login_merges_into_existing_kubeconfig_and_kubectl_works(kube: FakeKubeApi) -> None:
    existing = {
        "apiVersion": "v1",
        "kind": "Config",
        "current-context": "other",
        "clusters": [{"name": "other", "cluster": {"server": "https://other.example:6443"}}],
        "users": [{"name": "other", "user": {"token": "other-token"}}],
        "contexts": [{"name": "other", "context": {"cluster": "other", "user": "other"}}],
        "preferences": {"colors": True},
    }
    kubeconfig().parent.mkdir(parents=True, exist_ok=True)
    kubeconfig().write_text(yaml.safe_dump(existing))
    assert register_token(kube).exit_code == 0
    login = run("connector", "login", "kube")
    assert login.exit_code == 0, login.output
    assert str(kubeconfig()) in login.output
    data = yaml.safe_load(kubeconfig().read_text())
    assert data["current-context"] == "kube"
    assert {c["name"] for c in data["contexts"]} == {"other", "kube"}
    assert data["preferences"] == {"colors": True}
    assert next(u for u in data["users"] if u["name"] == "other")["user"] == {
        "token": "other-token"
    }
    assert oct(kubeconfig().stat().st_mode & 0o777) == "0o600"
    out = kubectl("get", "namespaces", "-o", "name")
    assert out.returncode == 0, out.stderr
    assert "namespace/team-data" in out.stdout.split()


def test_kubeconfig_that_is_not_yaml_is_left_alone(kube: FakeKubeApi) -> None:
    assert register_token(kube).exit_code == 0
    kubeconfig().parent.mkdir(parents=True, exist_ok=True)
    kubeconfig().write_text("clusters: [unclosed\n")
    result = run("connector", "login", "kube")
    assert result.exit_code == 2
    assert "is not valid YAML" in result.output
    assert kubeconfig().read_text() == "clusters: [unclosed\n"


def test_python_client_lists_namespaces(kube: FakeKubeApi) -> None:
    import keybroker
    from kubernetes import client as k8s

    assert register_token(kube).exit_code == 0
    api_client = keybroker.get_client("kube")
    names = [ns.metadata.name for ns in k8s.CoreV1Api(api_client).list_namespace().items]
    assert names == NAMESPACES
    assert k8s.VersionApi(api_client).get_code().git_version == "v1.32.0-keybroker-test"


def test_auto_configure_from_kubeconfig(kube: FakeKubeApi, tmp_path: Path) -> None:
    import base64

    ca_file = tmp_path / "ca.pem"
    ca_file.write_text(kube.ca_pem)
    config = {
        "apiVersion": "v1",
        "kind": "Config",
        "current-context": "dev",
        "clusters": [
            {
                "name": "c-dev",
                "cluster": {"server": kube.server, "certificate-authority": str(ca_file)},
            },
            {
                "name": "c-prod",
                "cluster": {
                    "server": kube.server,
                    "certificate-authority-data": base64.b64encode(kube.ca_pem.encode()).decode(),
                },
            },
        ],
        "users": [
            {"name": "u-dev", "user": {"token": TOKEN}},
            {"name": "u-prod", "user": {"username": "admin", "password": "admin-password"}},
            {"name": "u-exec", "user": {"exec": {"command": "aws"}}},
        ],
        "contexts": [
            {"name": "dev", "context": {"cluster": "c-dev", "user": "u-dev"}},
            {"name": "prod", "context": {"cluster": "c-prod", "user": "u-prod"}},
            {"name": "sso", "context": {"cluster": "c-prod", "user": "u-exec"}},
        ],
    }
    kubeconfig().parent.mkdir(parents=True, exist_ok=True)
    kubeconfig().write_text(yaml.safe_dump(config))
    dev = run("connector", "register", "dev", "-t", "kubernetes", "--auto-configure")
    assert dev.exit_code == 0, dev.output
    prod = run(
        "connector",
        "register",
        "prod",
        "-t",
        "kubernetes",
        "--auto-configure",
        "--auto-configure-option",
        "context=prod",
    )
    assert prod.exit_code == 0, prod.output
    assert run_json("connector", "describe", "prod")["auth_method"] == "password"
    unknown = run(
        "connector",
        "register",
        "x",
        "-t",
        "kubernetes",
        "--auto-configure",
        "--auto-configure-option",
        "context=staging",
    )
    assert unknown.exit_code == 2
    assert unknown.output.startswith("Error: --auto-configure-option: unknown kubeconfig context")
    assert (
        "unknown kubeconfig context 'staging'" in unknown.output
        and "dev, prod, sso" in unknown.output
    )
    sso = run(
        "connector",
        "register",
        "x",
        "-t",
        "kubernetes",
        "--auto-configure",
        "--auto-configure-option",
        "context=sso",
    )
    assert sso.exit_code == 2 and "uses an exec plugin" in sso.output
    assert [c["name"] for c in run_json("connector", "list")] == ["dev", "prod"]


# -- temporary credentials: the exec credential plugin ---------------------------------------


def register_minted(kube: FakeKubeApi, expiration_seconds: int | None = None) -> Any:
    """Register connector 'minted' of the test-only minter type for the fake cluster."""
    extra = ["--expiration-seconds", str(expiration_seconds)] if expiration_seconds else []
    return run(
        "connector",
        "register",
        "minted",
        "-t",
        "minter",
        f"server={kube.server}",
        f"certificate_authority={kube.ca_pem}",
        f"token_file={kube.token_file}",
        "-r",
        "kubernetes-cluster",
        *extra,
    )


@pytest.fixture
def minter(tmp_path: Path, kube: FakeKubeApi) -> Iterator[dict[str, str]]:
    kube.token_file = tmp_path / "minted-tokens"
    with minter_installed(tmp_path / "site") as env:
        yield env


def test_temporary_token_login_keeps_kubectl_working_after_expiry(
    kube: FakeKubeApi, minter: dict[str, str]
) -> None:
    assert kube.token_file is not None
    registered = register_minted(kube, 5)
    assert registered.exit_code == 0, registered.output
    login = run("connector", "login", "minted", "--resource-id", "cluster-a")
    assert login.exit_code == 0, login.output
    assert "fresh token" in login.output
    data = yaml.safe_load(kubeconfig().read_text())
    user = next(u["user"] for u in data["users"] if u["name"] == data["current-context"])
    assert set(user) == {"exec"}  # no token written to the file
    assert user["exec"]["apiVersion"] == "client.authentication.k8s.io/v1"
    minted = kube.token_file.read_text().split()
    assert minted and not any(token in kubeconfig().read_text() for token in minted)

    first = kubectl("get", "namespaces", "-o", "name", env=minter)
    assert first.returncode == 0, first.stderr
    first_token = kube.seen_tokens[-1]
    kube.revoked.add(first_token)  # the first token has expired: the server refuses it now
    second = kubectl("get", "namespaces", "-o", "name", env=minter)
    assert second.returncode == 0, second.stderr
    assert kube.seen_tokens[-1] != first_token
    assert "namespace/default" in second.stdout.split()


def test_exec_credential_output(kube: FakeKubeApi, minter: dict[str, str]) -> None:
    assert register_minted(kube).exit_code == 0
    out = subprocess.run(
        [
            sys.executable,
            "-m",
            "keybroker_kubernetes.exec_credential",
            "--connector",
            "minted",
            "--resource-id",
            "cluster-a",
        ],
        capture_output=True,
        text=True,
        env={**os.environ, **minter},
        timeout=60,
    )
    assert out.returncode == 0, out.stderr
    credential = json.loads(out.stdout)
    assert credential["kind"] == "ExecCredential"
    assert credential["status"]["token"].startswith("minted-")
    assert credential["status"]["expirationTimestamp"].endswith("Z")
    missing = subprocess.run(
        [sys.executable, "-m", "keybroker_kubernetes.exec_credential", "--connector", "ghost"],
        capture_output=True,
        text=True,
        env={**os.environ, **minter},
        timeout=60,
    )
    assert missing.returncode == 1
    assert missing.stderr.startswith("keybroker: no connector named 'ghost'")


def test_python_client_renews_a_temporary_token(kube: FakeKubeApi, minter: dict[str, str]) -> None:
    import keybroker
    from kubernetes import client as k8s

    assert register_minted(kube, 30).exit_code == 0
    api = k8s.CoreV1Api(keybroker.get_client("minted", resource_id="cluster-a"))
    assert len(api.list_namespace().items) == len(NAMESPACES)
    kube.revoked.update(kube.seen_tokens)  # every token used so far has expired
    # 30 s is inside the renewal margin, so the client fetches a fresh token first
    assert len(api.list_namespace().items) == len(NAMESPACES)
    assert kube.seen_tokens[-1] not in kube.revoked


# -- client certificates (mutual TLS) ----------------------------------------------------------


def register_certificate(kube: FakeKubeApi, name: str, cert: str, key: str) -> Any:
    return run(
        "connector",
        "register",
        name,
        "-t",
        "kubernetes",
        "-a",
        "client-certificate",
        f"server={kube.server}",
        f"certificate_authority={kube.ca_pem}",
        f"client_certificate={cert}",
        f"client_key={key}",
    )


def test_client_certificate_verify_login_and_python_client(kube: FakeKubeApi) -> None:
    import keybroker
    from kubernetes import client as k8s

    cert, key = kube.client_certificate("kube-admin")
    result = register_certificate(kube, "kube-cert", cert, key)
    assert result.exit_code == 0, result.output
    assert run_json("connector", "describe", "kube-cert")["secrets"] == {"client_key": "[HIDDEN]"}
    assert run("connector", "login", "kube-cert").exit_code == 0
    out = kubectl("get", "namespaces", "-o", "name")
    assert out.returncode == 0, out.stderr
    assert "namespace/kube-system" in out.stdout.split()
    api = k8s.CoreV1Api(keybroker.get_client("kube-cert"))
    assert [n.metadata.name for n in api.list_namespace().items] == NAMESPACES


def test_certificate_the_cluster_does_not_know_is_refused(kube: FakeKubeApi) -> None:
    from peers.tls import CertificateAuthority

    cert, key = CertificateAuthority("someone else").issue("intruder", server=False)
    result = register_certificate(kube, "kube-cert", cert, key)
    assert result.exit_code == 1
    assert "refused the client certificate" in result.output
    assert run_json("connector", "list") == []


def test_malformed_client_key_is_refused_without_echoing_it(kube: FakeKubeApi) -> None:
    cert, _ = kube.client_certificate("kube-admin")
    result = register_certificate(kube, "kube-cert", cert, "not-a-key-but-a-secret")
    assert result.exit_code == 2
    assert "client_key is not an unencrypted PEM private key" in result.output
    assert "not-a-key-but-a-secret" not in result.output


def test_auto_configure_imports_a_client_certificate(kube: FakeKubeApi) -> None:
    import base64

    cert, key = kube.client_certificate("kube-admin")
    config = {
        "apiVersion": "v1",
        "kind": "Config",
        "current-context": "kind",
        "clusters": [
            {
                "name": "kind",
                "cluster": {
                    "server": kube.server,
                    "certificate-authority-data": base64.b64encode(kube.ca_pem.encode()).decode(),
                },
            }
        ],
        "users": [
            {
                "name": "kind",
                "user": {
                    "client-certificate-data": base64.b64encode(cert.encode()).decode(),
                    "client-key-data": base64.b64encode(key.encode()).decode(),
                },
            }
        ],
        "contexts": [{"name": "kind", "context": {"cluster": "kind", "user": "kind"}}],
    }
    kubeconfig().parent.mkdir(parents=True, exist_ok=True)
    kubeconfig().write_text(yaml.safe_dump(config))
    result = run("connector", "register", "kind", "-t", "kubernetes", "--auto-configure")
    assert result.exit_code == 0, result.output
    assert run_json("connector", "describe", "kind")["auth_method"] == "client-certificate"
