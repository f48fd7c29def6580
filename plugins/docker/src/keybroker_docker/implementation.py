"""Behaviour of the ``docker`` connector type, imported on first use."""

from __future__ import annotations

import base64
import binascii
import json
import os
from collections.abc import Callable
from pathlib import Path
from typing import Any

from keybroker.plugin import (
    AuthConfig,
    AutoConfiguration,
    Connector,
    UsageError,
    config_as,
    hookimpl,
)
from keybroker_docker.declaration import RESOURCE_TYPE, PasswordConfig
from keybroker_docker.names import canonical_registry, config_key
from keybroker_docker.registry_api import RegistrySession


@hookimpl
def canonical_resource_id(resource_type: str, resource_id: str) -> str:
    """A registry is named by its host: ``https://GHCR.io/org/app:1`` becomes ``ghcr.io``."""
    return canonical_registry(resource_id)


@hookimpl
def default_resource_id(resource_type: str, config: AuthConfig) -> str | None:
    """The registry's name comes from the ``registry`` attribute (Docker Hub by default)."""
    config = config_as(config, PasswordConfig)
    return canonical_registry(config.registry)


def _session(config: PasswordConfig) -> RegistrySession:
    return RegistrySession(config.registry, config.username, config.password.get_secret_value())


@hookimpl
def verify(
    connector: Connector, config: AuthConfig, resource_type: str | None, resource_id: str | None
) -> list[str]:
    """Log in to the registry's /v2/ endpoint."""
    config = config_as(config, PasswordConfig)
    name = canonical_registry(config.registry)
    if resource_id is not None and resource_id != name:
        raise UsageError(
            f"this connector reaches registry '{name}', not '{resource_id}'",
            parameter="resource_id",
        )
    _session(config).check()
    return [] if resource_type is None else [name]


def docker_config_dir() -> Path:
    """The docker client's configuration directory: ``DOCKER_CONFIG`` or ``~/.docker``."""
    return Path(os.environ.get("DOCKER_CONFIG") or Path.home() / ".docker")


def parse_docker_config(text: str | None, path: Path) -> dict[str, Any]:
    """A config.json's text parsed (empty for None); refuse what is not a JSON object."""
    if text is None:
        return {}
    try:
        data = json.loads(text or "{}")
    except ValueError as exc:
        raise UsageError(
            f"{path} is not valid JSON ({exc.args[0].split(':')[0]}); fix or move it, then "
            "retry (nothing was changed)"
        ) from None
    if not isinstance(data, dict):
        raise UsageError(f"{path} is not a docker config file (expected a JSON object)")
    problem = structure_problem(data)
    if problem is not None:
        raise UsageError(
            f"{path} is not a docker config file ({problem}); fix or move it, then retry "
            "(nothing was changed)"
        )
    return data


def structure_problem(data: dict[str, Any]) -> str | None:
    """What in a parsed config.json the docker client itself would refuse, or None."""
    auths = data.get("auths")
    if auths is not None:
        if not isinstance(auths, dict):
            return "'auths' is not an object"
        for registry, entry in auths.items():
            if not isinstance(entry, dict):
                return f"the 'auths' entry of '{registry}' is not an object"
            for key in ("auth", "username", "password", "identitytoken"):
                if not isinstance(entry.get(key) or "", str):
                    return f"'{key}' of the 'auths' entry of '{registry}' is not a string"
    helpers = data.get("credHelpers")
    if helpers is not None and (
        not isinstance(helpers, dict) or not all(isinstance(v, str) for v in helpers.values())
    ):
        return "'credHelpers' is not an object of helper names"
    if not isinstance(data.get("credsStore") or "", str):
        return "'credsStore' is not a helper name"
    return None


def read_docker_config(path: Path) -> dict[str, Any]:
    """The parsed config.json (empty if missing); refuse a file that is not a JSON object."""
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        text = None
    except (OSError, UnicodeDecodeError):
        raise UsageError(f"cannot read {path} as a docker config file; fix or move it") from None
    return parse_docker_config(text, path)


@hookimpl
def auto_configure(auth_method: str | None, options: dict[str, str]) -> AutoConfiguration:
    """Take a registry's credentials from the docker client's config.json ``auths``."""
    path = docker_config_dir() / "config.json"
    data = read_docker_config(path)
    auths: dict[str, Any] = data.get("auths") or {}
    wanted = canonical_registry(options.get("registry")) if options.get("registry") else None
    candidates = {canonical_registry(key): value for key, value in auths.items()}
    if wanted is None:
        if len(candidates) != 1:
            known = ", ".join(sorted(candidates)) or "none"
            raise UsageError(
                f"choose a registry with the auto-configure option registry=HOST "
                f"(registries in {path}: {known})",
                parameter="auto_configure_options",
            )
        wanted = next(iter(candidates))
    entry = candidates.get(wanted)
    if not entry:
        helper = (data.get("credHelpers") or {}).get(wanted) or data.get("credsStore")
        hint = f" (its credentials are in the '{helper}' credential store)" if helper else ""
        raise UsageError(f"no credentials for registry '{wanted}' in {path}{hint}")
    username, password = entry.get("username"), entry.get("password")
    if entry.get("auth"):
        try:
            decoded = base64.b64decode("".join(entry["auth"].split()), validate=True).decode()
        except (binascii.Error, UnicodeDecodeError):
            raise UsageError(
                f"the 'auth' of the entry for '{wanted}' in {path} is not base64-encoded "
                "user:password; fix it (docker login rewrites it)"
            ) from None
        username, _, password = decoded.partition(":")
    if not username or not password:
        raise UsageError(f"the entry for '{wanted}' in {path} holds no user name and password")
    return AutoConfiguration(
        auth_method="password",
        attributes={"username": username, "password": password, "registry": wanted},
        resource_type=RESOURCE_TYPE,
    )


def _daemon_client(config: PasswordConfig) -> Any:
    """A ``docker.DockerClient`` logged in to the registry, or None without a daemon.

    The client knows the connector's credentials only: the docker SDK would
    otherwise read config.json and its credential helpers, and skip the login
    when they hold an entry for the same user.
    """
    try:
        from docker.auth import AuthConfig as DockerAuthConfig

        import docker

        client = docker.from_env(timeout=3)
        client.ping()
    except Exception:
        return None
    registry = config_key(canonical_registry(config.registry))
    own = {
        "username": config.username,
        "password": config.password.get_secret_value(),
        "serveraddress": registry,
    }
    client.api._auth_configs = DockerAuthConfig({"auths": {registry: own}})
    client.login(
        username=config.username,
        password=config.password.get_secret_value(),
        registry=registry,
        reauth=True,
    )
    return client


@hookimpl
def build_client(
    connector: Connector, config: AuthConfig, refresh: Callable[[], Connector] | None
) -> Any:
    """A logged-in ``docker.DockerClient`` when a daemon answers, else a registry session."""
    config = config_as(config, PasswordConfig)
    if connector.expires_at is None:
        client = _daemon_client(config)
        if client is not None:
            return client
    return RegistrySession(
        config.registry,
        config.username,
        config.password.get_secret_value(),
        expires_at=connector.expires_at,
        refresh=refresh,
    )
