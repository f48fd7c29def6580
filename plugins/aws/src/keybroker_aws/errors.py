"""Turning boto3/botocore failures into keybroker errors without secrets."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import TypeVar

from keybroker.plugin import AuthorizationError, ConnectionFailure, KeybrokerError, OperationError

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
    except bx.ClientError as exc:
        error = exc.response.get("Error", {})
        code = str(error.get("Code", "")) or "?"
        message = str(error.get("Message", "")).split("\n")[0]
        detail = f"{code}: {message}" if message else code
        if code in REFUSED_CODES:
            raise AuthorizationError(f"{action}: AWS refused the request ({detail})") from None
        raise OperationError(f"{action}: {detail}") from None
    except (bx.EndpointConnectionError, bx.ConnectTimeoutError, bx.ReadTimeoutError) as exc:
        raise ConnectionFailure(f"{action}: cannot reach AWS ({type(exc).__name__})") from None
    except bx.ParamValidationError as exc:
        raise OperationError(f"{action}: {str(exc).splitlines()[0]}") from None
    except bx.BotoCoreError as exc:
        raise ConnectionFailure(f"{action}: {type(exc).__name__}") from None


def call(action: str, function: Callable[[], T]) -> T:
    """``function()`` with :func:`aws_errors` around it."""
    with aws_errors(action):
        return function()
