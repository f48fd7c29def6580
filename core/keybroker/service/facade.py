""":class:`ConnectorService`: what users of the Python API and the CLI hold.

A thin facade over two parts: a *backend* implementing
:class:`~keybroker.operations.ConnectorOperations` (chosen from the settings:
the local backend over the embedded store by default), and
:class:`~keybroker.local_use.LocalUse` for Python clients and logins, which
run here from connector clients the backend issues.
"""

from __future__ import annotations

import builtins
import threading
from datetime import timedelta
from typing import TYPE_CHECKING, Any

from keybroker.errors import KeybrokerError, NotFoundError, PluginError, UsageError
from keybroker.registry import PluginRegistry
from keybroker.settings import Settings

if TYPE_CHECKING:
    from keybroker.caller import Caller
    from keybroker.catalog import TypeCatalog
    from keybroker.connector import (
        Connector,
        ConnectorQuery,
        ListedConnector,
        LoginResult,
        RegisterRequest,
        ResourceReport,
        UpdateRequest,
    )
    from keybroker.local_use import LocalUse
    from keybroker.operations import ConnectorOperations, IssuedClient, IssuePurpose, Registration
    from keybroker.remote.operations import RemoteOperations
    from keybroker.store.base import ConnectorStore
    from keybroker.types import AuthConfig, ConnectorType
    from keybroker.views import ConnectorTypeView, ConnectorView, RegistrationView


def is_server_url(url: str | None) -> bool:
    """Whether a store URL names a keybroker server rather than a database."""
    from keybroker.remote.session import is_server_url as names_server

    return names_server(url)


def open_backend(
    settings: Settings,
    registry: PluginRegistry,
    store: ConnectorStore | None = None,
    caller: Caller | None = None,
) -> ConnectorOperations:
    """The backend the settings name: a team server, or the local one over a store.

    A given ``store`` is used as it is. Otherwise a server when
    ``KEYBROKER_STORE_URL`` is an http(s) URL or ``keybroker connect`` stored a
    session (and no database URL is given); the embedded store (or the database
    ``KEYBROKER_STORE_URL`` names) when not connected.
    """
    if store is None:
        from keybroker.remote.session import current_session

        session = current_session(settings)
        if session is not None:
            from keybroker.remote.operations import RemoteOperations

            return RemoteOperations(session.client(settings.timeout_seconds))
    from keybroker.service.local import LocalOperations

    return LocalOperations(store=store, registry=registry, settings=settings, caller=caller)


