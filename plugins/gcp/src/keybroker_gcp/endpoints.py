"""Where the Google APIs are: their public endpoints and the ``api_endpoint`` override.

Credentials travel to these URLs, so an override must use https, or plain http
only to a loopback address (a local emulator or test server).
"""

from __future__ import annotations

import ipaddress
from urllib.parse import urlsplit

#: the public base URL of every Google REST API the plugin calls (paths are Google's)
GOOGLE_APIS = {
    "oauth2": "https://oauth2.googleapis.com",
    "iamcredentials": "https://iamcredentials.googleapis.com",
    "sts": "https://sts.googleapis.com",
    "container": "https://container.googleapis.com",
    "artifactregistry": "https://artifactregistry.googleapis.com",
    "cloudresourcemanager": "https://cloudresourcemanager.googleapis.com",
}


def is_loopback(host: str) -> bool:
    """Whether ``host`` names this machine (127.0.0.0/8, ::1 or localhost)."""
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def check_endpoint(value: str, what: str) -> str:
    """``value`` without a trailing '/', if it is a safe base URL; ``ValueError`` otherwise."""
    text = value.strip().rstrip("/")
    parts = urlsplit(text)
    try:
        port = parts.port
    except ValueError:
        port = -1
    host = (parts.hostname or "").lower()
    if parts.scheme not in ("https", "http") or not host or port == -1:
        raise ValueError(f"{what} '{value}' is not a URL: use https://HOST[:PORT][/PATH]")
    if parts.username or parts.password or parts.query or parts.fragment:
        raise ValueError(f"{what} must not carry a user name, password, query or fragment")
    if parts.scheme == "http" and not is_loopback(host):
        raise ValueError(
            f"{what} '{value}' uses plain http: credentials would travel in clear; use https "
            "(http is accepted only for 127.0.0.1, ::1 or localhost)"
        )
    return text


def api_url(api_endpoint: str | None, api: str, path: str) -> str:
    """The URL of ``path`` on Google API ``api``, or on ``api_endpoint`` when it is set."""
    base = api_endpoint or GOOGLE_APIS[api]
    return f"{base.rstrip('/')}{path}"
