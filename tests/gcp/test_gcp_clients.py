"""GCP connector clients used for real: kubectl, skopeo and Python clients.

Peers: kubectl against the project's TLS API server (the cluster endpoint the
fake GKE reports), skopeo against Debian's docker-registry delegating to the
fake's token realm (Google's registries take ``oauth2accesstoken`` and an
access token), google-cloud-storage against the gcp-storage-emulator.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

import keybroker
from gcp.conftest import IMAGE_REPOSITORY, GcpWorld
from peers.cli_runner import run, run_json
from peers.fake_google import PROJECT
from peers.registry import TAG, require

CLUSTER = "us-central1/prod"
ARTIFACT_REPOSITORY = "us-central1-docker.pkg.dev/test-project/images"


def register(gcp: GcpWorld, name: str, *options: str) -> None:
    result = run(
        "connector",
        "register",
        name,
        "-t",
        "gcp",
        "-a",
        "service-account",
        *options,
        *gcp.attributes(),
    )
    assert result.exit_code == 0, result.output


def kubeconfig() -> Path:
    return Path(os.environ["KUBECONFIG"])


def docker_config() -> Path:
    return Path(os.environ["DOCKER_CONFIG"]) / "config.json"


def tool_env() -> dict[str, str]:
    """The environment kubectl and skopeo run in: keybroker's helpers on PATH."""
    environment = {k: v for k, v in os.environ.items() if k != "XDG_RUNTIME_DIR"}
    environment["PATH"] = os.pathsep.join([str(Path(sys.executable).parent), environment["PATH"]])
    return environment


def kubectl(*args: str) -> subprocess.CompletedProcess[str]:
    require("kubectl")
    return subprocess.run(
        ["kubectl", "--kubeconfig", str(kubeconfig()), *args],
        capture_output=True,
        text=True,
        timeout=60,
        env=tool_env(),
    )


def skopeo(*args: str) -> subprocess.CompletedProcess[str]:
    require("skopeo")
    return subprocess.run(
        ["skopeo", *args, "--authfile", str(docker_config()), "--tls-verify=false"],
        capture_output=True,
        text=True,
        timeout=60,
        env=tool_env(),
    )


def test_gke_cluster_login_then_kubectl_works(gcp: GcpWorld) -> None:
    register(gcp, "gcp-gke", "-r", "kubernetes-cluster")
    client = run_json(
        "connector", "describe", "gcp-gke", "--resource-id", f"gke_{PROJECT}_us-central1_prod", "-x"
    )
    assert client["connector_type"] == "kubernetes" and client["auth_method"] == "token"
    assert client["configuration"]["server"] == gcp.kube.server
    assert client["configuration"]["certificate_authority"].strip() == gcp.kube.ca_pem.strip()
    token = client["secrets"]["token"]
    assert gcp.google.tokens[token].principal == gcp.email
    assert client["expires_at"] is not None

    login = run("connector", "login", "gcp-gke", "--resource-id", CLUSTER)
    assert login.exit_code == 0, login.output
    text = kubeconfig().read_text()
    assert token not in text  # kubectl asks keybroker for tokens instead
    config = yaml.safe_load(text)
    assert config["current-context"] == "gcp-gke-us-central1-prod"
    out = kubectl("get", "namespaces", "-o", "name")
    assert out.returncode == 0, out.stderr
    assert out.stdout.split() == [
        "namespace/default",
        "namespace/kube-system",
        "namespace/team-data",
    ]
    # every token kubectl sent was minted by Google (the fake) for the service account
    assert gcp.kube.seen_tokens and all(
        gcp.google.tokens[t].principal == gcp.email for t in gcp.kube.seen_tokens
    )


def test_registry_login_then_skopeo_reads_the_image(gcp: GcpWorld) -> None:
    register(gcp, "gcp-ar", "-r", "docker-registry", "--resource-id", ARTIFACT_REPOSITORY)
    client = run_json("connector", "describe", "gcp-ar", "--resource-id", ARTIFACT_REPOSITORY, "-x")
    assert client["connector_type"] == "docker"
    # the host Artifact Registry reports for the repository (here the test registry)
    assert client["configuration"] == {
        "registry": gcp.registry.host,
        "username": "oauth2accesstoken",
    }
    assert client["secrets"]["password"].startswith("ya29.")

    login = run("connector", "login", "gcp-ar")
    assert login.exit_code == 0, login.output
    assert json.loads(docker_config().read_text())["credHelpers"] == {
        gcp.registry.host: "keybroker"
    }
    assert client["secrets"]["password"] not in docker_config().read_text()
    tags = skopeo("list-tags", f"docker://{gcp.registry.host}/{IMAGE_REPOSITORY}")
    assert tags.returncode == 0, tags.stderr
    assert json.loads(tags.stdout)["Tags"] == [TAG]
    inspected = skopeo("inspect", f"docker://{gcp.registry.host}/{IMAGE_REPOSITORY}:{TAG}")
    assert inspected.returncode == 0, inspected.stderr

    # the realm refuses a dead token, as Google's registries do: skopeo needs keybroker's
    gcp.google.members.clear()
    denied = skopeo("list-tags", f"docker://{gcp.registry.host}/{IMAGE_REPOSITORY}")
    assert denied.returncode != 0


