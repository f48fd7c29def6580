"""API server URLs and the resource names derived from them (no SDK needed)."""

from __future__ import annotations

import re
from urllib.parse import urlsplit

from keybroker.plugin import UsageError

#: printable ASCII without spaces: what a bearer token may be (fullmatch, never '$')
HEADER_TEXT = re.compile(r"[\x21-\x7e]+")


def parse_server(server: str) -> tuple[str, str, int | None]:
    """Split an API server URL into scheme, host and port; raise ``UsageError`` if malformed.

    A path is allowed (clusters behind a proxy path); spaces and control
    characters are not (``urlsplit`` would silently drop a line break inside
    the URL), nor credentials, a query or a fragment.
    """
    text = server.strip()
    parts = urlsplit(text)
    try:
        port = parts.port
    except ValueError:
        port = -1
    if (
        parts.scheme not in ("https", "http")
        or not parts.hostname
        or port == -1
        or any(c.isspace() or not c.isprintable() for c in text)
        or "@" in parts.netloc
        or parts.query
        or parts.fragment
    ):
        shown = "" if "@" in text else f" '{text}'"  # never echo user:password@
        raise UsageError(
            f"invalid Kubernetes API server URL{shown}: use https://HOST[:PORT] without "
            "credentials, query or spaces, e.g. https://10.0.0.1:6443"
        )
    return parts.scheme, parts.hostname.lower(), port


def check_header_text(name: str, value: str) -> str:
    """A credential sent in an HTTP header: printable ASCII without spaces (never echoed)."""
    if not HEADER_TEXT.fullmatch(value):
        raise UsageError(
            f"invalid {name}: it is empty or contains spaces, line breaks or non-ASCII "
            "characters; give it exactly as issued"
        )
    return value


def check_username(value: str) -> str:
    """A basic-auth user name: no ':' (it separates the password), no control characters."""
    if not value or ":" in value or any(not c.isprintable() for c in value):
        raise UsageError(
            f"invalid username {value!r}: it must be non-empty, without ':' or control characters"
        )
    return value


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
