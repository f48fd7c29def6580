"""Finding Google credentials in the local environment, as google-auth and gcloud do.

The credentials file is ``GOOGLE_APPLICATION_CREDENTIALS`` when it is set,
else gcloud's application-default file in ``CLOUDSDK_CONFIG`` (by default
``~/.config/gcloud``). The auth method follows the file's ``type``.
"""

from __future__ import annotations

import configparser
import contextlib
import json
import os
from datetime import UTC
from pathlib import Path
from typing import Any

from keybroker.plugin import AutoConfiguration, Connector, UsageError

ADC_FILE = "application_default_credentials.json"
OPTIONS = frozenset({"project_id", "api_endpoint", "target_principal", "delegates"})
FILE_METHODS = {"service_account": "service-account", "authorized_user": "user-account"}


def gcloud_config_dir() -> Path:
    """gcloud's configuration directory: ``CLOUDSDK_CONFIG`` or the platform default."""
    configured = os.environ.get("CLOUDSDK_CONFIG")
    if configured:
        return Path(configured).expanduser()
    if os.name == "nt" and os.environ.get("APPDATA"):
        return Path(os.environ["APPDATA"]) / "gcloud"
    return Path.home() / ".config" / "gcloud"


def credentials_file() -> Path | None:
    """The application default credentials file google-auth would read, if there is one."""
    named = os.environ.get("GOOGLE_APPLICATION_CREDENTIALS")
    if named:
        path = Path(named).expanduser()
        if not path.is_file():
            raise UsageError(
                f"GOOGLE_APPLICATION_CREDENTIALS names {path}, which is not a readable file"
            )
        return path
    path = gcloud_config_dir() / ADC_FILE
    return path if path.is_file() else None


def gcloud_project(config_dir: Path) -> str | None:
    """The ``core/project`` of gcloud's active configuration, if set."""
    active = "default"
    with contextlib.suppress(OSError):
        active = (config_dir / "active_config").read_text().strip() or "default"
    parser = configparser.ConfigParser()
    try:
        parser.read(config_dir / "configurations" / f"config_{active}")
    except configparser.Error:
        return None
    return parser.get("core", "project", fallback=None) or None


def _read(path: Path) -> tuple[str, dict[str, Any]]:
    try:
        text = path.read_text()
    except OSError as exc:
        raise UsageError(f"cannot read {path}: {exc.strerror}") from None
    try:
        data = json.loads(text)
    except ValueError:
        raise UsageError(f"{path} is not a Google credentials file (not JSON)") from None
    if not isinstance(data, dict):
        raise UsageError(f"{path} is not a Google credentials file (not a JSON object)")
    return text, data


def _project(options: dict[str, str], data: dict[str, Any]) -> str | None:
    for candidate in (
        options.get("project_id"),
        os.environ.get("GOOGLE_CLOUD_PROJECT"),
        os.environ.get("CLOUDSDK_CORE_PROJECT"),
        data.get("project_id"),
        data.get("quota_project_id"),
        gcloud_project(gcloud_config_dir()),
    ):
        if isinstance(candidate, str) and candidate.strip():
            return candidate.strip()
    return None


def _need_project(project: str | None, path: Path | None) -> str:
    if project:
        return project
    where = f" for {path}" if path else ""
    raise UsageError(
        f"no GCP project found{where}: give --auto-configure-option project_id=PROJECT (or set "
        "GOOGLE_CLOUD_PROJECT, or 'gcloud config set project PROJECT')"
    )


def _as_oauth2_token(method: str, attributes: dict[str, Any], path: Path) -> AutoConfiguration:
    """Mint an access token from the credentials found, for an ``oauth2-token`` connector."""
    from pydantic import ValidationError

    from keybroker_gcp.configs import GCPConfig
    from keybroker_gcp.declaration import CONNECTOR_TYPE
    from keybroker_gcp.tokens import mint

    declared = CONNECTOR_TYPE.auth_method(method)
    assert declared is not None
    try:
        config = declared.config_schema.model_validate(attributes)
    except ValidationError as exc:
        problems = "; ".join(str(e.get("msg", "invalid")) for e in exc.errors())
        raise UsageError(f"{path}: {problems}") from None
    assert isinstance(config, GCPConfig)
    source = Connector(name="auto-configure", connector_type="gcp", auth_method=method)
    token = mint(source, config)
    result: dict[str, Any] = {
        "token": token.token,
        "expires_at": token.expires_at.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
        "project_id": config.project(),
    }
    if config.api_endpoint:
        result["api_endpoint"] = config.api_endpoint
    return AutoConfiguration(
        auth_method="oauth2-token", attributes=result, expires_at=token.expires_at
    )


def discover(auth_method: str | None, options: dict[str, str]) -> AutoConfiguration:
    """What google-auth would use here, as a connector of the matching auth method.

    ``options``: ``project_id``, ``api_endpoint``, and for ``impersonation``
    ``target_principal`` and ``delegates`` (comma-separated).
    """
    unknown = sorted(set(options) - OPTIONS)
    if unknown:
        raise UsageError(
            f"unknown auto-configure option '{unknown[0]}' for gcp; known: "
            f"{', '.join(sorted(OPTIONS))}"
        )
    path = credentials_file()
    extra: dict[str, Any] = {}
    if options.get("api_endpoint"):
        extra["api_endpoint"] = options["api_endpoint"]
    if path is None:
        if auth_method == "implicit":
            ambient = _need_project(_project(options, {}), None)
            return AutoConfiguration(
                auth_method="implicit", attributes={"project_id": ambient, **extra}
            )
        raise UsageError(
            "no Google credentials found: set GOOGLE_APPLICATION_CREDENTIALS to a key file, or "
            f"run 'gcloud auth application-default login' (looked in {gcloud_config_dir()})"
        )
    text, data = _read(path)
    kind = str(data.get("type") or "?")
    project = _project(options, data)
    if auth_method == "implicit":
        return AutoConfiguration(
            auth_method="implicit",
            attributes={"project_id": _need_project(project, path), **extra},
        )
    found = FILE_METHODS.get(kind)
    if found is None:
        raise UsageError(
            f"{path} holds '{kind}' credentials, which a connector cannot store; register "
            "with -a implicit to use them where keybroker runs"
        )
    attributes: dict[str, Any] = dict(extra)
    if found == "service-account":
        attributes["service_account_json"] = text
        if options.get("project_id") or not data.get("project_id"):
            attributes["project_id"] = _need_project(project, path)
    else:
        attributes["user_account_json"] = text
        attributes["project_id"] = _need_project(project, path)
    chosen = auth_method or found
    if chosen == "oauth2-token":
        return _as_oauth2_token(found, attributes, path)
    if chosen == "impersonation" and found == "service-account":
        target = options.get("target_principal")
        if not target:
            raise UsageError(
                "auth method 'impersonation' needs --auto-configure-option "
                "target_principal=EMAIL (the service account to impersonate)"
            )
        attributes["target_principal"] = target
        if options.get("delegates"):
            attributes["delegates"] = [d for d in options["delegates"].split(",") if d.strip()]
        return AutoConfiguration(auth_method="impersonation", attributes=attributes)
    if chosen != found:
        raise UsageError(
            f"{path} holds '{kind}' credentials; they fit auth method '{found}', not '{chosen}'"
        )
    return AutoConfiguration(auth_method=found, attributes=attributes)
