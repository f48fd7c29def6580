"""A small HTTP client for the keybroker server API.

``ServerClient(url, token)`` sends JSON requests with ``Authorization: Bearer``,
decodes JSON answers, and turns the server's error shape back into keybroker's
error classes by its ``code`` (``not_found`` :class:`NotFoundError`,
``not_authenticated`` :class:`UnauthenticatedError`, ``validation_error``
:class:`UsageError`, ... with the ``parameter`` kept; 429
:class:`ServerRateLimited`; an unexpected 5xx :class:`ServerError` with its request
id), so the CLI reports them like local errors. TLS certificates are verified (the
system's CAs, or ``ca_file``). No netrc file or cookie is read; proxies follow the
project's one rule (:mod:`keybroker.proxies`): https goes through ``HTTPS_PROXY`` as a
CONNECT tunnel (the proxy never sees the token), plain http never uses a proxy.
Plain ``http://`` is refused for anything but a loopback address unless
``allow_http`` is given.
"""

from __future__ import annotations

import ipaddress
import json
import threading
from collections.abc import Iterator
from typing import TYPE_CHECKING, Any
from urllib.parse import urlencode, urlsplit

from keybroker import __version__
from keybroker.errors import (
    AuthorizationError,
    ConflictError,
    ConnectionFailure,
    KeybrokerError,
    NotFoundError,
    OperationError,
    PermissionDeniedError,
    PluginError,
    StaleVersionError,
    StoreError,
    UnauthenticatedError,
    UsageError,
)

if TYPE_CHECKING:
    import http.client

DEFAULT_TIMEOUT_SECONDS = 30.0
MAX_RESPONSE_BYTES = 64 * 1024 * 1024
_RETRYABLE_METHODS = frozenset({"GET", "HEAD"})


class ServerRateLimited(OperationError):
    """The server refused with 429; ``retry_after`` says how many seconds to wait."""

    def __init__(self, message: str, retry_after: int | None) -> None:
        super().__init__(message)
        self.retry_after = retry_after


class ServerError(OperationError):
    """The server failed (5xx); ``request_id`` identifies the failure in its logs."""

    def __init__(self, message: str, status: int, request_id: str | None) -> None:
        super().__init__(message)
        self.status = status
        self.request_id = request_id


#: the server's error codes (``keybroker.server.errors``) back to keybroker's classes
_ERRORS_BY_CODE: dict[str, type[KeybrokerError]] = {
    "not_authenticated": UnauthenticatedError,
    "forbidden": PermissionDeniedError,
    "not_found": NotFoundError,
    "stale_version": StaleVersionError,
    "conflict": ConflictError,
    "bad_request": UsageError,
    "invalid_json": UsageError,
    "validation_error": UsageError,
    "method_not_allowed": UsageError,
    "credentials_refused": AuthorizationError,
    "upstream_unreachable": ConnectionFailure,
    "plugin_failed": PluginError,
    "store_failed": StoreError,
    "operation_failed": OperationError,
}
#: for an unknown code, by status
_ERRORS_BY_STATUS: dict[int, type[KeybrokerError]] = {
    401: UnauthenticatedError,
    403: PermissionDeniedError,
    404: NotFoundError,
    409: ConflictError,
}


def is_loopback(host: str) -> bool:
    """Whether ``host`` is this machine (localhost, 127.0.0.0/8, ::1)."""
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False


def normalize_url(url: str, *, allow_http: bool = False) -> str:
    """``url`` without a trailing slash, checked: http(s), a host, no credentials or query."""
    parts = urlsplit(url.strip())
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise UsageError(
            f"'{url}' is not a server URL; give one like https://keybroker.example.com"
        )
    if parts.username or parts.password:
        raise UsageError("the server URL must not contain a user name or password")
    if parts.query or parts.fragment:
        raise UsageError("the server URL must not contain a query or fragment")
    if parts.scheme == "http" and not allow_http and not is_loopback(parts.hostname):
        raise UsageError(
            f"refusing to send credentials over plain http to {parts.hostname}; use https:// "
            "(or allow http explicitly on a network you trust)"
        )
    try:
        parts.port  # noqa: B018 - validates the port
    except ValueError:
        raise UsageError(f"'{url}' has an invalid port") from None
    return f"{parts.scheme}://{parts.netloc}{parts.path.rstrip('/')}"


