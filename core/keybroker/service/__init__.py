"""The service layer: connector operations, and the facade users and the CLI hold.

- :mod:`keybroker.service.facade`: :class:`ConnectorService`, a backend plus
  Python clients and logins run here (:mod:`keybroker.local_use`).
- :mod:`keybroker.service.local`: :class:`LocalOperations`, the backend over a
  store and the plugins installed here (what a team server runs).
- One job per module behind it: :mod:`~keybroker.service.plugin_calls`
  (guard, timeout, result checks), :mod:`~keybroker.service.audit`,
  :mod:`~keybroker.service.scope`, :mod:`~keybroker.service.validation`,
  :mod:`~keybroker.service.updates`, :mod:`~keybroker.service.verification`
  and :mod:`~keybroker.service.issuing`.

Only the facade is imported here, so that ``import keybroker.service`` stays cheap.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from keybroker.service.facade import ConnectorService

if TYPE_CHECKING:
    from keybroker.service.local import LocalOperations

__all__ = ["ConnectorService", "LocalOperations"]


def __getattr__(name: str) -> Any:
    if name == "LocalOperations":
        from keybroker.service.local import LocalOperations

        return LocalOperations
    raise AttributeError(f"module 'keybroker.service' has no attribute {name!r}")
