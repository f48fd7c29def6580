"""HTTP to the Google REST APIs: sessions free of ambient credentials, errors as one line.

``requests`` would add a ``~/.netrc`` entry's password to any request that
carries no auth of its own (even over a bearer token header) and route
through whatever proxy the environment names. Every session here switches the
environment off and follows keybroker's proxy rule (``keybroker.plugin.proxy_for``):
https through ``HTTPS_PROXY`` unless ``NO_PROXY`` names the host, plain http
never through a proxy.
"""

from __future__ import annotations

import functools
import os
from typing import Any
from urllib.parse import urlsplit

from keybroker.plugin import AuthorizationError, ConnectionFailure, OperationError
from keybroker_gcp.endpoints import api_url
from keybroker_gcp.errors import error_detail

#: seconds to connect and to wait for an answer
CONNECT_TIMEOUT = 10
READ_TIMEOUT = 30


class ApiError(OperationError):
    """A Google API answered with an error status other than 401 and 403."""

    def __init__(self, message: str, status: int) -> None:
        super().__init__(message)
        self.status = status


class NotFound(ApiError):
    """Google answered 404 for the resource asked about."""


@functools.cache
def _keybroker_session_class(base: type) -> Any:
    """``base`` (a ``requests.Session`` class) made to follow keybroker's proxy rule."""
    from keybroker.plugin import proxy_for

    class KeybrokerSession(base):  # type: ignore[misc]
        """No .netrc, no proxy or credentials from the environment; proxy_for picks the route.

        A CA bundle named by REQUESTS_CA_BUNDLE or CURL_CA_BUNDLE is still trusted.
        """

        def __init__(self, *args: Any, **kwargs: Any) -> None:
            super().__init__(*args, **kwargs)
            self.trust_env = False
            self.verify = os.environ.get("REQUESTS_CA_BUNDLE") or (
                os.environ.get("CURL_CA_BUNDLE") or True
            )

        def request(self, method: str, url: str, *args: Any, **kwargs: Any) -> Any:
            if kwargs.get("proxies") is None:
                proxy = proxy_for(str(url))
                kwargs["proxies"] = {"https": proxy} if proxy else {}
            return super().request(method, url, *args, **kwargs)

    return KeybrokerSession


def http_session() -> Any:
    """A new ``requests.Session`` following keybroker's proxy rule (no ambient credentials)."""
    import requests

    return _keybroker_session_class(requests.Session)()


def authorized_session(credentials: Any) -> Any:
    """google-auth's ``AuthorizedSession`` for ``credentials``, following the same rule."""
    from google.auth.transport.requests import AuthorizedSession

    session_class = _keybroker_session_class(AuthorizedSession)
    return session_class(credentials, auth_request=auth_transport())


def auth_transport() -> Any:
    """A google-auth transport over :func:`http_session`, with keybroker's timeouts."""
    from google.auth.transport.requests import Request

    class TimedRequest(Request):
        def __call__(
            self,
            url: str,
            method: str = "GET",
            body: Any = None,
            headers: Any = None,
            timeout: Any = None,
            **kwargs: Any,
        ) -> Any:
            return super().__call__(
                url, method, body, headers, timeout=(CONNECT_TIMEOUT, READ_TIMEOUT), **kwargs
            )

    return TimedRequest(session=http_session())


def raise_for_answer(action: str, status: int, body: Any) -> None:
    """Raise the keybroker error for a non-2xx answer of a Google API."""
    if 200 <= status < 300:
        return
    detail = error_detail(body) or f"HTTP {status}"
    if status == 401:
        raise AuthorizationError(f"{action}: Google refused the credentials ({detail})")
    if status == 403:
        raise AuthorizationError(f"{action}: permission denied ({detail})")
    if status == 404:
        raise NotFound(f"{action}: not found ({detail})", status)
    raise ApiError(f"{action}: HTTP {status} ({detail})", status)


class GoogleApi:
    """Calls to Google REST APIs with one access token, at Google's or ``api_endpoint``."""

    def __init__(self, token: str, api_endpoint: str | None) -> None:
        self._token = token
        self._endpoint = api_endpoint
        self._session = http_session()

    def __repr__(self) -> str:
        return f"GoogleApi(endpoint={self._endpoint or 'googleapis.com'})"

    def request(
        self,
        method: str,
        api: str,
        path: str,
        action: str,
        params: dict[str, str] | None = None,
        data: dict[str, str] | None = None,
    ) -> dict[str, Any]:
        """The JSON answer of one call; raises a keybroker error naming ``action``."""
        import requests

        url = api_url(self._endpoint, api, path)
        try:
            response = self._session.request(
                method,
                url,
                params=params,
                data=data,
                headers={"Authorization": f"Bearer {self._token}"},
                timeout=(CONNECT_TIMEOUT, READ_TIMEOUT),
                allow_redirects=False,
            )
        except requests.RequestException as exc:
            host = urlsplit(url).netloc
            raise ConnectionFailure(
                f"{action}: cannot reach {host} ({type(exc).__name__})"
            ) from None
        raise_for_answer(action, response.status_code, response.content)
        try:
            answer = response.json() if response.content else {}
        except ValueError:
            raise OperationError(f"{action}: the answer is not JSON") from None
        if not isinstance(answer, dict):
            raise OperationError(f"{action}: the answer is not a JSON object")
        return answer

    def get(self, api: str, path: str, action: str, params: dict[str, str] | None = None) -> Any:
        """GET ``path`` on ``api``."""
        return self.request("GET", api, path, action, params=params)

    def pages(self, api: str, path: str, action: str, field: str) -> list[dict[str, Any]]:
        """Every item of a paginated list (``nextPageToken``), at most 100 pages."""
        items: list[dict[str, Any]] = []
        params: dict[str, str] = {}
        for _ in range(100):
            answer = self.get(api, path, action, params)
            found = answer.get(field) or []
            if not isinstance(found, list):
                raise OperationError(f"{action}: '{field}' is not a list")
            items.extend(i for i in found if isinstance(i, dict))
            token = answer.get("nextPageToken")
            if not token:
                return items
            params = {"pageToken": str(token)}
        return items


__all__ = [
    "ApiError",
    "GoogleApi",
    "NotFound",
    "auth_transport",
    "authorized_session",
    "http_session",
]
