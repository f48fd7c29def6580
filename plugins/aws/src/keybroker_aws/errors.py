"""Turning boto3/botocore failures into keybroker errors without secrets.

A value the SDK or AWS rejects as malformed is bad usage (exit 2) and the
message names the connector attribute it came from; an endpoint that does not
answer is named by its URL; refused credentials are an authorization failure.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import TypeVar
from urllib.parse import urlsplit

from keybroker.plugin import (
    AuthorizationError,
    ConnectionFailure,
    KeybrokerError,
    OperationError,
    UsageError,
    proxy_address,
)

T = TypeVar("T")

REFUSED_CODES = {
    "InvalidClientTokenId",
    "SignatureDoesNotMatch",
    "UnrecognizedClientException",
    "AccessDenied",
    "AccessDeniedException",
    "ExpiredToken",
    "ExpiredTokenException",
    "AuthFailure",
    "InvalidAccessKeyId",
    "InvalidToken",
    "Forbidden",
    "403",
}

#: AWS error codes for a request value AWS refuses as malformed
INVALID_INPUT_CODES = {
    "ValidationError",
    "ValidationException",
    "InvalidParameterValue",
    "InvalidParameterException",
    "MalformedPolicyDocument",
    "InvalidInput",
}

#: API parameter names (as the SDK and AWS spell them) -> the attribute a user gave
PARAMETER_ATTRIBUTES = {
    "rolearn": "role_arn",
    "policyarns": "policy_arns",
    "durationseconds": "expiration_seconds",
    "bucket": "resource id (bucket)",
    "name": "resource id (cluster name)",
}

_PARAMETER = re.compile(r"(?:parameter|at) '?([A-Za-z][A-Za-z0-9.\[\]]*)'?", re.IGNORECASE)


def attribute_named_in(message: str) -> str | None:
    """The connector attribute an SDK or AWS validation message is about, if it names one."""
    for match in _PARAMETER.finditer(message):
        leaf = match.group(1).split(".")[0].split("[")[0].lower()
        if leaf in PARAMETER_ATTRIBUTES:
            return PARAMETER_ATTRIBUTES[leaf]
    return None


def endpoint_of(url: object) -> str:
    """``scheme://host[:port]`` of a request URL: where a call went, without path or query."""
    parts = urlsplit(str(url or ""))
    if not parts.scheme or not parts.hostname:
        return "the AWS endpoint"
    host = f"[{parts.hostname}]" if ":" in parts.hostname else parts.hostname
    return f"{parts.scheme}://{host}" + (f":{parts.port}" if parts.port else "")


def _invalid(action: str, detail: str) -> UsageError:
    attribute = attribute_named_in(detail)
    about = f"invalid {attribute}" if attribute else "a value was refused"
    return UsageError(f"{action}: {about} ({detail})")


@contextmanager
def aws_errors(action: str) -> Iterator[None]:
    """Report botocore errors of ``action`` as one keybroker line."""
    from botocore import exceptions as bx

    try:
        yield
    except KeybrokerError:
        raise
    except bx.NoCredentialsError:
        raise AuthorizationError(
            f"{action}: no AWS credentials found (environment, shared files or instance role)"
        ) from None
    except bx.ProfileNotFound as exc:
        profile = exc.kwargs.get("profile", "?")
        raise UsageError(
            f"{action}: AWS profile '{profile}' (profile_name, or AWS_PROFILE) is not in the "
            "AWS config files"
        ) from None
    except bx.ClientError as exc:
        error = exc.response.get("Error", {})
        code = str(error.get("Code", "")) or "?"
        message = str(error.get("Message", "")).split("\n")[0]
        detail = f"{code}: {message}" if message else code
        if code in REFUSED_CODES:
            raise AuthorizationError(f"{action}: AWS refused the request ({detail})") from None
        if code in INVALID_INPUT_CODES:
            raise _invalid(action, detail) from None
        raise OperationError(f"{action}: {detail}") from None
    except bx.ProxyConnectionError:
        # botocore's own rendering of the proxy URL can leak part of its password
        raise ConnectionFailure(
            f"{action}: cannot reach the proxy {proxy_address()} named by HTTPS_PROXY"
        ) from None
    except (bx.ConnectTimeoutError, bx.ReadTimeoutError) as exc:
        endpoint = endpoint_of(exc.kwargs.get("endpoint_url"))
        raise ConnectionFailure(f"{action}: {endpoint} did not answer in time") from None
    except bx.SSLError as exc:
        endpoint = endpoint_of(exc.kwargs.get("endpoint_url"))
        raise ConnectionFailure(f"{action}: TLS verification of {endpoint} failed") from None
    except (bx.EndpointConnectionError, bx.ConnectionClosedError) as exc:
        endpoint = endpoint_of(exc.kwargs.get("endpoint_url"))
        raise ConnectionFailure(f"{action}: cannot reach {endpoint}") from None
    except bx.ParamValidationError as exc:
        report = " ".join(str(exc).splitlines()[1:]).strip() or str(exc)
        raise _invalid(action, report) from None
    except bx.InvalidRegionError as exc:
        raise UsageError(f"{action}: invalid region '{exc.kwargs.get('region_name')}'") from None
    except bx.BotoCoreError as exc:
        raise ConnectionFailure(f"{action}: {type(exc).__name__}") from None
    except ValueError as exc:
        if str(exc).startswith("Invalid endpoint"):  # botocore's check when it builds a client
            raise UsageError(f"{action}: invalid endpoint_url; use http(s)://HOST[:PORT]") from None
        raise


def call(action: str, function: Callable[[], T]) -> T:
    """``function()`` with :func:`aws_errors` around it."""
    with aws_errors(action):
        return function()