def test_storage_client_reads_an_object_with_a_bucket_scoped_token(gcp: GcpWorld) -> None:
    gcp.emulator.bucket("reports", {"q3.csv": b"revenue,42\n"})
    register(gcp, "gcp-gcs", "-r", "gcs-bucket", "--resource-id", "gs://reports")
    storage = keybroker.get_client("gcp-gcs")
    assert type(storage).__module__.startswith("google.cloud.storage")
    assert storage.project == PROJECT
    blob = storage.bucket("reports").blob("q3.csv")
    assert blob.download_as_bytes() == b"revenue,42\n"
    token = storage._credentials.token
    issued = gcp.google.tokens[token]
    assert issued.principal == gcp.email
    # the token the client holds is the STS exchange's: bounded to this bucket only
    assert issued.boundary == {
        "rules": [
            {
                "availableResource": "//storage.googleapis.com/projects/_/buckets/reports",
                "availablePermissions": [
                    "inRole:roles/storage.objectAdmin",
                    "inRole:roles/storage.legacyBucketReader",
                ],
            }
        ]
    }
    # such a token reaches nothing else: GKE (the fake, like Google) refuses it
    assert "PERMISSION_DENIED" in str(_gke_with(gcp, token))


def _gke_with(gcp: GcpWorld, token: str) -> object:
    from keybroker_gcp.rest import GoogleApi

    try:
        return GoogleApi(token, gcp.google.url).get(
            "container", f"/v1/projects/{PROJECT}/locations/-/clusters", "GKE"
        )
    except Exception as exc:
        return exc


def test_generic_credentials_renew_through_keybroker(gcp: GcpWorld) -> None:
    from google.auth.transport.requests import AuthorizedSession

    register(gcp, "gcp-any")
    credentials = keybroker.get_client("gcp-any", resource_type="gcp-generic")
    assert credentials.project_id == PROJECT
    assert credentials.valid
    session = AuthorizedSession(credentials)
    url = f"{gcp.google.url}/v1/projects/{PROJECT}"
    assert session.get(url, timeout=10).json()["lifecycleState"] == "ACTIVE"
    assert "ya29" not in repr(credentials)


def test_tokens_are_cached_then_renewed_under_a_running_storage_client(gcp: GcpWorld) -> None:
    from datetime import datetime, timedelta

    from keybroker_gcp.tokens import forget_tokens

    gcp.emulator.bucket("reports", {"a.txt": b"a"})
    register(gcp, "gcp-job", "-r", "gcs-bucket", "--resource-id", "reports")

    def issued_token() -> str:
        client = run_json("connector", "describe", "gcp-job", "--resource-id", "reports", "-x")
        return str(client["secrets"]["token"])

    first = issued_token()
    assert issued_token() == first  # still fresh: the cached token is handed out again
    grants = len(gcp.google.grants)

    storage = keybroker.get_client("gcp-job")
    credentials = storage._credentials
    before = credentials.token
    assert storage.bucket("reports").blob("a.txt").download_as_bytes() == b"a"
    assert len(gcp.google.grants) == grants  # no new token for the client either
    # let the job run "for an hour": keybroker's tokens are gone, the client's is about to go
    forget_tokens()
    credentials.expiry = datetime.utcnow() + timedelta(seconds=30)
    assert storage.bucket("reports").blob("a.txt").download_as_bytes() == b"a"
    after = credentials.token
    assert after != before  # google-auth asked keybroker, which minted and down-scoped anew
    assert gcp.google.tokens[after].boundary is not None
    assert len(gcp.google.grants) == grants + 1
    assert issued_token() == after  # and the renewed token is the cached one now


def test_kubernetes_client_renews_its_token_when_the_old_one_dies(gcp: GcpWorld) -> None:
    from datetime import timedelta

    from keybroker_gcp.tokens import forget_tokens

    from keybroker.connector import utcnow
    from kubernetes import client as k8s

    register(gcp, "gcp-k8s", "-r", "kubernetes-cluster", "--resource-id", CLUSTER)
    api = keybroker.get_client("gcp-k8s")
    core = k8s.CoreV1Api(api)
    assert next(n.metadata.name for n in core.list_namespace().items) == "default"
    old = list(gcp.kube.seen_tokens)
    gcp.kube.revoked.update(old)  # Google's token expired: the API server refuses it now
    forget_tokens()
    api.configuration.refresh_api_key_hook.expires_at = utcnow() + timedelta(seconds=5)
    names = [n.metadata.name for n in core.list_namespace().items]
    assert "kube-system" in names
    assert gcp.kube.seen_tokens[-1] not in old


def test_ambient_proxies_and_netrc_are_not_used(
    gcp: GcpWorld, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A dead proxy for plain http and a .netrc entry for the fake change nothing."""
    dead = "http://127.0.0.1:9"
    for variable in ("HTTP_PROXY", "http_proxy", "ALL_PROXY", "all_proxy"):
        monkeypatch.setenv(variable, dead)
    netrc = Path(os.environ["NETRC"])
    netrc.write_text("machine 127.0.0.1 login intruder password ambient-secret\n")
    netrc.chmod(0o600)
    gcp.emulator.bucket("reports", {"a.txt": b"a"})
    register(gcp, "gcp-ambient", "-r", "gcs-bucket", "--resource-id", "reports")
    assert (
        keybroker.get_client("gcp-ambient").bucket("reports").blob("a.txt").download_as_bytes()
        == b"a"
    )
    verified = run_json("connector", "verify", "gcp-ambient")
    assert verified["resources"][0]["resource_ids"] == ["gs://reports"]
    assert gcp.google.grants and gcp.google.exchanges  # the token and STS calls went through
    assert gcp.google.basic_auth_paths == []  # and none carried the .netrc password