class ServerClient:
    """JSON over one kept-alive HTTP(S) connection to a keybroker server; thread-safe."""

    def __init__(
        self,
        url: str,
        token: str | None = None,
        *,
        timeout: float = DEFAULT_TIMEOUT_SECONDS,
        ca_file: str | None = None,
        allow_http: bool = False,
    ) -> None:
        self.url = normalize_url(url, allow_http=allow_http)
        parts = urlsplit(self.url)
        self._https = parts.scheme == "https"
        self._host = parts.hostname or ""
        self._port = parts.port
        self._base_path = parts.path
        self._token = token
        self._timeout = timeout
        self._ca_file = ca_file
        self._connection: http.client.HTTPConnection | None = None
        self._lock = threading.Lock()

    def __repr__(self) -> str:
        return f"ServerClient({self.url!r}, token={'***' if self._token else None})"

    def __enter__(self) -> ServerClient:
        return self

    def __exit__(self, *_exc: object) -> None:
        self.close()

    def close(self) -> None:
        """Close the connection; the client reconnects if used again."""
        with self._lock:
            if self._connection is not None:
                self._connection.close()
                self._connection = None

    # -- requests -------------------------------------------------------------

    def get(self, path: str, params: dict[str, Any] | None = None) -> Any:
        """GET ``path`` (relative to the server URL) and return the decoded JSON."""
        return self.request("GET", path, params=params)

    def post(self, path: str, body: Any = None) -> Any:
        """POST ``body`` as JSON."""
        return self.request("POST", path, body=body)

    def patch(self, path: str, body: Any) -> Any:
        """PATCH ``body`` as JSON."""
        return self.request("PATCH", path, body=body)

    def delete(self, path: str) -> Any:
        """DELETE ``path``."""
        return self.request("DELETE", path)

    def post_form(self, path: str, fields: dict[str, str]) -> tuple[int, dict[str, str], Any]:
        """POST ``fields`` form-encoded, as OAuth endpoints take them; the status, headers
        and decoded JSON, with OAuth's error answers left to the caller.

        An answer in keybroker's own error shape (a 404 from a server without these
        endpoints, a 503) is raised as its error class, as :meth:`request` does.
        """
        headers = {
            "Accept": "application/json",
            "User-Agent": f"keybroker/{__version__}",
            "Content-Type": "application/x-www-form-urlencoded",
        }
        status, response_headers, data = self._send(
            "POST", self._base_path + path, urlencode(fields).encode(), headers
        )
        try:
            decoded = json.loads(data) if data else None
        except ValueError:
            decoded = None
        if isinstance(decoded, dict) and isinstance(decoded.get("error"), str):
            return status, response_headers, decoded  # an OAuth error (RFC 6749 §5.2)
        if 200 <= status < 300 and isinstance(decoded, dict):
            return status, response_headers, decoded
        return status, response_headers, self._decode(status, response_headers, data)

    def pages(
        self, path: str, params: dict[str, Any] | None = None, *, limit: int | None = None
    ) -> Iterator[dict[str, Any]]:
        """Every item of a paginated list, following ``next_cursor``; at most ``limit``."""
        query = dict(params or {})
        seen = 0
        while True:
            page = self.get(path, query)
            for item in page.get("items", []):
                yield item
                seen += 1
                if limit is not None and seen >= limit:
                    return
            cursor = page.get("next_cursor")
            if not cursor:
                return
            query["cursor"] = cursor

    def request(
        self,
        method: str,
        path: str,
        *,
        params: dict[str, Any] | None = None,
        body: Any = None,
    ) -> Any:
        """Send one request; return its decoded JSON (None for an empty answer)."""
        target = self._base_path + path
        query = {k: v for k, v in (params or {}).items() if v is not None}
        if query:
            target += "?" + urlencode(query, doseq=True)  # a list value: the name repeated
        headers = {
            "Accept": "application/json",
            "User-Agent": f"keybroker/{__version__}",
        }
        if self._token:
            headers["Authorization"] = f"Bearer {self._token}"
        payload = None
        if body is not None:
            payload = json.dumps(body).encode()
            headers["Content-Type"] = "application/json"
        status, response_headers, data = self._send(method, target, payload, headers)
        return self._decode(status, response_headers, data)

    # -- transport ------------------------------------------------------------

    def _connect(self) -> http.client.HTTPConnection:
        """A connection to the server, through ``HTTPS_PROXY`` when the proxy rule says so.

        The rule of :mod:`keybroker.proxies`: https only, as a CONNECT tunnel, so the
        proxy sees the host name and never the token; plain http never uses a proxy.
        """
        import http.client

        if not self._https:
            return http.client.HTTPConnection(self._host, self._port, timeout=self._timeout)
        import ssl

        from keybroker.proxies import proxy_for, split_proxy

        context = ssl.create_default_context(cafile=self._ca_file)
        proxy = proxy_for(self.url)
        if proxy is None:
            return http.client.HTTPSConnection(
                self._host, self._port, timeout=self._timeout, context=context
            )
        bare, headers = split_proxy(proxy if "://" in proxy else f"http://{proxy}")
        parts = urlsplit(bare)
        if parts.scheme != "http" or not parts.hostname:
            raise UsageError(
                "HTTPS_PROXY must be an http:// proxy URL (host and port) for the "
                "keybroker server connection"
            )
        connection = http.client.HTTPSConnection(
            parts.hostname, parts.port or 80, timeout=self._timeout, context=context
        )
        connection.set_tunnel(self._host, self._port or 443, headers=headers)
        return connection

    def _send(
        self, method: str, target: str, payload: bytes | None, headers: dict[str, str]
    ) -> tuple[int, dict[str, str], bytes]:
        import http.client
        import ssl

        with self._lock:
            for attempt in (1, 2):
                reused = self._connection is not None
                if self._connection is None:
                    self._connection = self._connect()
                connection = self._connection
                try:
                    connection.request(method, target, body=payload, headers=headers)
                    response = connection.getresponse()
                    data = response.read(MAX_RESPONSE_BYTES + 1)
                    if len(data) > MAX_RESPONSE_BYTES:
                        raise OperationError(f"the answer of {self.url} is too large")
                    found = {k.lower(): v for k, v in response.getheaders()}
                    if found.get("connection", "").lower() == "close":
                        self._drop()
                    return response.status, found, data
                except (http.client.RemoteDisconnected, ConnectionResetError, BrokenPipeError):
                    self._drop()
                    if attempt == 1 and reused and method in _RETRYABLE_METHODS:
                        continue
                    raise ConnectionFailure(
                        f"the server at {self.url} closed the connection; try again"
                    ) from None
                except ssl.SSLCertVerificationError as exc:
                    self._drop()
                    raise ConnectionFailure(
                        f"the TLS certificate of {self.url} is not trusted "
                        f"({exc.verify_message}); give its CA with --ca-file"
                    ) from None
                except TimeoutError:
                    self._drop()
                    raise ConnectionFailure(
                        f"the server at {self.url} did not answer within {self._timeout:g} s"
                    ) from None
                except (OSError, http.client.HTTPException) as exc:
                    self._drop()
                    reason = getattr(exc, "strerror", None) or type(exc).__name__
                    raise ConnectionFailure(
                        f"cannot reach the server at {self.url}: {reason}"
                    ) from None
                except BaseException:
                    self._drop()
                    raise
        raise ConnectionFailure(f"cannot reach the server at {self.url}")  # pragma: no cover

    def _drop(self) -> None:
        if self._connection is not None:
            self._connection.close()
            self._connection = None

    def _decode(self, status: int, headers: dict[str, str], data: bytes) -> Any:
        decoded: Any = None
        if data:
            try:
                decoded = json.loads(data)
            except ValueError:
                decoded = None
        if 200 <= status < 300:
            if data and decoded is None:
                raise OperationError(f"{self.url} answered something that is not JSON")
            return decoded
        error = decoded.get("error") if isinstance(decoded, dict) else None
        if not isinstance(error, dict) or "message" not in error:
            raise OperationError(
                f"{self.url} answered HTTP {status} without a keybroker error; "
                "is the URL a keybroker server?"
            )
        message = str(error["message"])
        if status == 429:
            retry = headers.get("retry-after", "")
            raise ServerRateLimited(message, int(retry) if retry.isdigit() else None)
        if status >= 500 and str(error.get("code")) not in _ERRORS_BY_CODE:
            request_id = error.get("request_id")
            suffix = f" (request id {request_id})" if request_id else ""
            raise ServerError(f"the server failed: {message}{suffix}", status, request_id)
        if error.get("code") == "device_locked":
            raise UnauthenticatedError(
                f"this device was locked on {self.url}; run 'keybroker connect --url "
                f"{self.url}' to authorize it again"
            )
        parameter = error.get("parameter")
        cls = _ERRORS_BY_CODE.get(str(error.get("code"))) or _ERRORS_BY_STATUS.get(status)
        if cls is None:
            cls = UsageError if 400 <= status < 500 else OperationError
        raise cls(message, parameter=parameter if isinstance(parameter, str) else None)
