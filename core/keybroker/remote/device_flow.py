"""The client side of the OAuth device authorization grant (RFC 8628) with a keybroker server.

:func:`request_authorization` asks for a device code and a user code, describing
this machine; :func:`wait_for_token` polls until a person approved or denied the
request in a browser, honouring ``interval`` and adding 5 s at every ``slow_down``.
The server's answers are checked before use: a verification URI that is not
http(s) is refused (it is handed to a web browser), and text shown on the terminal
is cleaned by the caller.
"""

from __future__ import annotations

import platform
import socket
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

from keybroker import __version__
from keybroker.errors import ConnectionFailure, NotFoundError, OperationError

if TYPE_CHECKING:
    from keybroker.remote.http import ServerClient

CLIENT_ID = "keybroker-cli"
DEVICE_AUTHORIZATION_PATH = "/api/v1/oauth/device-authorization"
TOKEN_PATH = "/api/v1/oauth/token"  # noqa: S105 - a path
DEVICE_CODE_GRANT = "urn:ietf:params:oauth:grant-type:device_code"
#: RFC 8628 §3.2: the interval when the server names none; §3.5: added at each slow_down
DEFAULT_INTERVAL = 5
SLOW_DOWN_SECONDS = 5
#: polls in a row that may fail transiently (server restarting, database failing over)
MAX_TRANSIENT_FAILURES = 5
#: the longest wait after a transient failure
MAX_RETRY_WAIT = 60


class DeviceAuthorizationFailed(OperationError):
    """The device flow ended without a token: denied, expired, or refused by the server."""


@dataclass(frozen=True)
class DeviceAuthorization:
    """A started device authorization: what to show a person, and the secret to poll with."""

    device_code: str = field(repr=False)
    user_code: str
    verification_uri: str
    verification_uri_complete: str | None
    expires_in: int
    interval: int


@dataclass(frozen=True)
class DeviceToken:
    """The device token a person's approval produced."""

    access_token: str = field(repr=False)
    expires_in: int | None


def this_device() -> dict[str, str]:
    """How this machine describes itself to the person approving it."""
    system = platform.system() or "unknown OS"
    release = platform.release()
    machine = platform.machine()
    description = " ".join(part for part in (system, release, machine) if part)
    return {
        "hostname": socket.gethostname()[:255],
        "os": description[:255],
        "client_version": __version__,
    }


def _oauth_failure(answer: Any, status: int, what: str) -> OperationError:
    error = answer.get("error") if isinstance(answer, dict) else None
    description = answer.get("error_description") if isinstance(answer, dict) else None
    if error == "invalid_client":
        return DeviceAuthorizationFailed(
            f"the server does not accept this client ({description or error}); "
            "is it a keybroker server of a compatible version?"
        )
    if error == "rate_limited" or status == 429:
        return DeviceAuthorizationFailed(
            f"the server refused {what}: {description or 'too many requests'}"
        )
    detail = f"{error}: {description}" if description else str(error)
    return DeviceAuthorizationFailed(f"the server refused {what} ({detail})")


def _http_url(value: Any, name: str) -> str:
    if not isinstance(value, str) or len(value) > 2000:
        raise OperationError(f"the server's {name} is not a URL")
    parts = urlsplit(value)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise OperationError(f"the server's {name} is not an http(s) URL; refusing to open it")
    if any(ord(c) < 0x21 or ord(c) == 0x7F for c in value):
        raise OperationError(f"the server's {name} contains spaces or control characters")
    return value


def _seconds(value: Any, name: str, default: int | None = None) -> int:
    if value is None and default is not None:
        return default
    if isinstance(value, bool) or not isinstance(value, int) or value < 0:
        raise OperationError(f"the server's {name} is not a number of seconds")
    return value


