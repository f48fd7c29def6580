"""The local backend: the connector operations over a store and the plugins installed here.

It is what the CLI runs on the embedded store, and what a team server runs per
request (with the signed-in user as ``caller``). Each operation authorizes the
caller (:class:`~keybroker.caller.Caller`: own and shared connectors are
visible and usable, only the owner or an admin changes one, only the owner
reads its secrets; a refusal is audited as denied), validates, applies the
scope rules, calls the owning plugin through
:class:`~keybroker.service.plugin_calls.PluginCalls`, talks to the store and
records an audit event; the pieces live in their own modules.
"""

from __future__ import annotations

import builtins
import threading
from collections.abc import Callable, Sequence

from keybroker import redaction
from keybroker.caller import Caller
from keybroker.catalog import TypeCatalog, require_auth_method
from keybroker.connector import (
    Connector,
    ConnectorQuery,
    ListedConnector,
    RegisterRequest,
    ResourceReport,
    UpdateRequest,
)
from keybroker.errors import (
    ConflictError,
    KeybrokerError,
    NotFoundError,
    OperationError,
    PermissionDeniedError,
    PluginError,
    StaleVersionError,
    StoreError,
    UsageError,
)
from keybroker.operations import IssuedClient, IssuePurpose, Registration
from keybroker.registry import PluginRegistry
from keybroker.service.audit import AuditSink, AuditTrail, open_hook_sink
from keybroker.service.issuing import ClientIssuer
from keybroker.service.plugin_calls import PluginCalls, plugin_result_error
from keybroker.service.scope import ScopeRules
from keybroker.service.updates import merge_update
from keybroker.service.validation import (
    ConnectorBuilder,
    ConnectorSpec,
    auth_config,
    validate_name,
)
from keybroker.service.verification import Verifier, fan_out
from keybroker.settings import Settings
from keybroker.store.base import ConnectorStore
from keybroker.types import AuthConfig, AutoConfiguration, ConnectorType
from keybroker.views import ConnectorTypeView

#: rows one page request reads at most, matching its filters or not (or one batch of
#: ``limit`` + 1, if larger): a filter that matches little answers a short page
#: with a cursor instead of reading the whole store in one request
MAX_ROWS_PER_PAGE = 1000


def broken_error(connector: Connector, error: str) -> StoreError:
    """The error of a connector whose stored row is broken, naming it once."""
    if f"connector '{connector.name}'" in error:
        return StoreError(error)
    return StoreError(f"connector '{connector.name}' is broken: {error}")


