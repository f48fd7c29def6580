"""The registry HTTP API (v2) with its basic or bearer-token challenge, over requests."""

from __future__ import annotations

import os
import re
import threading
from collections.abc import Callable
from datetime import timedelta
from typing import Any

from keybroker.plugin import (
    AuthorizationError,
    ConnectionFailure,
    Connector,
    proxy_address,
    proxy_for,
    utcnow,
)
from keybroker_docker.names import api_base_url, canonical_registry

TIMEOUT_SECONDS = 10.0
RENEW_MARGIN = timedelta(seconds=60)
CHALLENGE_PARAM = re.compile(r'(\w+)="([^"]*)"')


def parse_challenge(header: str) -> tuple[str, dict[str, str]]:
    """Split a ``WWW-Authenticate`` header into its scheme and parameters."""
    scheme, _, rest = header.strip().partition(" ")
    return scheme.lower(), dict(CHALLENGE_PARAM.findall(rest))


class RegistrySession:
    """A pre-authenticated session with one registry's HTTP API.

    Answers the registry's challenge on first use (basic credentials, or a bearer
    token fetched from the token realm with them) and renews temporary
    credentials through ``refresh`` before they expire.
    """

    def __init__(
        self,
        registry: str | None,
        username: str,
        password: str,
        expires_at: Any = None,
        refresh: Callable[[], Connector] | None = None,
    ) -> None:
        import requests

        self.registry = canonical_registry(registry)
        self.base_url = api_base_url(registry)
        self.username = username
        self._password = password
        self._expires_at = expires_at
        self._refresh = refresh
        self._tokens: dict[str, str] = {}
        self._lock = threading.Lock()
        self._http = requests.Session()
        # the connector's own credentials only: no .netrc, no proxies or credentials from
        # the environment (proxy_for decides the route); a CA bundle there is still trusted
        self._http.trust_env = False
        self._http.verify = os.environ.get("REQUESTS_CA_BUNDLE") or (
            os.environ.get("CURL_CA_BUNDLE") or True
        )

    def __repr__(self) -> str:
        return f"RegistrySession({self.registry!r}, username={self.username!r})"

    def _get(self, url: str, **arguments: Any) -> Any:
        """GET through the proxy the keybroker proxy rule allows for ``url`` (if any)."""
        proxy = proxy_for(url)
        proxies = {"https": proxy} if proxy else {}
        return self._http.get(url, proxies=proxies, timeout=TIMEOUT_SECONDS, **arguments)

    # -- authentication ------------------------------------------------------------

    def _renew_if_needed(self) -> None:
        if self._refresh is None or self._expires_at is None:
            return
        with self._lock:
            if utcnow() < self._expires_at - RENEW_MARGIN:
                return
            fresh = self._refresh()
            self.username = str(fresh.configuration.get("username", self.username))
            self._password = fresh.secrets["password"].get_secret_value()
            self._expires_at = fresh.expires_at
            self._tokens.clear()

    def _token(self, params: dict[str, str], scope: str | None) -> str:
        import requests

        realm = params.get("realm")
        if not realm:
            raise ConnectionFailure(f"{self.registry} sent a bearer challenge without a realm")
        query = {"service": params.get("service", "")}
        if scope or params.get("scope"):
            query["scope"] = scope or params["scope"]
        try:
            response = self._get(realm, params=query, auth=(self.username, self._password))
        except requests.RequestException as exc:
            raise ConnectionFailure(
                f"cannot reach the token service of {self.registry} at {_without_query(realm)}: "
                f"{_reason(exc)}"
            ) from None
        if response.status_code in (401, 403):
            raise AuthorizationError(
                f"{self.registry} refused the credentials of '{self.username}' "
                f"(token service answered HTTP {response.status_code})"
            )
        if response.status_code >= 400:
            raise ConnectionFailure(
                f"the token service of {self.registry} answered HTTP {response.status_code}"
            )
        body = response.json()
        token = body.get("token") or body.get("access_token")
        if not token:
            raise ConnectionFailure(f"the token service of {self.registry} sent no token")
        return str(token)

    def request(self, path: str, scope: str | None = None, accept: str | None = None) -> Any:
        """GET an API path, answering the registry's challenge; return the response."""
        import requests

        self._renew_if_needed()
        url = self.base_url + path
        headers = {"Accept": accept} if accept else {}
        key = scope or ""
        try:
            if key in self._tokens:
                headers["Authorization"] = f"Bearer {self._tokens[key]}"
            response = self._get(url, headers=headers)
            if response.status_code == 401:
                scheme, params = parse_challenge(response.headers.get("WWW-Authenticate", ""))
                if scheme == "bearer":
                    self._tokens[key] = self._token(params, scope)
                    headers["Authorization"] = f"Bearer {self._tokens[key]}"
                    response = self._get(url, headers=headers)
                else:
                    response = self._get(url, headers=headers, auth=(self.username, self._password))
        except requests.RequestException as exc:
            raise ConnectionFailure(
                f"cannot reach registry {self.registry} at {self.base_url}: {_reason(exc)}"
            ) from None
        if response.status_code in (401, 403):
            raise AuthorizationError(
                f"{self.registry} refused the credentials of '{self.username}' "
                f"(HTTP {response.status_code})"
            )
        if response.status_code >= 400:
            raise ConnectionFailure(f"{self.base_url}{path} answered HTTP {response.status_code}")
        return response

    # -- the API ---------------------------------------------------------------------

    def check(self) -> None:
        """Prove the credentials: GET /v2/."""
        self.request("/v2/")

    def catalog(self) -> list[str]:
        """Repository names, where the registry allows listing them."""
        data = self.request("/v2/_catalog", scope="registry:catalog:*").json()
        return list(data.get("repositories") or [])

    def tags(self, repository: str) -> list[str]:
        """Tags of a repository."""
        data = self.request(f"/v2/{repository}/tags/list", scope=f"repository:{repository}:pull")
        return list(data.json().get("tags") or [])

    def manifest(self, repository: str, reference: str) -> dict[str, Any]:
        """The manifest (or index) of ``repository:reference``."""
        accept = ", ".join(
            [
                "application/vnd.oci.image.manifest.v1+json",
                "application/vnd.oci.image.index.v1+json",
                "application/vnd.docker.distribution.manifest.v2+json",
                "application/vnd.docker.distribution.manifest.list.v2+json",
            ]
        )
        response = self.request(
            f"/v2/{repository}/manifests/{reference}",
            scope=f"repository:{repository}:pull",
            accept=accept,
        )
        result: dict[str, Any] = response.json()
        return result


def _without_query(url: str) -> str:
    return url.split("?", 1)[0]


def _reason(exc: Exception) -> str:
    import requests

    if isinstance(exc, requests.exceptions.ProxyError):
        return f"the proxy {proxy_address()} named by HTTPS_PROXY refused or did not answer"
    if isinstance(exc, requests.exceptions.SSLError):
        return "TLS verification failed"
    text = str(exc)
    if "Connection refused" in text:
        return "connection refused"
    if "timed out" in text.lower():
        return "timed out"
    return type(exc).__name__