def request_authorization(client: ServerClient, device: dict[str, str]) -> DeviceAuthorization:
    """Start a device authorization (RFC 8628 §3.1) for this machine."""
    try:
        status, _headers, answer = client.post_form(
            DEVICE_AUTHORIZATION_PATH, {"client_id": CLIENT_ID, **device}
        )
    except NotFoundError:
        raise DeviceAuthorizationFailed(
            f"{client.url} offers no browser sign-in (an older keybroker server?); run "
            f"'keybroker connect --url {client.url} --username NAME' instead"
        ) from None
    if status != 200 or not isinstance(answer, dict) or "device_code" not in answer:
        raise _oauth_failure(answer, status, "to start a browser sign-in")
    device_code, user_code = answer.get("device_code"), answer.get("user_code")
    if not isinstance(device_code, str) or not device_code or len(device_code) > 1000:
        raise OperationError("the server's device_code is missing or malformed")
    if not isinstance(user_code, str) or not user_code.isprintable() or len(user_code) > 64:
        raise OperationError("the server's user_code is missing or malformed")
    complete = answer.get("verification_uri_complete")
    return DeviceAuthorization(
        device_code=device_code,
        user_code=user_code,
        verification_uri=_http_url(answer.get("verification_uri"), "verification_uri"),
        verification_uri_complete=(
            _http_url(complete, "verification_uri_complete") if complete is not None else None
        ),
        expires_in=_seconds(answer.get("expires_in"), "expires_in"),
        interval=max(1, _seconds(answer.get("interval"), "interval", DEFAULT_INTERVAL)),
    )


def wait_for_token(
    client: ServerClient,
    authorization: DeviceAuthorization,
    *,
    sleep: Callable[[float], None] = time.sleep,
    clock: Callable[[], float] = time.monotonic,
    on_slow_down: Callable[[int], None] | None = None,
    on_transient_failure: Callable[[str, int], None] | None = None,
) -> DeviceToken:
    """Poll the token endpoint (RFC 8628 §3.4) until the request is decided or expires.

    Waits ``interval`` seconds before each poll; each ``slow_down`` adds 5 seconds
    for this and every later poll. A poll that fails transiently (unreachable
    server, 5xx, 429) is retried after a growing wait (``Retry-After`` when given),
    up to :data:`MAX_TRANSIENT_FAILURES` in a row, reported through
    ``on_transient_failure(message, wait)``: the person may be approving meanwhile.
    Raises :class:`DeviceAuthorizationFailed` when the request is denied, expires or
    is refused.
    """
    from keybroker.remote.http import ServerError, ServerRateLimited

    interval = authorization.interval
    wait = interval
    failures = 0
    deadline = clock() + authorization.expires_in
    fields = {
        "grant_type": DEVICE_CODE_GRANT,
        "device_code": authorization.device_code,
        "client_id": CLIENT_ID,
    }
    while True:
        client.close()  # an idle kept-alive connection would be closed by the server meanwhile
        sleep(wait)
        if clock() >= deadline:
            raise DeviceAuthorizationFailed(
                "the code expired before the request was approved; run 'keybroker connect' "
                "again for a new one"
            )
        try:
            status, _headers, answer = client.post_form(TOKEN_PATH, fields)
        except (ConnectionFailure, ServerError, ServerRateLimited) as exc:
            failures += 1
            if failures > MAX_TRANSIENT_FAILURES:
                raise DeviceAuthorizationFailed(
                    f"gave up waiting for the approval after {failures} failed polls "
                    f"({exc.message}); run 'keybroker connect' again"
                ) from None
            retry_after = exc.retry_after if isinstance(exc, ServerRateLimited) else None
            wait = min(MAX_RETRY_WAIT, max(retry_after or 0, interval * 2**failures))
            if on_transient_failure is not None:
                on_transient_failure(exc.message, wait)
            continue
        failures, wait = 0, interval
        if status == 200 and isinstance(answer, dict) and "access_token" in answer:
            return _token(answer)
        error = answer.get("error") if isinstance(answer, dict) else None
        if error == "authorization_pending":
            continue
        if error == "slow_down":
            interval += SLOW_DOWN_SECONDS
            wait = interval
            if on_slow_down is not None:
                on_slow_down(interval)
            continue
        if error == "access_denied":
            raise DeviceAuthorizationFailed(
                "the request was denied in the browser; this device was not connected"
            )
        if error == "expired_token":
            raise DeviceAuthorizationFailed(
                "the code expired before the request was approved; run 'keybroker connect' "
                "again for a new one"
            )
        raise _oauth_failure(answer, status, "the device token")


def _token(answer: dict[str, Any]) -> DeviceToken:
    token, token_type = answer.get("access_token"), answer.get("token_type")
    if not isinstance(token, str) or not token or len(token) > 1000:
        raise OperationError("the server's access_token is missing or malformed")
    if not isinstance(token_type, str) or token_type.lower() != "bearer":
        raise OperationError(
            f"the server issued a token of an unknown type '{str(token_type)[:20]}'"
        )
    expires = answer.get("expires_in")
    return DeviceToken(
        access_token=token,
        expires_in=_seconds(expires, "expires_in") if expires is not None else None,
    )
