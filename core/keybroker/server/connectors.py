"""The connector operations a server runs: per request, for the signed-in principal.

One :class:`ConnectorBackend` per process holds what requests share: the store
over the server's database engine (rows sealed with the server's key), the
plugins installed on the server, and the client settings (timeouts). Each
request gets its own :class:`~keybroker.service.LocalOperations` whose caller is
the request's principal and whose audit events go to the server's audit log
(with the caller's address) and to the plugins' audit listeners.
"""

from __future__ import annotations

import builtins
from typing import TYPE_CHECKING

from keybroker.caller import Caller, CallerKind
from keybroker.service.facade import ConnectorService

if TYPE_CHECKING:
    from sqlalchemy.engine import Engine

    from keybroker.connector import ConnectorQuery, ListedConnector
    from keybroker.registry import PluginRegistry
    from keybroker.server.audit import AuditLog
    from keybroker.server.principal import Principal
    from keybroker.service.local import LocalOperations
    from keybroker.settings import Settings
    from keybroker.store.direct_reads import DirectReader
    from keybroker.store.sql import SQLConnectorStore


def caller_of(principal: Principal) -> Caller:
    """The caller the connector operations authorize: a user, or a service account."""
    if principal.is_service_account:
        return Caller(name=principal.name, admin=False, kind=CallerKind.SERVICE_ACCOUNT)
    return Caller(name=principal.name, admin=principal.is_admin, kind=CallerKind.USER)


class RequestConnectors(ConnectorService):
    """The connector service of one request, over its own local operations."""

    def __init__(self, operations: LocalOperations, registry: PluginRegistry) -> None:
        super().__init__(settings=operations.settings, registry=registry, backend=operations)
        self.operations = operations

    def page(
        self, query: ConnectorQuery, after: str | None, limit: int
    ) -> tuple[builtins.list[ListedConnector], str | None]:
        """One page of the connectors the caller may see (paged in the database)."""
        return self.operations.page(query, after, limit)


class ConnectorBackend:
    """What every request's connector operations share within one server process."""

    def __init__(
        self,
        engine: Engine,
        encryption_key: bytes,
        audit: AuditLog,
        registry: PluginRegistry | None = None,
        settings: Settings | None = None,
        *,
        environment_credentials: bool = False,
        direct: DirectReader | None = None,
    ) -> None:
        from keybroker.registry import PluginRegistry
        from keybroker.settings import Settings
        from keybroker.store.crypto import SecretBox
        from keybroker.store.sql import SQLConnectorStore

        self.store: SQLConnectorStore = SQLConnectorStore.over_engine(
            engine, SecretBox(encryption_key), direct
        )
        self.audit = audit
        self.registry = registry or PluginRegistry()
        self.settings = settings or Settings.from_env()
        self.environment_credentials = environment_credentials

    def for_request(self, principal: Principal, client_ip: str | None) -> RequestConnectors:
        """The connector service for one request of ``principal``.

        The facade gives the handlers the same JSON views the CLI prints.
        """
        from keybroker.service.audit import open_hook_sink
        from keybroker.service.local import LocalOperations

        operations = LocalOperations(
            store=self.store,
            registry=self.registry,
            settings=self.settings,
            caller=caller_of(principal),
            audit_sinks=[self.audit.sink(principal, client_ip), open_hook_sink(self.registry)],
            environment_credentials=self.environment_credentials,
        )
        return RequestConnectors(operations, self.registry)
