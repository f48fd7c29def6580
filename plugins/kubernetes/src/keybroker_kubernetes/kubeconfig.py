"""Reading and merging kubeconfig files, leaving other entries alone."""

from __future__ import annotations

import base64
import os
from pathlib import Path
from typing import Any

import yaml

from keybroker.plugin import UsageError


def kubeconfig_path() -> Path:
    """The file kubectl writes to: the first entry of ``KUBECONFIG``, else ``~/.kube/config``."""
    env = os.environ.get("KUBECONFIG", "")
    first = next((p for p in env.split(os.pathsep) if p), None)
    return Path(first).expanduser() if first else Path.home() / ".kube" / "config"


def empty_kubeconfig() -> dict[str, Any]:
    """A kubeconfig with nothing in it."""
    return {"apiVersion": "v1", "kind": "Config", "clusters": [], "users": [], "contexts": []}


#: the kubeconfig lists, and the key of each entry's body
_SECTIONS = {"clusters": "cluster", "users": "user", "contexts": "context"}


def structure_problem(data: Any) -> str | None:
    """What makes parsed YAML something other than a kubeconfig (kubectl would refuse it too)."""
    if not isinstance(data, dict):
        return "it is not a YAML mapping"
    for section, body in _SECTIONS.items():
        entries = data.get(section)
        if entries is None:
            continue
        if not isinstance(entries, list):
            return f"'{section}' is not a list"
        for number, entry in enumerate(entries, start=1):
            if not isinstance(entry, dict) or not isinstance(entry.get("name"), str):
                return f"entry {number} of '{section}' has no name"
            if not isinstance(entry.get(body) or {}, dict):
                return f"the {body} of entry '{entry['name']}' in '{section}' is not a mapping"
    if not isinstance(data.get("current-context") or "", str):
        return "'current-context' is not a name"
    return None


def parse_kubeconfig(text: str | None, path: Path) -> dict[str, Any]:
    """A kubeconfig's text parsed (empty for None); refuse what is not a kubeconfig."""
    if text is None:
        return empty_kubeconfig()
    try:
        data = yaml.safe_load(text) or {}
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f" (line {mark.line + 1})" if mark is not None else ""
        raise UsageError(
            f"{path} is not valid YAML{where}; fix or move it, then retry (nothing was changed)"
        ) from None
    problem = structure_problem(data)
    if problem is not None:
        raise UsageError(
            f"{path} is not a kubeconfig file ({problem}); fix or move it, then retry "
            "(nothing was changed)"
        )
    return data


def read_kubeconfig(path: Path) -> dict[str, Any]:
    """The parsed file, an empty config if it does not exist; refuse what is not a kubeconfig."""
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        text = None
    except (OSError, UnicodeDecodeError):
        raise UsageError(f"cannot read {path} as a kubeconfig file; fix or move it") from None
    return parse_kubeconfig(text, path)


def _upsert(entries: list[dict[str, Any]], name: str, key: str, body: dict[str, Any]) -> None:
    for entry in entries:
        if isinstance(entry, dict) and entry.get("name") == name:
            entry[key] = body
            return
    entries.append({"name": name, key: body})


def merge_context(
    data: dict[str, Any],
    name: str,
    cluster: dict[str, Any],
    user: dict[str, Any],
    namespace: str | None = None,
) -> dict[str, Any]:
    """Add or replace cluster, user and context ``name`` and make it current."""
    data.setdefault("apiVersion", "v1")
    data.setdefault("kind", "Config")
    for key in ("clusters", "users", "contexts"):
        if data.get(key) is None:
            data[key] = []
    _upsert(data["clusters"], name, "cluster", cluster)
    _upsert(data["users"], name, "user", user)
    context: dict[str, Any] = {"cluster": name, "user": name}
    if namespace:
        context["namespace"] = namespace
    _upsert(data["contexts"], name, "context", context)
    data["current-context"] = name
    return data


def dump_kubeconfig(data: dict[str, Any]) -> str:
    """A kubeconfig as the YAML text written to its file."""
    return yaml.safe_dump(data, sort_keys=False, default_flow_style=False)


def cluster_entry(server: str, certificate_authority: str | None, insecure: bool) -> dict[str, Any]:
    """The ``cluster`` body of a kubeconfig entry."""
    body: dict[str, Any] = {"server": server}
    if certificate_authority:
        body["certificate-authority-data"] = base64.b64encode(
            certificate_authority.encode()
        ).decode()
    if insecure:
        body["insecure-skip-tls-verify"] = True
    return body


def find_context(data: dict[str, Any], context: str | None, path: Path) -> dict[str, Any]:
    """The cluster, user and name of ``context`` (or the current one) from a parsed kubeconfig."""
    contexts = {c["name"]: c.get("context") or {} for c in data.get("contexts") or []}
    name = context or data.get("current-context")
    if not name:
        raise UsageError(
            f"{path} has no current context; choose one with the auto-configure option "
            f"context=NAME ({', '.join(sorted(str(n) for n in contexts)) or 'none defined'})",
            parameter="auto_configure_options",
        )
    if name not in contexts:
        known = ", ".join(sorted(str(n) for n in contexts)) or "none"
        raise UsageError(
            f"unknown kubeconfig context '{name}' in {path}; contexts: {known}",
            parameter="auto_configure_options" if context else None,
        )
    entry = contexts[name]
    clusters = {c["name"]: c.get("cluster") or {} for c in data.get("clusters") or []}
    users = {u["name"]: u.get("user") or {} for u in data.get("users") or []}
    cluster, user = entry.get("cluster"), entry.get("user")
    if not isinstance(cluster, str) or cluster not in clusters:
        raise UsageError(f"context '{name}' in {path} names an unknown cluster")
    return {
        "name": name,
        "cluster": clusters[cluster],
        "user": (users.get(user) or {}) if isinstance(user, str) else {},
        "base": path.parent,
    }
