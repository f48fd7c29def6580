"""Debug output that never shows a secret.

``--debug`` turns on keybroker's own debug logs (every logger whose name starts
with ``keybroker``, plugins included) and leaves everything else at WARNING:
cloud SDKs and HTTP libraries log request headers and response bodies at
DEBUG, which carry credentials. Their wire logs are shown only when asked for
separately (``--debug-wire`` or ``KEYBROKER_DEBUG_WIRE=1``). Every record, ours
or theirs, passes through :class:`~keybroker.redaction.ScrubbingFilter` first.
"""

from __future__ import annotations

import logging
import os
import sys
from collections.abc import Callable
from typing import TextIO

from keybroker.redaction import ScrubbingFilter

WIRE_ENV = "KEYBROKER_DEBUG_WIRE"
#: loggers of libraries known to log what they send and receive
WIRE_LOGGERS = (
    "botocore",
    "boto3",
    "s3transfer",
    "urllib3",
    "requests",
    "requests_oauthlib",
    "oauthlib",
    "kubernetes",
    "google",
    "google_auth_httplib2",
    "httplib2",
    "httpx",
    "httpcore",
    "docker",
    "websocket",
)
OUR_PREFIX = "keybroker"

log = logging.getLogger(__name__)


class _CurrentStderr:
    """Writes to whatever ``sys.stderr`` is at the moment (test runners swap it)."""

    def write(self, text: str) -> int:
        return sys.stderr.write(text)

    def flush(self) -> None:
        sys.stderr.flush()


class _OursOrWarnings(logging.Filter):
    """Lets through keybroker's records, and other libraries' only from WARNING up."""

    def __init__(self, wire: bool) -> None:
        super().__init__()
        self.wire = wire

    def filter(self, record: logging.LogRecord) -> bool:
        return self.wire or record.levelno >= logging.WARNING or record.name.startswith(OUR_PREFIX)


class _DebugHandler(logging.StreamHandler):  # type: ignore[type-arg]
    """The handler :func:`enable_debug_logging` installs (found again to be replaced)."""


def wire_requested() -> bool:
    """Whether ``KEYBROKER_DEBUG_WIRE`` asks for the libraries' wire logs."""
    return os.environ.get(WIRE_ENV, "").strip().lower() in ("1", "true", "yes", "on")


def enable_debug_logging(wire: bool = False, stream: TextIO | None = None) -> Callable[[], None]:
    """Send scrubbed debug logs to stderr; other libraries' below WARNING only with ``wire``.

    Calling it again replaces the earlier configuration (e.g. to add ``wire``).
    Returns a function that puts logging back as it was (for in-process callers).
    """
    wire = wire or wire_requested()
    root = logging.getLogger()
    levels = {name: logging.getLogger(name).level for name in ("", *WIRE_LOGGERS)}
    earlier = [h for h in root.handlers if isinstance(h, _DebugHandler)]
    for old in earlier:
        root.removeHandler(old)
    handler = _DebugHandler(stream or _CurrentStderr())
    handler.setFormatter(logging.Formatter("%(levelname)s %(name)s: %(message)s"))
    handler.addFilter(_OursOrWarnings(wire))
    handler.addFilter(ScrubbingFilter())
    root.addHandler(handler)
    root.setLevel(logging.DEBUG)
    for name in WIRE_LOGGERS:
        logging.getLogger(name).setLevel(logging.DEBUG if wire else logging.WARNING)
    if wire:
        log.warning(
            "wire logs of cloud SDKs and HTTP libraries are on: known secrets and credential "
            "fields are masked, but these logs may still show credentials keybroker cannot "
            "recognise; do not share them"
        )

    def restore() -> None:
        root.removeHandler(handler)
        for old in earlier:
            root.addHandler(old)
        for name, level in levels.items():
            logging.getLogger(name).setLevel(level)

    return restore
