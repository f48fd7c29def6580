"""keybroker: verified, down-scoped, short-lived access to cloud and infrastructure resources.

The Python API is :class:`keybroker.service.ConnectorService`; :func:`get_client`
is a shortcut for the common case. Attributes are imported lazily so that
``import keybroker`` stays cheap.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

__version__ = "0.1.0"

if TYPE_CHECKING:
    from keybroker.service import ConnectorService

__all__ = ["ConnectorService", "__version__", "get_client"]


def get_client(
    name_or_id: str, resource_type: str | None = None, resource_id: str | None = None
) -> Any:
    """A pre-authenticated Python client for a resource of a registered connector."""
    from keybroker.service import ConnectorService

    return ConnectorService().get_client(name_or_id, resource_type, resource_id)


def __getattr__(name: str) -> Any:
    if name == "ConnectorService":
        from keybroker.service import ConnectorService

        return ConnectorService
    raise AttributeError(f"module 'keybroker' has no attribute {name!r}")
