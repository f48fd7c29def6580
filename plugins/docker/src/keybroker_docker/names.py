"""Registry names as users write them, and their canonical form (no SDK needed)."""

from __future__ import annotations

import re

from keybroker.plugin import UsageError

DOCKER_HUB = "docker.io"
DOCKER_HUB_ALIASES = {
    "docker.io",
    "index.docker.io",
    "registry-1.docker.io",
    "registry.hub.docker.com",
    "hub.docker.com",
}
DOCKER_HUB_API = "registry-1.docker.io"
DOCKER_HUB_CONFIG_KEY = "https://index.docker.io/v1/"
# used with fullmatch: '$' would also accept a trailing newline
HOST_PATTERN = re.compile(
    r"(?:[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?)(?:\.[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?)*"
    r"(?::[0-9]{1,5})?|\[[0-9a-f:]+\](?::[0-9]{1,5})?"
)
DIGEST_PATTERN = re.compile(r"[a-z0-9]+(?:[+._-][a-z0-9]+)*:[A-Za-z0-9=_-]+")


def canonical_registry(value: str | None) -> str:
    """``host[:port]`` of a registry from a URL, a host or an image reference.

    As docker does, a first path component without '.', ':' or 'localhost' is a
    Docker Hub repository, so ``ubuntu`` and ``library/ubuntu:22.04`` mean Docker Hub.
    """
    text = (value or "").strip()
    if not text:
        return DOCKER_HUB
    if any(c.isspace() or not c.isprintable() for c in text):
        raise UsageError(
            f"invalid registry {text!r}: it contains spaces or control characters; use a host "
            "such as ghcr.io or 127.0.0.1:5000"
        )
    lowered = text.lower()
    for scheme in ("https://", "http://"):
        if lowered.startswith(scheme):
            text = text[len(scheme) :]
            break
    else:
        if "://" in text:
            raise UsageError(
                f"invalid registry '{value}': use a host such as ghcr.io or 127.0.0.1:5000, "
                "optionally with https:// and a repository path"
            )
    first, _, digest = text.split("/", 1)[0].partition("@")
    if digest and not DIGEST_PATTERN.fullmatch(digest):  # user:password@host, not image@digest
        raise UsageError(  # the value is not echoed: it may hold a password
            "invalid registry: give the host without credentials (user:password@); they "
            "belong in username and password"
        )
    if "/" not in text and ":" in first and not first.split(":", 1)[1].isdigit():
        first = first.split(":", 1)[0]  # "ubuntu:22.04" is an image, not host:port
    host = first.lower()
    is_registry = "." in host or ":" in host or host == "localhost" or host.startswith("[")
    if not is_registry:
        return DOCKER_HUB
    if host in DOCKER_HUB_ALIASES:
        return DOCKER_HUB
    if not HOST_PATTERN.fullmatch(host):
        raise UsageError(
            f"invalid registry '{value}': use a host such as ghcr.io or 127.0.0.1:5000, "
            "optionally with https:// and a repository path"
        )
    return host


def api_base_url(registry: str | None) -> str:
    """The base URL of the registry's HTTP API (v2).

    Plain http for loopback registries and registries given as http://, https otherwise.
    """
    host = canonical_registry(registry)
    if host == DOCKER_HUB:
        return f"https://{DOCKER_HUB_API}"
    explicit_http = (registry or "").strip().lower().startswith("http://")
    loopback = host.split(":")[0] in ("127.0.0.1", "localhost", "[::1]")
    return f"{'http' if explicit_http or loopback else 'https'}://{host}"


def config_key(host: str) -> str:
    """The key docker uses for a registry in config.json."""
    return DOCKER_HUB_CONFIG_KEY if host == DOCKER_HUB else host
