"""Talking to a Kubernetes API server directly, for verification (urllib3, no client SDK)."""

from __future__ import annotations

import base64
import json
import ssl
import warnings
from typing import Any

from keybroker.errors import AuthorizationError, ConnectionFailure
from keybroker_kubernetes.declaration import ClusterConfig, PasswordConfig, TokenConfig

TIMEOUT_SECONDS = 10.0


def authorization_header(config: ClusterConfig) -> str:
    """The Authorization header value for the configured credentials."""
    if isinstance(config, TokenConfig):
        return f"Bearer {config.token.get_secret_value()}"
    assert isinstance(config, PasswordConfig)
    pair = f"{config.username}:{config.password.get_secret_value()}"
    return "Basic " + base64.b64encode(pair.encode()).decode()


def ssl_context(config: ClusterConfig) -> ssl.SSLContext:
    """A TLS context trusting the connector's CA (or the system's), or none with ``insecure``."""
    context = ssl.create_default_context(cadata=config.certificate_authority or None)
    if config.insecure:
        context.check_hostname = False
        context.verify_mode = ssl.CERT_NONE
    return context


class ApiServer:
    """Minimal read-only access to one API server with one set of credentials."""

    def __init__(self, config: ClusterConfig) -> None:
        import urllib3

        self.server = config.server
        self._insecure = config.insecure
        self._headers = {
            "Authorization": authorization_header(config),
            "Accept": "application/json",
        }
        self._pool = urllib3.PoolManager(
            ssl_context=ssl_context(config) if config.server.startswith("https") else None,
            timeout=urllib3.Timeout(total=TIMEOUT_SECONDS),
            retries=False,
        )

    def __repr__(self) -> str:
        return f"ApiServer({self.server!r})"

    def get(self, path: str) -> Any:
        """GET ``path`` and decode the JSON body; raise keybroker errors on failure."""
        import urllib3

        try:
            with warnings.catch_warnings():
                if self._insecure:  # asked for explicitly; do not nag on every request
                    warnings.simplefilter("ignore", urllib3.exceptions.InsecureRequestWarning)
                response = self._pool.request("GET", self.server + path, headers=self._headers)
        except urllib3.exceptions.SSLError as exc:
            raise ConnectionFailure(
                f"TLS check of {self.server} failed ({_reason(exc)}); give the cluster's "
                "certificate_authority, or insecure=true for a test cluster"
            ) from None
        except urllib3.exceptions.HTTPError as exc:
            raise ConnectionFailure(f"cannot reach {self.server}: {_reason(exc)}") from None
        if response.status == 401:
            raise AuthorizationError(f"{self.server} refused the credentials (HTTP 401)")
        if response.status == 403:
            raise AuthorizationError(
                f"the credentials are valid but may not GET {path} on {self.server} (HTTP 403)"
            )
        if response.status >= 400:
            raise ConnectionFailure(f"{self.server}{path} answered HTTP {response.status}")
        try:
            return json.loads(response.data)
        except ValueError:
            raise ConnectionFailure(f"{self.server}{path} did not answer JSON") from None

    def check_access(self) -> str:
        """Prove the credentials work: read the version and list namespaces; return the version."""
        version = self.get("/version")
        self.get("/api/v1/namespaces?limit=1")
        return str(version.get("gitVersion", "unknown")) if isinstance(version, dict) else "?"


def _reason(exc: Exception) -> str:
    reason = getattr(exc, "reason", None) or exc
    text = str(reason)
    return text.split(": ", 1)[-1] if "Max retries" in text else text
