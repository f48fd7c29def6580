"""Open hook: ``keybroker connector login`` configures the docker client for a registry.

Static credentials go into ``auths`` as ``docker login`` would write them.
Temporary ones never do: the registry gets a ``credHelpers`` entry naming
``docker-credential-keybroker``, and a mapping file next to config.json tells
that helper which connector to ask for fresh credentials.
"""

from __future__ import annotations

import base64
import json
import shutil
import sys
from pathlib import Path
from typing import Any

from keybroker.plugin import (
    DOCKER,
    DOCKER_REGISTRY,
    LocalLoginRequest,
    LocalTool,
    LoginResult,
    hookimpl,
    locked_tool_file,
)

HELPER_NAME = "keybroker"
HELPER_EXECUTABLE = f"docker-credential-{HELPER_NAME}"
MAPPING_FILE = "keybroker-credentials.json"


def parse_mapping(text: str | None) -> dict[str, Any]:
    """The mapping file's text parsed; empty when missing or unreadable."""
    if not text:
        return {}
    try:
        data = json.loads(text)
    except ValueError:
        return {}
    return data if isinstance(data, dict) else {}


def read_mapping(directory: Path) -> dict[str, Any]:
    """Registry host -> the connector that issues its credentials (no secrets)."""
    try:
        return parse_mapping((directory / MAPPING_FILE).read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError):
        return {}


def helper_location() -> str | None:
    """Where ``docker-credential-keybroker`` is, if docker can find it on PATH."""
    return shutil.which(HELPER_EXECUTABLE)


@hookimpl
def declare_local_tool() -> LocalTool:
    """The docker client, configured through its config.json, for registry clients."""
    return LocalTool(
        tool="docker",
        name="docker client (config.json)",
        description="Writes the registry's credentials, or for temporary ones a credential "
        "helper entry, into the docker client's config.json.",
        connector_types=[DOCKER],
        resource_types=[DOCKER_REGISTRY],
    )


@hookimpl
def configure_local_tool(request: LocalLoginRequest) -> LoginResult:
    """Write the registry's entry into the docker client's config.json."""
    from keybroker_docker.implementation import docker_config_dir, parse_docker_config
    from keybroker_docker.names import canonical_registry, config_key

    directory = docker_config_dir()
    path = directory / "config.json"
    client = request.client
    host = canonical_registry(client.configuration.get("registry"))
    key = config_key(host)
    # docker itself does not lock config.json; keybroker takes kubectl's '<file>.lock'
    # convention so that concurrent logins never lose each other's entries
    with locked_tool_file(path) as config_file:
        data = parse_docker_config(config_file.read_text(), path)  # refuses a broken file
        auths: dict[str, Any] = data.setdefault("auths", {})
        helpers: dict[str, Any] = data.get("credHelpers") or {}
        if client.expires_at is None:
            username = str(client.configuration["username"])
            password = client.secrets["password"].get_secret_value()
            auths[key] = {"auth": base64.b64encode(f"{username}:{password}".encode()).decode()}
            if helpers.pop(host, None) is not None:
                data["credHelpers"] = helpers
            config_file.write_text(json.dumps(data, indent="\t") + "\n")
            message = f"Updated {path}: docker is logged in to {host} as '{username}'."
            return LoginResult(tool="docker", messages=[message])
        auths.pop(key, None)
        auths.pop(host, None)
        helpers[host] = HELPER_NAME
        data["credHelpers"] = helpers
        with locked_tool_file(directory / MAPPING_FILE) as mapping_file:
            mapping = parse_mapping(mapping_file.read_text())
            mapping[host] = {
                "connector": str(request.source_id),
                "connector_name": request.source_name,
                "resource_type": request.resource_type,
                "resource_id": request.resource_id,
                "env": request.refresh_env,
            }
            mapping_file.write_text(json.dumps(mapping, indent=2) + "\n")
        config_file.write_text(json.dumps(data, indent="\t") + "\n")
    messages = [
        f"Updated {path}: docker asks {HELPER_EXECUTABLE} for fresh credentials for {host}."
    ]
    location = helper_location()
    if location is None:
        messages.append(
            f"Warning: {HELPER_EXECUTABLE} is not on PATH; add {Path(sys.executable).parent} "
            "to PATH so that docker can run it."
        )
    return LoginResult(tool="docker", messages=messages, refreshes_itself=True)
