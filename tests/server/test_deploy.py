"""deploy/: the Kubernetes manifests render, probe the right endpoints and inline no secret;
the Dockerfile builds in stages and runs unprivileged (no container engine runs here)."""

from __future__ import annotations

import re
import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest
import yaml

DEPLOY = Path(__file__).resolve().parents[2] / "deploy"
SECRET_VARIABLES = {
    "KEYBROKER_SERVER_DATABASE_URL",
    "KEYBROKER_SERVER_ENCRYPTION_KEY",
    "KEYBROKER_ADMIN_PASSWORD",
}


def _rendered() -> list[dict[str, Any]]:
    kubectl = shutil.which("kubectl")
    if kubectl is None:
        pytest.fail("kubectl is needed to render the manifests: bash .ci/install-peers")
    output = subprocess.run(
        [kubectl, "kustomize", str(DEPLOY / "kubernetes")],
        capture_output=True,
        text=True,
        check=True,
        timeout=60,
    ).stdout
    return [doc for doc in yaml.safe_load_all(output) if doc]


def _by_kind(documents: list[dict[str, Any]], kind: str) -> dict[str, Any]:
    [found] = [doc for doc in documents if doc["kind"] == kind]
    return found


def test_manifests_render_and_probe_health_and_readiness() -> None:
    documents = _rendered()
    deployment = _by_kind(documents, "Deployment")
    spec = deployment["spec"]
    assert spec["replicas"] >= 2
    assert spec["selector"]["matchLabels"].items() <= spec["template"]["metadata"]["labels"].items()
    [container] = spec["template"]["spec"]["containers"]
    assert container["readinessProbe"]["httpGet"]["path"] == "/ready"
    assert container["livenessProbe"]["httpGet"]["path"] == "/health"
    port_names = {p["name"]: p["containerPort"] for p in container["ports"]}
    assert container["readinessProbe"]["httpGet"]["port"] in port_names
    service = _by_kind(documents, "Service")
    assert service["spec"]["ports"][0]["targetPort"] in port_names
    assert service["spec"]["selector"] == spec["selector"]["matchLabels"]
    dockerfile = (DEPLOY / "Dockerfile").read_text()
    assert f"EXPOSE {port_names['http']}" in dockerfile


def test_secrets_come_from_a_secret_and_none_is_inline() -> None:
    documents = _rendered()
    assert not [doc for doc in documents if doc["kind"] == "Secret"]
    [container] = _by_kind(documents, "Deployment")["spec"]["template"]["spec"]["containers"]
    env = {item["name"]: item for item in container["env"]}
    assert set(env) >= SECRET_VARIABLES
    for name in SECRET_VARIABLES:
        assert "value" not in env[name], name
        assert env[name]["valueFrom"]["secretKeyRef"]["name"] == "keybroker-server"
    for path in (DEPLOY / "kubernetes").glob("*.yaml"):
        text = path.read_text()
        assert not re.search(r"postgresql(\+\w+)?://[^\s\"']*:[^\s\"'@]+@", text), path
        assert "stringData" not in text


def test_pods_run_unprivileged() -> None:
    pod = _by_kind(_rendered(), "Deployment")["spec"]["template"]["spec"]
    assert pod["securityContext"]["runAsNonRoot"] is True
    assert pod["securityContext"]["runAsUser"] != 0
    assert pod["automountServiceAccountToken"] is False
    [container] = pod["containers"]
    assert container["securityContext"]["allowPrivilegeEscalation"] is False
    assert container["securityContext"]["readOnlyRootFilesystem"] is True


def test_dockerfile_is_multi_stage_unprivileged_with_a_healthcheck() -> None:
    dockerfile = (DEPLOY / "Dockerfile").read_text()
    stages = re.findall(r"^FROM\s+\S+", dockerfile, flags=re.MULTILINE)
    assert len(stages) >= 2
    users = re.findall(r"^USER\s+(\S+)", dockerfile, flags=re.MULTILINE)
    assert users
    assert users[-1].split(":")[0] not in ("root", "0")
    assert re.search(r"^HEALTHCHECK .*\n?.*/health", dockerfile, flags=re.MULTILINE)
    assert "keybroker[server,all]" in dockerfile
    assert "--no-index" in dockerfile  # the run stage installs only the wheels built here
    for line in dockerfile.splitlines():
        assert not re.match(r"^(ENV|ARG)\s.*(PASSWORD|ENCRYPTION_KEY|DATABASE_URL)", line), line
