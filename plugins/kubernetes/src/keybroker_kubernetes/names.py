"""API server URLs and the resource names derived from them (no SDK needed)."""

from __future__ import annotations

from urllib.parse import urlsplit

from keybroker.plugin import UsageError


def parse_server(server: str) -> tuple[str, str, int | None]:
    """Split an API server URL into scheme, host and port; raise ``UsageError`` if malformed."""
    text = server.strip()
    parts = urlsplit(text)
    try:
        port = parts.port
    except ValueError:
        port = -1
    if parts.scheme not in ("https", "http") or not parts.hostname or port == -1:
        raise UsageError(
            f"invalid Kubernetes API server URL '{server}': use https://HOST[:PORT], "
            "e.g. https://10.0.0.1:6443"
        )
    return parts.scheme, parts.hostname.lower(), port


def cluster_name(server: str) -> str:
    """The resource name of a cluster: its API server host, with the port unless default."""
    scheme, host, port = parse_server(server)
    default = 443 if scheme == "https" else 80
    if ":" in host:  # IPv6
        host = f"[{host}]"
    return host if port in (None, default) else f"{host}:{port}"


def canonical_cluster(resource_id: str) -> str:
    """A cluster name from what a user types: a host, host:port or a server URL."""
    text = resource_id.strip()
    if "://" not in text:
        text = f"https://{text}"
    return cluster_name(text)
