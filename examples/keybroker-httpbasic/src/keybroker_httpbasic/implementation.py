"""Behaviour of the ``httpbasic`` connector type, imported on first use."""

from __future__ import annotations

import base64
import json
import os
import re
import urllib.error
import urllib.request
from collections.abc import Callable
from typing import Any
from urllib.parse import urlsplit

from keybroker.plugin import (
    AuthConfig,
    AuthorizationError,
    AutoConfiguration,
    ConnectionFailure,
    Connector,
    UsageError,
    config_as,
    hookimpl,
    proxy_for,
)
from keybroker_httpbasic.declaration import BasicAuthConfig

PATH_PATTERN = re.compile(r"/?[A-Za-z0-9._~-]+(/[A-Za-z0-9._~-]+)*")  # fullmatch, not '$'


class _SameOriginRedirects(urllib.request.HTTPRedirectHandler):
    """Follow redirects, sending the credentials again only to the same scheme, host and port."""

    def redirect_request(
        self,
        req: urllib.request.Request,
        fp: Any,
        code: int,
        msg: str,
        headers: Any,
        newurl: str,
    ) -> urllib.request.Request | None:
        new = super().redirect_request(req, fp, code, msg, headers, newurl)
        header = req.unredirected_hdrs.get("Authorization")
        if new is not None and header is not None and _origin(newurl) == _origin(req.full_url):
            new.add_unredirected_header("Authorization", header)
        return new


def _origin(url: str) -> tuple[str, str | None, int | None]:
    parts = urlsplit(url)
    return parts.scheme, parts.hostname, parts.port


class BasicAuthClient:
    """A tiny pre-authenticated HTTP client for one service."""

    def __init__(self, base_url: str, username: str, password: str) -> None:
        self.base_url = base_url.rstrip("/")
        token = base64.b64encode(f"{username}:{password}".encode()).decode()
        self._header = f"Basic {token}"
        # only this connector's credentials: an opener of our own (urllib's default one
        # would take HTTP_PROXY for plain http), routed by keybroker's proxy rule
        proxy = proxy_for(self.base_url)
        self._opener = urllib.request.build_opener(
            urllib.request.ProxyHandler({"https": proxy} if proxy else {}), _SameOriginRedirects
        )

    def __repr__(self) -> str:
        return f"BasicAuthClient({self.base_url!r})"

    def get(self, path: str, timeout: float = 10.0) -> bytes:
        """GET ``path`` and return the body; raise keybroker errors on failure."""
        request = urllib.request.Request(  # noqa: S310 - the URL is the connector's own
            f"{self.base_url}/{path.lstrip('/')}"
        )
        # a redirect elsewhere does not get the credentials (see _SameOriginRedirects)
        request.add_unredirected_header("Authorization", self._header)
        try:
            with self._opener.open(request, timeout=timeout) as response:
                return bytes(response.read())
        except urllib.error.HTTPError as exc:
            if exc.code in (401, 403):
                raise AuthorizationError(
                    f"{self.base_url} refused the credentials (HTTP {exc.code})"
                ) from None
            if exc.code == 404:
                raise AuthorizationError(
                    f"{self.base_url}/{path.lstrip('/')} does not exist"
                ) from None
            raise ConnectionFailure(f"{self.base_url} answered HTTP {exc.code}") from None
        except (urllib.error.URLError, OSError) as exc:
            reason = getattr(exc, "reason", exc)
            raise ConnectionFailure(f"cannot reach {self.base_url}: {reason}") from None


def _client(config: AuthConfig) -> BasicAuthClient:
    config = config_as(config, BasicAuthConfig)
    return BasicAuthClient(config.url, config.username, config.password.get_secret_value())


@hookimpl
def canonical_resource_id(resource_type: str, resource_id: str) -> str:
    """``reports`` and ``/reports/`` both become ``/reports``."""
    if resource_type == "http-endpoint":
        path = resource_id.strip().rstrip("/")
        if not PATH_PATTERN.fullmatch(path):
            raise UsageError(f"invalid endpoint '{resource_id}': use a path such as /reports")
        return "/" + path.lstrip("/")
    return resource_id


@hookimpl
def default_resource_id(resource_type: str, config: AuthConfig) -> str | None:
    """The ``http-server`` resource is named after the URL's host:port."""
    config = config_as(config, BasicAuthConfig)
    if resource_type == "http-server":
        return urlsplit(config.url).netloc or None
    return None


@hookimpl
def verify(
    connector: Connector, config: AuthConfig, resource_type: str | None, resource_id: str | None
) -> list[str]:
    """Authenticate with GET /index; list endpoints or check one."""
    client = _client(config)
    body = client.get("/index")
    if resource_type is None:
        return []
    if resource_type == "http-server":
        name = default_resource_id(resource_type, config)
        return [name] if name else []
    if resource_id is not None:
        client.get(resource_id)
        return [resource_id]
    try:
        paths = json.loads(body)
    except ValueError:
        raise ConnectionFailure(f"{client.base_url}/index is not a JSON list") from None
    return sorted(canonical_resource_id("http-endpoint", str(p)) for p in paths)


@hookimpl
def auto_configure(auth_method: str | None) -> AutoConfiguration:
    """Read ``HTTPBASIC_URL``, ``HTTPBASIC_USERNAME`` and ``HTTPBASIC_PASSWORD``."""
    names = {
        "url": "HTTPBASIC_URL",
        "username": "HTTPBASIC_USERNAME",
        "password": "HTTPBASIC_PASSWORD",
    }
    missing = [env for env in names.values() if not os.environ.get(env)]
    if missing:
        raise UsageError(f"auto-configuration needs the environment variables {', '.join(missing)}")
    return AutoConfiguration(
        auth_method=auth_method or "password",
        attributes={key: os.environ[env] for key, env in names.items()},
    )


@hookimpl
def build_client(config: AuthConfig, refresh: Callable[[], Connector] | None) -> Any:
    """A :class:`BasicAuthClient` for the service."""
    return _client(config)
