"""Where connectors live: the store interface and its implementations."""

from keybroker.store.base import ConnectorStore

__all__ = ["ConnectorStore"]
