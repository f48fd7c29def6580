"""Talking to a Kubernetes API server directly, for verification (urllib3, no client SDK)."""

from __future__ import annotations

import base64
import json
import os
import shutil
import ssl
import tempfile
import warnings
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from keybroker.plugin import (
    AuthorizationError,
    ConnectionFailure,
    config_as,
    proxy_address,
    proxy_for,
    split_proxy,
)
from keybroker_kubernetes.declaration import (
    ClientCertificateConfig,
    ClusterConfig,
    PasswordConfig,
    TokenConfig,
)

TIMEOUT_SECONDS = 10.0


@contextmanager
def private_files(config: ClientCertificateConfig) -> Iterator[tuple[str, str]]:
    """The client certificate and key as files in a private directory, removed afterwards.

    Python's ssl module loads a certificate chain only from files.
    """
    directory = tempfile.mkdtemp(prefix="keybroker-tls-")  # mode 0700
    cert_file = os.path.join(directory, "client.pem")
    key_file = os.path.join(directory, "client.key")
    try:
        for path, text in (
            (cert_file, config.client_certificate),
            (key_file, config.client_key.get_secret_value()),
        ):
            fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
            with os.fdopen(fd, "w") as handle:
                handle.write(text)
        yield cert_file, key_file
    finally:
        shutil.rmtree(directory, ignore_errors=True)


def authorization_header(config: ClusterConfig) -> str | None:
    """The Authorization header value for the configured credentials (None for mutual TLS)."""
    if isinstance(config, ClientCertificateConfig):
        return None
    if isinstance(config, TokenConfig):
        return f"Bearer {config.token.get_secret_value()}"
    config = config_as(config, PasswordConfig)
    pair = f"{config.username}:{config.password.get_secret_value()}"
    return "Basic " + base64.b64encode(pair.encode()).decode()


def ssl_context(config: ClusterConfig) -> ssl.SSLContext:
    """A TLS context trusting the connector's CA (or the system's), or none with ``insecure``."""
    context = ssl.create_default_context(cadata=config.certificate_authority or None)
    if isinstance(config, ClientCertificateConfig):
        with private_files(config) as (cert_file, key_file):
            context.load_cert_chain(cert_file, key_file)
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
        self._mutual = isinstance(config, ClientCertificateConfig)
        self._headers = {"Accept": "application/json"}
        header = authorization_header(config)
        if header is not None:
            self._headers["Authorization"] = header
        options: dict[str, Any] = {
            "ssl_context": ssl_context(config) if config.server.startswith("https") else None,
            "timeout": urllib3.Timeout(total=TIMEOUT_SECONDS),
            "retries": False,
        }
        proxy = proxy_for(config.server)  # keybroker's proxy rule; urllib3 reads no netrc
        self._via = ""
        if proxy is None:
            self._pool: urllib3.PoolManager = urllib3.PoolManager(**options)
        else:
            proxy_url, proxy_headers = split_proxy(proxy)
            self._via = f" through the proxy {proxy_address(proxy_url)}"
            self._pool = urllib3.ProxyManager(proxy_url, proxy_headers=proxy_headers, **options)

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
            if self._mutual:
                raise AuthorizationError(
                    f"TLS handshake with {self.server} failed ({_reason(exc)}): the server "
                    "refused the client certificate, or its own certificate is not signed by "
                    "certificate_authority"
                ) from None
            raise ConnectionFailure(
                f"TLS check of {self.server} failed ({_reason(exc)}); give the cluster's "
                "certificate_authority, or insecure=true for a test cluster"
            ) from None
        except urllib3.exceptions.HTTPError as exc:
            raise ConnectionFailure(
                f"cannot reach {self.server}{self._via}: {_reason(exc)}"
            ) from None
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
