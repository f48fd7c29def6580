"""Turning google-auth and HTTP failures into one keybroker line, without secrets.

Only Google's error code and short description are quoted (never a request, a
response body or a key), cut to one line.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any, TypeVar

from keybroker.plugin import AuthorizationError, ConnectionFailure, KeybrokerError, OperationError

T = TypeVar("T")

MAX_DETAIL = 200


def _short(text: str) -> str:
    line = " ".join(str(text).split())
    return line if len(line) <= MAX_DETAIL else line[: MAX_DETAIL - 3] + "..."


def error_detail(body: Any) -> str:
    """Google's error code and message from an error response (JSON text or mapping)."""
    data = body
    if isinstance(body, bytes | str):
        try:
            data = json.loads(body)
        except ValueError:
            return ""
    if not isinstance(data, dict):
        return ""
    error = data.get("error")
    if isinstance(error, dict):  # Google API errors: {"error": {"code", "message", "status"}}
        parts = [str(error.get("status") or ""), str(error.get("message") or "")]
        return _short(": ".join(p for p in parts if p))
    parts = [str(error or ""), str(data.get("error_description") or "")]
    return _short(": ".join(p for p in parts if p))  # OAuth2 errors: {"error", "error_description"}


@contextmanager
def google_auth_errors(action: str) -> Iterator[None]:
    """Report google-auth failures of ``action`` (minting, refreshing a token) as one line."""
    from google.auth import exceptions as gx

    try:
        yield
    except KeybrokerError:
        raise
    except gx.RefreshError as exc:
        raise AuthorizationError(
            f"{action}: Google refused the credentials ({_refusal(exc)})"
        ) from None
    except gx.OAuthError as exc:
        raise AuthorizationError(
            f"{action}: Google refused the request ({_refusal(exc)})"
        ) from None
    except gx.TransportError as exc:
        raise ConnectionFailure(
            f"{action}: cannot reach Google ({_transport_reason(exc)})"
        ) from None
    except gx.DefaultCredentialsError as exc:
        raise AuthorizationError(
            f"{action}: {_short(str(exc).split('. ')[0])} (set GOOGLE_APPLICATION_CREDENTIALS "
            "or run 'gcloud auth application-default login' where keybroker runs)"
        ) from None
    except gx.GoogleAuthError as exc:
        raise OperationError(f"{action}: {type(exc).__name__}") from None


def _refusal(exc: BaseException) -> str:
    """The OAuth2 error of a refused grant or exchange: from the response, else the message."""
    detail = error_detail(exc.args[1]) if len(exc.args) > 1 else ""
    if not detail and exc.args:
        detail = _short(str(exc.args[0]))
    return detail or "no reason given"


def _transport_reason(exc: BaseException) -> str:
    cause = exc.__cause__ or exc.__context__ or exc
    return type(cause).__name__


def call(action: str, function: Callable[[], T]) -> T:
    """``function()`` with :func:`google_auth_errors` around it."""
    with google_auth_errors(action):
        return function()