class ConnectorService:
    """Connector operations on a backend, plus Python clients and logins run here.

    ``store`` (or a ready ``backend``) replaces the backend the settings name;
    ``registry`` holds the plugins installed here. Nothing is opened until an
    operation needs it.
    """

    def __init__(
        self,
        store: ConnectorStore | None = None,
        registry: PluginRegistry | None = None,
        settings: Settings | None = None,
        *,
        backend: ConnectorOperations | None = None,
        caller: Caller | None = None,
    ) -> None:
        self.settings = settings or Settings.from_env()
        self.registry = registry or PluginRegistry()
        self._store = store
        self._caller = caller
        self._backend = backend
        self._local_use: LocalUse | None = None
        self._type_views: dict[str, ConnectorTypeView | None] = {}
        self._lock = threading.RLock()

    # -- parts ------------------------------------------------------------------

    @property
    def backend(self) -> ConnectorOperations:
        """Where connectors live and operations run, opened on first use."""
        with self._lock:
            if self._backend is None:
                self._backend = open_backend(
                    self.settings, self.registry, self._store, self._caller
                )
            return self._backend

    @property
    def store(self) -> ConnectorStore:
        """The store of the local backend (a remote backend keeps its store to itself)."""
        from keybroker.service.local import LocalOperations

        backend = self.backend
        if not isinstance(backend, LocalOperations):
            raise UsageError("connectors are kept on a server: there is no local store")
        return backend.store

    @property
    def catalog(self) -> TypeCatalog:
        """The connector types installed here (not those only a server has)."""
        from keybroker.catalog import TypeCatalog

        return TypeCatalog(self.registry)

    @property
    def local_use(self) -> LocalUse:
        """Python clients and logins, from connector clients the backend issues."""
        with self._lock:
            if self._local_use is None:
                from keybroker.local_use import LocalUse

                self._local_use = LocalUse(self.backend, self.registry, self.settings)
            return self._local_use

    def close(self) -> None:
        """Release the backend."""
        if self._backend is not None:
            self._backend.close()

    # -- connector operations (the backend's) ------------------------------------------

    def _types(self) -> ConnectorOperations | TypeCatalog:
        """Who answers about connector types: the backend, or the catalog it would use.

        The local backend's types are the catalog's; asking the catalog directly
        keeps ``list-types`` and ``describe-type`` from loading the operations.
        """
        if self._backend is not None:
            return self.backend
        return self.catalog

    def server(self) -> RemoteOperations | None:
        """The backend when it is a team server, else None (opens it only for a server)."""
        from keybroker.remote.operations import RemoteOperations

        with self._lock:
            if self._backend is None:
                if self._store is not None:
                    return None
                from keybroker.remote.session import current_session

                if current_session(self.settings) is None:
                    return None
            backend = self.backend
        return backend if isinstance(backend, RemoteOperations) else None

    def list_types(
        self, resource_type: str | None = None, auth_method: str | None = None
    ) -> builtins.list[ConnectorTypeView]:
        """Connector types with where they can be used (an unknown filter is a ``UsageError``).

        Against a server: the types installed here (LOCAL) and the server's
        (REMOTE), merged; a filter value only one side knows is accepted.
        """
        server = self.server()
        if server is None:
            return self._types().list_types(resource_type, auth_method)
        from keybroker.service.availability import merge_types

        refused: UsageError | None = None
        try:
            remote = server.list_types(resource_type, auth_method)
        except UsageError as exc:
            remote, refused = [], exc
        try:
            local = self.catalog.list_types(resource_type, auth_method)
        except UsageError:
            if refused is not None:
                raise refused from None
            local = []
        return merge_types(local, remote)

    def describe_type(self, connector_type: str) -> ConnectorTypeView:
        """One connector type, with where it can be used; documented by whichever side has it."""
        server = self.server()
        if server is None:
            return self._types().describe_type(connector_type)
        from keybroker.service.availability import merge_type, unknown_everywhere
        from keybroker.views import ConnectorTypeView

        local: ConnectorTypeView | None = None
        if connector_type in self.registry.names():
            local = ConnectorTypeView.from_availability(self.registry.availability(connector_type))
        try:
            remote: ConnectorTypeView | None = server.describe_type(connector_type)
        except NotFoundError:
            remote = None
        except PluginError:  # its plugin is broken on the server
            if local is None:
                raise
            remote = None
        if local is None and remote is None:
            raise unknown_everywhere(connector_type, server.url, self.registry.names())
        return merge_type(local, remote)

    def register(self, request: RegisterRequest) -> Registration:
        """Validate, verify (unless asked not to) and store a new connector.

        Against a server, auto-configuration runs here, on this machine's
        credentials, and the server is sent the attributes found.
        """
        if request.auto_configure and self.server() is not None:
            from keybroker.service.auto_configuration import configured_request
            from keybroker.service.plugin_calls import PluginCalls

            calls = PluginCalls(self.registry, self.settings.timeout_seconds)
            request = configured_request(calls, request)
        return self.backend.register(request)

    def list(self, query: ConnectorQuery | None = None) -> builtins.list[Connector]:
        """Connectors matching ``query``, without secrets; broken ones have ``error`` set."""
        return self.backend.list(query)

    def get(self, name_or_id: str, show_secrets: bool = False) -> Connector:
        """One connector; secrets only when ``show_secrets`` is asked for explicitly."""
        return self.backend.get(name_or_id, show_secrets)

    def update(self, name_or_id: str, request: UpdateRequest) -> Registration:
        """Change a connector, verify it again (unless asked not to) and store it."""
        return self.backend.update(name_or_id, request)

    def delete(self, name_or_id: str) -> Connector:
        """Delete a connector and return what it was (without secrets)."""
        return self.backend.delete(name_or_id)

    def verify(
        self,
        name_or_id: str,
        resource_type: str | None = None,
        resource_id: str | None = None,
    ) -> ResourceReport:
        """Verify a registered connector, optionally narrowed; raise when it fails."""
        return self.backend.verify(name_or_id, resource_type, resource_id)

    def list_resources(
        self,
        connector_type: str | None = None,
        resource_type: str | None = None,
        resource_id: str | None = None,
    ) -> builtins.list[ResourceReport]:
        """What every matching connector reaches, checked concurrently."""
        return self.backend.list_resources(connector_type, resource_type, resource_id)

    def issue_client(
        self,
        name_or_id: str,
        resource_type: str | None = None,
        resource_id: str | None = None,
        purpose: IssuePurpose | None = None,
    ) -> IssuedClient:
        """A short-lived connector client (with secrets) for one resource of a connector.

        ``purpose`` defaults to :attr:`~keybroker.operations.IssuePurpose.ISSUE`.
        """
        from keybroker.operations import IssuePurpose

        return self.backend.issue_client(
            name_or_id, resource_type, resource_id, purpose or IssuePurpose.ISSUE
        )

    # -- used here ------------------------------------------------------------------

    def get_client(
        self,
        name_or_id: str,
        resource_type: str | None = None,
        resource_id: str | None = None,
    ) -> Any:
        """A pre-authenticated Python client for a resource (boto3, kubernetes, docker, ...)."""
        return self.local_use.get_client(name_or_id, resource_type, resource_id)

    def login(
        self,
        name_or_id: str,
        resource_type: str | None = None,
        resource_id: str | None = None,
        tools: builtins.list[str] | None = None,
    ) -> builtins.list[LoginResult]:
        """Configure local tools (kubectl, docker, ...) with access to one resource.

        Every installed tool for the resource, or only those named in ``tools``;
        a tool that fails is reported in its result.
        """
        return self.local_use.login(name_or_id, resource_type, resource_id, tools)

    # -- views for output -------------------------------------------------------------

    def type_view(self, connector_type: str) -> ConnectorTypeView | None:
        """The backend's description of a connector type, or None if it has none (cached)."""
        with self._lock:
            if connector_type not in self._type_views:
                try:
                    found: ConnectorTypeView | None = self.describe_type(connector_type)
                except KeybrokerError:
                    found = None
                self._type_views[connector_type] = found
            return self._type_views[connector_type]

    def resource_types_of(self, connector: Connector) -> builtins.list[str]:
        """The resource types a connector reaches: its own, or every one its type offers."""
        if connector.resource_type:
            return [connector.resource_type]
        described = self.type_view(connector.connector_type)
        if described is None:
            return []
        return [r.resource_type for r in described.resource_types_for(connector.auth_method)]

    def view(self, connector: Connector, show_secrets: bool = False) -> ConnectorView:
        """The JSON shape of ``connector``; secret values only with ``show_secrets``."""
        from keybroker.views import ConnectorView

        return ConnectorView.from_connector(
            connector, self.resource_types_of(connector), show_secrets
        )

    def view_json(self, listed: ListedConnector) -> bytes:
        """The JSON of :meth:`view` of a listed connector (without secrets), rendered
        once per remembered row and types: the memo is the row's, the types this service's."""
        key = ("view_json", self.registry)
        rendered: bytes | None = listed.memo.get(key)
        if rendered is None:
            view = self.view(listed.connector)
            rendered = listed.memo[key] = view.__pydantic_serializer__.to_json(view)
        return rendered

    def registration_view(self, registration: Registration) -> RegistrationView:
        """The JSON shape of a registered or updated connector and its verification."""
        from keybroker.views import RegistrationView

        shown = self.view(registration.connector)
        return RegistrationView(**shown.model_dump(), verification=registration.verification)

    def canonical_resource_id(
        self,
        declaration: ConnectorType,
        resource_type: str,
        resource_id: str,
        config: AuthConfig | None = None,
    ) -> str:
        """``resource_id`` in canonical form, by the plugin installed here.

        For checking what a user types as they type it (interactive registration);
        the backend canonicalizes again whatever it is sent.
        """
        from keybroker.service.plugin_calls import PluginCalls
        from keybroker.service.scope import ScopeRules

        scope = ScopeRules(PluginCalls(self.registry, self.settings.timeout_seconds))
        return scope.canonical_resource_id(declaration, resource_type, resource_id, config)

    def expires_in(self, connector: Connector) -> timedelta | None:
        """Time left before the connector's own credentials expire, if they do."""
        from keybroker.connector import utcnow

        if connector.expires_at is None:
            return None
        return connector.expires_at - utcnow()