class LocalOperations:
    """:class:`~keybroker.operations.ConnectorOperations` over a store and local plugins.

    ``store`` defaults to the SQL store of ``settings``, opened on first use so
    that type-only operations never touch a database. ``caller`` (default: the
    operating-system user) owns what it registers and is the actor of audit
    events; ``audit_sinks`` default to the plugins' ``audit_event`` hook.
    ``environment_credentials`` false refuses auth methods that take
    credentials from the environment of the process running them (a team
    server whose administrator did not allow them).
    """

    def __init__(
        self,
        store: ConnectorStore | None = None,
        registry: PluginRegistry | None = None,
        settings: Settings | None = None,
        caller: Caller | None = None,
        audit_sinks: Sequence[AuditSink] | None = None,
        *,
        environment_credentials: bool = True,
    ) -> None:
        self.settings = settings or Settings.from_env()
        self.environment_credentials = environment_credentials
        self.registry = registry or PluginRegistry()
        self.caller = caller or Caller.local()
        self.catalog = TypeCatalog(self.registry)
        self.calls = PluginCalls(self.registry, self.settings.timeout_seconds)
        self.scope = ScopeRules(self.calls)
        self.verifier = Verifier(self.calls)
        self.issuer = ClientIssuer(self.calls, self.scope, self.verifier)
        self.builder = ConnectorBuilder(self.scope)
        sinks = audit_sinks if audit_sinks is not None else [open_hook_sink(self.registry)]
        self.audit = AuditTrail(self.caller, sinks)
        self._store = store
        self._store_lock = threading.Lock()

    # -- plumbing -------------------------------------------------------------

    @property
    def store(self) -> ConnectorStore:
        """The connector store, opened on first use."""
        with self._store_lock:
            if self._store is None:
                from keybroker.store.sql import SQLConnectorStore

                self._store = SQLConnectorStore.from_settings(self.settings)
            return self._store

    def close(self) -> None:
        """Release the store."""
        if self._store is not None:
            self._store.close()

    def _find(
        self,
        name_or_id: str,
        action: str,
        *,
        with_secrets: bool = False,
        resource_type: str | None = None,
        resource_id: str | None = None,
    ) -> Connector:
        """A connector the caller may see and use.

        Another user's private connector is not found, like one that does not
        exist; for a non-admin either is audited as a denied ``action``.
        """
        try:
            return self.store.get(
                name_or_id, with_secrets=with_secrets, visible_to=self.caller.visible_to
            )
        except NotFoundError:
            if not self.caller.is_admin:
                self.audit.deny(action, None, name_or_id, resource_type, resource_id)
            raise

    def _load(
        self,
        name_or_id: str,
        action: str,
        resource_type: str | None = None,
        resource_id: str | None = None,
    ) -> Connector:
        """A connector the caller may use, with its secrets; a broken row is refused."""
        connector = self._find(
            name_or_id,
            action,
            with_secrets=True,
            resource_type=resource_type,
            resource_id=resource_id,
        )
        if connector.error is not None:
            raise broken_error(connector, connector.error)
        redaction.remember(*connector.secret_values())
        return connector

    def _require_manager(self, connector: Connector, action: str) -> None:
        """Refuse (audited) a change by anyone but the owner or an admin."""
        if not self.caller.may_manage(connector):
            self.audit.deny(action, connector, connector.name)
            verb = "update" if action == "update" else "delete"
            raise PermissionDeniedError(
                f"connector '{connector.name}' belongs to '{connector.owner}'; only its owner "
                f"or an admin may {verb} it"
            )

    def _check_connector_type(self, connector_type: str | None) -> None:
        """Refuse a connector-type filter naming no installed type."""
        if connector_type and connector_type not in self.registry.names():
            known = ", ".join(self.registry.names()) or "none installed"
            raise NotFoundError(
                f"unknown connector type '{connector_type}'; known types: {known}",
                parameter="connector_type",
            )

    def _check_name_free(self, name: str) -> None:
        if self.store.name_exists(name):
            raise ConflictError(
                f"a connector named '{name}' already exists; choose another name or update "
                "the existing connector",
                parameter="name",
            )

    # -- connector types ----------------------------------------------------------

    def list_types(
        self, resource_type: str | None = None, auth_method: str | None = None
    ) -> builtins.list[ConnectorTypeView]:
        """Every installed connector type (see :class:`~keybroker.catalog.TypeCatalog`)."""
        return self.catalog.list_types(resource_type, auth_method)

    def describe_type(self, connector_type: str) -> ConnectorTypeView:
        """One connector type, importing only its plugin."""
        return self.catalog.describe_type(connector_type)

    # -- registration -------------------------------------------------------------

    def register(self, request: RegisterRequest) -> Registration:
        """Validate, verify (unless asked not to) and store a new connector.

        Nothing is stored unless every step succeeds. A duplicate name is
        refused before any verification runs.
        """
        validate_name(request.name)
        self._check_name_free(request.name)
        declaration = self.registry.declaration(request.connector_type)
        spec = ConnectorSpec(
            name=request.name,
            declaration=declaration,
            auth_method=request.auth_method or "",
            attributes=dict(request.attributes),
            owner=self.caller.name,
            resource_type=request.resource_type,
            resource_id=request.resource_id,
            labels=dict(request.labels),
            description=request.description,
            expiration_seconds=request.expiration_seconds,
            shared=request.shared,
        )
        if request.auto_configure:
            self._auto_configure(spec, request)
        if not spec.auth_method:
            if len(declaration.auth_methods) != 1:
                valid = ", ".join(m.auth_method for m in declaration.auth_methods)
                raise UsageError(
                    f"connector type '{declaration.connector_type}' has several auth methods: "
                    f"choose one ({valid})",
                    parameter="auth_method",
                )
            spec.auth_method = declaration.auth_methods[0].auth_method
        self._check_environment_use(spec.declaration, spec.auth_method)
        connector, config = self.builder.build(spec)
        report = None
        if request.verify:
            report = self.verifier.check(
                connector, declaration, config, connector.resource_type, connector.resource_id
            )
            connector = self.verifier.adopt_single_name(connector, declaration, report)
        stored = self.store.create(connector)
        self.audit.record("register", stored)
        return Registration(connector=stored, verification=report)

    def _auto_configure(self, spec: ConnectorSpec, request: RegisterRequest) -> None:
        """Fill ``spec`` from credentials the plugin finds here; given values win."""
        declaration = spec.declaration
        connector_type = declaration.connector_type
        if not declaration.supports_auto_configuration or not self.calls.implements(
            connector_type, "auto_configure"
        ):
            raise UsageError(
                f"connector type '{connector_type}' does not support auto-configuration",
                parameter="auto_configure",
            )
        if spec.auth_method:
            require_auth_method(declaration, spec.auth_method)
        hooks = self.calls.hooks(connector_type)
        found = self.calls.guard(
            None,
            lambda: hooks.auto_configure(
                auth_method=spec.auth_method or None,
                resource_type=spec.resource_type,
                resource_id=spec.resource_id,
                options=request.auto_configure_options,
            ),
        )
        if found is None:
            raise OperationError(f"no {connector_type} credentials found in the local environment")
        if not isinstance(found, AutoConfiguration):
            raise plugin_result_error(
                connector_type, "auto_configure", "an AutoConfiguration", found
            )
        spec.auth_method = found.auth_method
        spec.attributes = {**found.attributes, **spec.attributes}
        spec.resource_type = spec.resource_type or found.resource_type
        spec.resource_id = spec.resource_id or found.resource_id
        if spec.expiration_seconds is None:
            spec.expiration_seconds = found.expiration_seconds
        spec.expires_at = found.expires_at

    # -- reading, updating, deleting ------------------------------------------------

    def list(self, query: ConnectorQuery | None = None) -> builtins.list[Connector]:
        """Connectors matching ``query``, without secrets.

        A resource-type filter (with an optional resource id) keeps every
        connector whose scope covers it, judged without contacting the cloud:
        multi-type connectors of types offering it, multi-instance ones of that
        type, and single-instance ones whose id is the same in canonical form.
        Broken connectors (``error`` set) are always listed.
        """
        query = query or ConnectorQuery()
        self._check_query(query)
        found = self.store.list(
            query.model_copy(update={"resource_id": None}), visible_to=self.caller.visible_to
        )
        return [c for c in found if self._keeps(c, query)]

    def page(
        self, query: ConnectorQuery, after: str | None, limit: int
    ) -> tuple[builtins.list[ListedConnector], str | None]:
        """One page of :meth:`list` after the name ``after``, paged in the store.

        Returns at most ``limit`` connectors (shared with other lists: read them,
        never change them) and the name to continue after (None on the last page).
        A request reads at most :data:`MAX_ROWS_PER_PAGE` rows (or one batch, if
        larger): when filters match few of them, the page comes back short, even
        empty, with a name to continue after, rather than reading the whole store
        in one request.
        """
        self._check_query(query)
        store_query = query.model_copy(update={"resource_id": None})
        kept: builtins.list[ListedConnector] = []
        cursor = after
        read = 0
        while len(kept) <= limit:
            batch = self.store.page(
                store_query, after=cursor, limit=limit + 1, visible_to=self.caller.visible_to
            )
            read += limit + 1
            kept.extend(c for c in batch.items if self._keeps(c.connector, query))
            cursor = batch.resume_after
            if cursor is None or read >= MAX_ROWS_PER_PAGE:
                break
        if len(kept) > limit:
            page = kept[:limit]
            return page, page[-1].connector.name
        return kept, cursor

    def _check_query(self, query: ConnectorQuery) -> None:
        self._check_connector_type(query.connector_type)
        self.catalog.check_resource_type(query.resource_type)
        if query.resource_id and not query.resource_type:
            raise UsageError(
                "a resource id filter needs a resource type", parameter="resource_type"
            )

    def _keeps(self, connector: Connector, query: ConnectorQuery) -> bool:
        """Whether a listed connector stays under ``query``'s resource filter."""
        if not query.resource_type or connector.error is not None:
            return True
        return self._reaches(connector, query.resource_type, query.resource_id)

    def _reaches(self, connector: Connector, resource_type: str, resource_id: str | None) -> bool:
        try:
            declaration = self.registry.declaration(connector.connector_type)
        except KeybrokerError:
            return False
        return self.scope.reaches(connector, declaration, resource_type, resource_id)

    def get(self, name_or_id: str, show_secrets: bool = False) -> Connector:
        """One connector; secrets only when ``show_secrets`` is asked for explicitly.

        Only the owner reads secrets: anyone else (an admin too) is refused.
        """
        action = "show-secrets" if show_secrets else "get"
        connector = self._find(name_or_id, action)
        if not show_secrets:
            return connector
        if not self.caller.owns(connector):
            self.audit.deny(action, connector, connector.name)
            raise PermissionDeniedError(
                f"only the owner of connector '{connector.name}' ('{connector.owner}') may "
                "read its secrets; use it (verify, login, clients) without them"
            )
        connector = self.store.get(str(connector.id), with_secrets=True)
        redaction.remember(*connector.secret_values())
        self.audit.record("show-secrets", connector)
        return connector

    def update(self, name_or_id: str, request: UpdateRequest) -> Registration:
        """Change a connector, re-verify it (unless asked not to) and store it.

        The stored connector is unchanged if any step fails, and the write is
        refused if someone else changed the connector since it was read.
        """
        current = self._find(name_or_id, "update")
        self._require_manager(current, "update")
        current = self._load(str(current.id), "update")
        if request.version is not None and request.version != current.version:
            raise StaleVersionError(
                f"connector '{current.name}' is at version {current.version}, not "
                f"{request.version}: someone changed it since it was read; read it again",
                parameter="version",
            )
        declaration = self.registry.declaration(current.connector_type)
        if request.name is not None and request.name != current.name:
            validate_name(request.name)
            self._check_name_free(request.name)
        spec = merge_update(current, request, declaration)
        if request.shared is not None:
            spec.shared = request.shared
        self._check_environment_use(spec.declaration, spec.auth_method)
        connector, config = self.builder.build(spec)
        if (request.attributes or request.auth_method) and self._keeps_secrets_of(
            current, connector
        ):
            # e.g. an admin pointing a connector at another host: its verification would
            # send the owner's secrets there
            self.audit.deny("update", current, current.name)
            raise PermissionDeniedError(
                f"only the owner of connector '{current.name}' ('{current.owner}') may change "
                "its attributes while keeping its secrets; give every secret attribute anew",
                parameter="attributes",
            )
        report = None
        if request.verify:
            report = self.verifier.check(
                connector, declaration, config, connector.resource_type, connector.resource_id
            )
            connector = self.verifier.adopt_single_name(connector, declaration, report)
        stored = self.store.update(connector)
        self.audit.record("update", stored)
        return Registration(connector=stored, verification=report)

    def _keeps_secrets_of(self, owned: Connector, other: Connector) -> bool:
        """Whether ``other`` carries a secret of ``owned`` that the caller may not read."""
        if self.caller.owns(owned):
            return False
        kept = set(owned.secret_values())
        return any(value in kept for value in other.secret_values())

    def delete(self, name_or_id: str) -> Connector:
        """Delete a connector and return what it was (without secrets)."""
        connector = self._find(name_or_id, "delete")
        self._require_manager(connector, "delete")
        self.store.delete(connector.id)
        self.audit.record("delete", connector)
        return connector

    # -- verification and resources -------------------------------------------------

    def _usable(
        self,
        name_or_id: str,
        action: str,
        resource_type: str | None = None,
        resource_id: str | None = None,
    ) -> tuple[Connector, ConnectorType, AuthConfig]:
        """A connector with its secrets, its type's declaration and its validated config."""
        connector = self._load(name_or_id, action, resource_type, resource_id)
        declaration = self.registry.declaration(connector.connector_type)
        self._check_environment_use(declaration, connector.auth_method)
        return connector, declaration, auth_config(declaration, connector)

    def _check_environment_use(self, declaration: ConnectorType, auth_method: str) -> None:
        """Refuse an auth method using this process's own environment, unless allowed."""
        if self.environment_credentials:
            return
        method = next((m for m in declaration.auth_methods if m.auth_method == auth_method), None)
        if method is not None and method.server_opt_in:
            raise PermissionDeniedError(
                f"auth method '{auth_method}' of connector type '{declaration.connector_type}' "
                "takes credentials from the environment of the server itself, which this "
                "server does not allow; use another auth method (its administrator may allow "
                "it with KEYBROKER_SERVER_ALLOW_ENVIRONMENT_CREDENTIALS=true)",
                parameter="auth_method",
            )

    def verify(
        self,
        name_or_id: str,
        resource_type: str | None = None,
        resource_id: str | None = None,
    ) -> ResourceReport:
        """Verify a registered connector, optionally narrowed; raise when it fails."""
        connector, declaration, config = self._usable(
            name_or_id, "verify", resource_type, resource_id
        )
        target_type, target_id = self.scope.narrow(
            connector, declaration, config, resource_type, resource_id
        )
        report = self.verifier.check(connector, declaration, config, target_type, target_id)
        self.audit.record("verify", connector, target_type, target_id)
        return report

    def list_resources(
        self,
        connector_type: str | None = None,
        resource_type: str | None = None,
        resource_id: str | None = None,
    ) -> builtins.list[ResourceReport]:
        """What every matching connector reaches, checked concurrently.

        A connector that fails, hangs or is broken is reported with its error;
        one never holds the others back.
        """
        if resource_id and not resource_type:
            raise UsageError("a resource id needs a resource type", parameter="resource_type")
        self._check_connector_type(connector_type)
        self.catalog.check_resource_type(resource_type)
        jobs: builtins.list[tuple[Connector, Callable[[], ResourceReport]]] = []
        visible = self.store.list(
            ConnectorQuery(connector_type=connector_type), visible_to=self.caller.visible_to
        )
        for connector in visible:
            job = self._resource_job(connector, resource_type, resource_id)
            if job is not None:
                jobs.append((connector, job))
        return fan_out(jobs, resource_type, self.settings.timeout_seconds)

    def _resource_job(
        self, connector: Connector, resource_type: str | None, resource_id: str | None
    ) -> Callable[[], ResourceReport] | None:
        """A call that checks one connector for list-resources, or None if it cannot match."""
        if connector.error is not None:
            broken = broken_error(connector, connector.error)

            def unreadable() -> ResourceReport:
                raise broken

            return unreadable
        try:
            declaration = self.registry.declaration(connector.connector_type)
        except KeybrokerError as exc:
            unavailable = PluginError(str(exc))

            def failed() -> ResourceReport:
                raise unavailable

            wanted = resource_type is None or connector.resource_type in (None, resource_type)
            return failed if wanted else None
        if resource_type and not self.scope.reaches(
            connector, declaration, resource_type, resource_id
        ):
            return None

        def job() -> ResourceReport:
            full, _, config = self._usable(str(connector.id), "verify")
            target_type, target_id = self.scope.narrow(
                full, declaration, config, resource_type, resource_id
            )
            if target_type is not None:
                return self.verifier.check(full, declaration, config, target_type, target_id)
            return self.verifier.check_every_type(full, declaration, config)

        return job

    # -- connector clients ----------------------------------------------------------

    def issue_client(
        self,
        name_or_id: str,
        resource_type: str | None = None,
        resource_id: str | None = None,
        purpose: IssuePurpose = IssuePurpose.ISSUE,
    ) -> IssuedClient:
        """A short-lived connector client (with secrets) for one resource of a connector.

        For a login or an issued client, a resource type with instances needs
        one instance (the only one reached is picked); a Python client
        (``IssuePurpose.CLIENT``) may cover the connector's whole scope. A
        client that would carry the connector's own long-lived secrets (a type
        that derives nothing shorter-lived) is issued to its owner only.
        """
        action = "login" if purpose == IssuePurpose.LOGIN else "issue"
        connector, declaration, config = self._usable(
            name_or_id, action, resource_type, resource_id
        )
        if connector.is_expired():
            raise OperationError(
                f"the credentials of connector '{connector.name}' expired at "
                f"{connector.expires_at:%Y-%m-%d %H:%M:%S %Z}; update them"
            )
        target_type, target_id = self.issuer.resolve_target(
            connector,
            declaration,
            config,
            resource_type,
            resource_id,
            pick_instance=purpose != IssuePurpose.CLIENT,
        )
        client = self.issuer.derive(connector, declaration, config, target_type, target_id)
        if self._keeps_secrets_of(connector, client):
            self.audit.deny(action, connector, connector.name, target_type, target_id)
            raise PermissionDeniedError(
                f"connector '{connector.name}' issues no short-lived credentials for "
                f"{target_type}: its client would carry the long-lived secrets that only its "
                f"owner ('{connector.owner}') may read"
            )
        self.audit.record(action, connector, target_type, target_id, expires_at=client.expires_at)
        return IssuedClient(
            connector_id=connector.id,
            connector_name=connector.name,
            resource_type=target_type,
            resource_id=target_id,
            client=client,
        )
