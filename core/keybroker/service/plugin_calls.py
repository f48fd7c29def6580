"""Calling into plugins safely: scrubbed errors, a timeout, and results checked.

A plugin is code we do not control. Every call goes through :class:`PluginCalls`:
an exception becomes a keybroker error whose message holds no secret (a
:class:`~keybroker.errors.KeybrokerError` keeps its class, anything else
becomes an :class:`~keybroker.errors.OperationError`); a call that hangs is
abandoned after the configured timeout; a hook that is missing, or answers
None or the wrong kind of value where a result is required, is a
:class:`~keybroker.errors.PluginError`. Nothing fails open.
"""

from __future__ import annotations

import logging
import traceback
from collections.abc import Callable, Iterable
from typing import Any, TypeVar

from keybroker import redaction
from keybroker.connector import Connector
from keybroker.errors import ConnectionFailure, KeybrokerError, OperationError, PluginError
from keybroker.fanout import run_concurrently
from keybroker.registry import PluginRegistry

log = logging.getLogger(__name__)

T = TypeVar("T")


class PluginCalls:
    """The one way the service calls a connector type's hooks."""

    def __init__(self, registry: PluginRegistry, timeout_seconds: float) -> None:
        self.registry = registry
        self.timeout_seconds = timeout_seconds

    def implements(self, connector_type: str, hook_name: str) -> bool:
        """Whether ``connector_type``'s plugin implements the per-type hook ``hook_name``."""
        return self.registry.implements(connector_type, hook_name)

    def hooks(self, connector_type: str) -> Any:
        """The hook relay of ``connector_type`` (imports its implementation)."""
        return self.registry.hooks(connector_type)

    def required_hooks(self, connector_type: str, hook_name: str, purpose: str) -> Any:
        """The hook relay, or ``PluginError`` when the plugin lacks ``hook_name``.

        A missing hook (not implemented, or misspelled) refuses the operation:
        e.g. a type that cannot verify never counts as verified.
        """
        if not self.implements(connector_type, hook_name):
            raise PluginError(
                f"connector type '{connector_type}' cannot {purpose}: its plugin implements no "
                f"'{hook_name}' hook (is it misspelled?); ask its authors to fix the plugin"
            )
        return self.hooks(connector_type)

    def guard(
        self, connector: Connector | None, call: Callable[[], T], secrets: Iterable[str] = ()
    ) -> T:
        """Run a plugin call; turn any failure into a keybroker error without secrets."""
        values = [*(connector.secret_values() if connector else []), *secrets]
        redaction.remember(*values)
        try:
            return call()
        except KeybrokerError as exc:
            exc.message = redaction.scrub(exc.message, values)
            exc.args = (exc.message,)
            raise
        except Exception as exc:
            if log.isEnabledFor(logging.DEBUG):
                trace = "".join(traceback.format_exception(exc))
                name = connector.name if connector else "?"
                log.debug("plugin call failed for %s:\n%s", name, redaction.scrub(trace, values))
            message = redaction.scrub(_exception_text(exc), values)
            raise OperationError(message) from None

    def timed(self, connector: Connector, call: Callable[[], T]) -> T:
        """Run a guarded plugin call with the configured timeout."""
        timeout = self.timeout_seconds
        (outcome,) = run_concurrently([lambda: self.guard(connector, call)], timeout)
        if outcome.timed_out:
            raise ConnectionFailure(
                f"connector '{connector.name}' did not answer within {timeout:g} s"
            )
        if outcome.error is not None:
            raise outcome.error
        return outcome.value  # type: ignore[return-value]


def _exception_text(exc: Exception) -> str:
    """What a plugin's exception says, on one line (a pydantic error without its jargon)."""
    from pydantic import ValidationError

    if isinstance(exc, ValidationError):
        from keybroker.validation_errors import describe

        return describe(exc)
    return " ".join(str(exc).split()) or type(exc).__name__


def plugin_result_error(
    connector_type: str, hook_name: str, expected: str, got: Any
) -> PluginError:
    """The error for a hook that answered something other than what its contract requires."""
    what = "nothing (None)" if got is None else f"a {type(got).__name__}"
    return PluginError(
        f"connector type '{connector_type}': its '{hook_name}' hook returned {what}, "
        f"not {expected}; ask its authors to fix the plugin"
    )


def require_str_list(connector_type: str, hook_name: str, result: Any) -> list[str]:
    """``result`` as a list of strings, or ``PluginError``."""
    if not isinstance(result, list | tuple) or not all(isinstance(i, str) for i in result):
        raise plugin_result_error(connector_type, hook_name, "a list of resource ids", result)
    return list(result)


def require_str(connector_type: str, hook_name: str, result: Any) -> str:
    """``result`` as a non-empty string, or ``PluginError``."""
    if not isinstance(result, str) or not result:
        raise plugin_result_error(connector_type, hook_name, "a resource id", result)
    return result
