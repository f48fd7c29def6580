"""Open hook: ``keybroker connector login`` configures kubectl for a cluster."""

from __future__ import annotations

import base64
import os
import re
import shutil
import sys
from pathlib import Path
from typing import Any

from keybroker.plugin import (
    KUBERNETES,
    KUBERNETES_CLUSTER,
    LocalLoginRequest,
    LocalTool,
    LoginResult,
    hookimpl,
    locked_tool_file,
)

EXEC_API_VERSION = "client.authentication.k8s.io/v1"
CREDENTIAL_SCRIPT = "keybroker-kube-credential"


def credential_command() -> list[str]:
    """How kubectl runs keybroker's exec credential plugin: an absolute path if possible."""
    beside = Path(sys.executable).with_name(CREDENTIAL_SCRIPT)
    if beside.exists():
        return [str(beside)]
    found = shutil.which(CREDENTIAL_SCRIPT)
    if found:
        return [str(Path(found).resolve())]
    return [sys.executable, "-m", "keybroker_kubernetes.exec_credential"]


def context_name(request: LocalLoginRequest) -> str:
    """``<connector>`` for a cluster connector, ``<connector>-<cluster id>`` for a derived one."""
    name = request.source_name
    if request.resource_id and request.resource_id != request.client.resource_id:
        name = f"{name}-{request.resource_id}"
    return re.sub(r"[^A-Za-z0-9._@:-]+", "-", name)


def _b64(text: str) -> str:
    return base64.b64encode(text.encode()).decode()


def user_entry(request: LocalLoginRequest) -> tuple[dict[str, Any], bool]:
    """The kubeconfig ``user`` body, and whether it fetches fresh credentials by itself."""
    client = request.client
    secrets = {k: v.get_secret_value() for k, v in client.secrets.items()}
    if client.expires_at is not None and client.auth_method == "token":
        command = credential_command()
        args = [
            *command[1:],
            "--connector",
            str(request.source_id),
            "--resource-type",
            request.resource_type,
        ]
        if request.resource_id:
            args += ["--resource-id", request.resource_id]
        exec_entry: dict[str, Any] = {
            "apiVersion": EXEC_API_VERSION,
            "command": command[0],
            "args": args,
            "env": [{"name": k, "value": v} for k, v in sorted(request.refresh_env.items())],
            "interactiveMode": "Never",
            "provideClusterInfo": False,
        }
        return {"exec": exec_entry}, True
    if client.auth_method == "token":
        return {"token": secrets["token"]}, False
    if client.auth_method == "client-certificate":
        return {
            "client-certificate-data": _b64(str(client.configuration["client_certificate"])),
            "client-key-data": _b64(secrets["client_key"]),
        }, False
    return {
        "username": client.configuration.get("username"),
        "password": secrets["password"],
    }, False


@hookimpl
def declare_local_tool() -> LocalTool:
    """kubectl, configured through its kubeconfig file, for Kubernetes cluster clients."""
    return LocalTool(
        tool="kubectl",
        name="kubectl (kubeconfig)",
        description="Merges a context for the cluster into the kubeconfig and makes it current.",
        connector_types=[KUBERNETES],
        resource_types=[KUBERNETES_CLUSTER],
    )


@hookimpl
def configure_local_tool(request: LocalLoginRequest) -> LoginResult:
    """Merge a context for the cluster into the kubeconfig and make it current."""
    from keybroker_kubernetes.kubeconfig import (
        cluster_entry,
        dump_kubeconfig,
        kubeconfig_path,
        merge_context,
        parse_kubeconfig,
    )

    path = kubeconfig_path()
    config = request.client.configuration
    name = context_name(request)
    user, refreshes = user_entry(request)
    cluster = cluster_entry(
        str(config["server"]), config.get("certificate_authority"), bool(config.get("insecure"))
    )
    with locked_tool_file(path) as kubeconfig:  # kubectl's own lock; re-read under it
        data = parse_kubeconfig(kubeconfig.read_text(), path)  # refuses a broken file
        kubeconfig.write_text(dump_kubeconfig(merge_context(data, name, cluster, user)))
    messages = [f"Updated {path}: context '{name}' for {config['server']} is now current."]
    if refreshes:
        messages.append(
            "kubectl asks keybroker for a fresh token whenever it needs one "
            f"({os.path.basename(user['exec']['command'])})."
        )
    return LoginResult(tool="kubectl", messages=messages, refreshes_itself=refreshes)
