"""Pre-authenticated ``kubernetes`` Python clients that renew temporary tokens."""

from __future__ import annotations

import atexit
import os
import tempfile
import threading
from collections.abc import Callable
from datetime import timedelta
from typing import Any

from keybroker.plugin import (
    Connector,
    proxy_for,
    split_proxy,
    utcnow,
)
from keybroker_kubernetes.api_server import authorization_header
from keybroker_kubernetes.declaration import ClientCertificateConfig, ClusterConfig, TokenConfig

#: renew temporary credentials this long before they expire
RENEW_MARGIN = timedelta(seconds=60)


def _private_file(text: str, suffix: str) -> str:
    """Write ``text`` to a temporary file only this user can read, removed at exit.

    The kubernetes SDK takes CA bundles and client keys only as file paths.
    """
    fd, path = tempfile.mkstemp(prefix="keybroker-", suffix=f"-{suffix}")  # mode 0600
    with os.fdopen(fd, "w") as handle:
        handle.write(text)
    atexit.register(_remove, path)
    return path


def _remove(path: str) -> None:
    if os.path.exists(path):
        os.unlink(path)


class _Renewer:
    """Keeps the Authorization value of a configuration current."""

    def __init__(self, connector: Connector, refresh: Callable[[], Connector] | None) -> None:
        self.expires_at = connector.expires_at
        self.refresh = refresh
        self.lock = threading.Lock()

    def __call__(self, configuration: Any) -> None:
        if self.refresh is None or self.expires_at is None:
            return
        with self.lock:
            if utcnow() < self.expires_at - RENEW_MARGIN:
                return
            fresh = self.refresh()
            config = TokenConfig.model_validate(fresh.attributes())
            configuration.api_key["authorization"] = config.token.get_secret_value()
            configuration.api_key_prefix["authorization"] = "Bearer"
            self.expires_at = fresh.expires_at


def api_client(
    connector: Connector, config: ClusterConfig, refresh: Callable[[], Connector] | None
) -> Any:
    """A ``kubernetes.client.ApiClient`` for ``config``'s cluster."""
    from kubernetes import client

    configuration = client.Configuration()
    configuration.host = config.server
    header = authorization_header(config)
    if header is not None:
        prefix, value = header.split(" ", 1)
        configuration.api_key = {"authorization": value}
        configuration.api_key_prefix = {"authorization": prefix}
    if isinstance(config, ClientCertificateConfig):
        configuration.cert_file = _private_file(config.client_certificate, "client.pem")
        configuration.key_file = _private_file(config.client_key.get_secret_value(), "client.key")
    if config.insecure:
        configuration.verify_ssl = False
    elif config.certificate_authority:
        configuration.ssl_ca_cert = _private_file(config.certificate_authority, "ca.pem")
    # keybroker's proxy rule, not the client's own reading of HTTP(S)_PROXY and ALL_PROXY
    proxy = proxy_for(config.server)
    if proxy is None:
        configuration.proxy = None
    else:
        configuration.proxy, configuration.proxy_headers = split_proxy(proxy)
    configuration.no_proxy = None
    configuration.refresh_api_key_hook = _Renewer(connector, refresh)  # type: ignore[assignment]
    return client.ApiClient(configuration)
