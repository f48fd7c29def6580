"""Which proxy a connector's HTTP client may use: the one proxy rule every plugin follows.

A connector is checked and used with its own credentials and nothing else
from the machine: no ``.netrc``, no credential store, no proxy that would read
its secrets. Plugins build their HTTP clients with the environment switched
off (``requests.Session.trust_env = False``, an explicit urllib opener, an
explicit ``proxy`` for the kubernetes client and botocore) and ask
:func:`proxy_for` for the route:

- ``https`` URLs go through ``HTTPS_PROXY`` (or ``https_proxy``) unless
  ``NO_PROXY`` names the host. The proxy only relays a TLS tunnel (CONNECT):
  it sees the host name, never the connector's credentials.
- plain ``http`` URLs never use a proxy (``HTTP_PROXY`` and ``ALL_PROXY`` are
  ignored): the proxy would read the credentials in clear.

Credentials in a proxy URL (``http://user:password@proxy:3128``) belong to the
machine's network setup: they are sent to the proxy alone, as
``Proxy-Authorization`` on the CONNECT request, never to the endpoint, so they
can never make a connector's verification pass.
"""

from __future__ import annotations

import base64
import ipaddress
import os
import urllib.request
from urllib.parse import unquote, urlsplit


def proxy_for(url: str) -> str | None:
    """The proxy URL (as configured, credentials included) to reach ``url`` through, or None."""
    parts = urlsplit(url)
    if parts.scheme.lower() != "https" or not parts.hostname:
        return None
    proxy = urllib.request.getproxies_environment().get("https")
    if not proxy:
        return None
    if bypasses_proxy(parts.hostname, parts.port or 443):
        return None
    return proxy if "://" in proxy else f"http://{proxy}"


def bypasses_proxy(host: str, port: int) -> bool:
    """Whether ``NO_PROXY`` (or ``no_proxy``) names ``host``.

    Entries are ``*``, a domain (``example.com`` and ``.example.com`` both cover
    its subdomains), an IP address or CIDR block, each optionally with ``:port``.
    """
    setting = os.environ.get("no_proxy") or os.environ.get("NO_PROXY") or ""
    host = host.lower().strip("[]")
    try:
        address: ipaddress.IPv4Address | ipaddress.IPv6Address | None = ipaddress.ip_address(host)
    except ValueError:
        address = None
    for raw in setting.split(","):
        entry = raw.strip().lower()
        if not entry:
            continue
        if entry == "*":
            return True
        name, entry_port = _split_port(entry)
        if entry_port is not None and entry_port != port:
            continue
        if address is not None:
            try:
                if address in ipaddress.ip_network(name, strict=False):
                    return True
            except ValueError:
                pass
            continue
        name = name.lstrip(".")
        if host == name or host.endswith("." + name):
            return True
    return False


def _split_port(entry: str) -> tuple[str, int | None]:
    """``host:port`` -> (host, port); bare IPv6 addresses and CIDR blocks keep their colons."""
    if entry.startswith("["):
        name, _, rest = entry[1:].partition("]")
        return name, int(rest[1:]) if rest.startswith(":") and rest[1:].isdigit() else None
    if entry.count(":") == 1:
        name, _, port = entry.partition(":")
        if port.isdigit():
            return name, int(port)
    return entry, None


def split_proxy(proxy: str) -> tuple[str, dict[str, str]]:
    """A proxy URL without its credentials, and the ``Proxy-Authorization`` header for them.

    For clients (urllib3, the kubernetes client) that do not read credentials
    from the proxy URL themselves.
    """
    parts = urlsplit(proxy)
    if parts.username is None:
        return proxy, {}
    netloc = parts.hostname or ""
    if ":" in netloc:
        netloc = f"[{netloc}]"
    if parts.port is not None:
        netloc = f"{netloc}:{parts.port}"
    pair = f"{unquote(parts.username)}:{unquote(parts.password or '')}"
    header = "Basic " + base64.b64encode(pair.encode()).decode()
    return parts._replace(netloc=netloc).geturl(), {"Proxy-Authorization": header}


def proxy_address(proxy: str | None = None) -> str:
    """``host:port`` of a proxy URL (default: ``HTTPS_PROXY``), for messages: no credentials."""
    if proxy is None:
        proxy = urllib.request.getproxies_environment().get("https", "")
    parts = urlsplit(proxy if "://" in proxy else f"http://{proxy}")
    try:
        port = parts.port
    except ValueError:
        port = None
    host = parts.hostname or "?"
    return f"{host}:{port}" if port else host
