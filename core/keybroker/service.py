"""The service layer: every connector operation, for the CLI and the Python API alike.

The service validates requests, enforces the scope rules, calls the owning
plugin's hooks and talks to a :class:`~keybroker.store.ConnectorStore`. It never
renders anything and never assumes which store it has.
"""

from __future__ import annotations

import builtins
import functools
import logging
import re
import traceback
import uuid
from collections.abc import Callable
from datetime import timedelta
from typing import Any, TypeVar

from pydantic import SecretStr, ValidationError

from keybroker.catalog import TypeCatalog, require_auth_method, require_resource_type
from keybroker.connector import (
    Connector,
    ConnectorQuery,
    LoginResult,
    RegisterRequest,
    ResourceEntry,
    ResourceReport,
    UpdateRequest,
    utcnow,
)
from keybroker.errors import (
    ConnectionFailure,
    KeybrokerError,
    OperationError,
    PluginError,
    UsageError,
)
from keybroker.events import AuditEvent, LocalLoginRequest
from keybroker.fanout import run_concurrently
from keybroker.registry import PluginRegistry
from keybroker.settings import Settings
from keybroker.store.base import ConnectorStore
from keybroker.types import AuthConfig, AuthMethod, ConnectorType, TypeAvailability

log = logging.getLogger(__name__)

T = TypeVar("T")

NAME_PATTERN = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,127}$")


def scrub(text: str, secrets: list[str]) -> str:
    """``text`` with every secret value replaced by ``***``."""
    for secret in sorted(secrets, key=len, reverse=True):
        if len(secret) >= 4:
            text = text.replace(secret, "***")
    return text


def describe_validation_error(exc: ValidationError, connector_type: str, method: AuthMethod) -> str:
    """One line naming each bad attribute (never its value) and the accepted ones."""
    problems = []
    for err in exc.errors():
        name = ".".join(str(p) for p in err.get("loc", ())) or "?"
        kind = err.get("type", "")
        if kind == "missing":
            problems.append(f"missing required attribute '{name}'")
        elif kind == "extra_forbidden":
            problems.append(f"unknown attribute '{name}'")
        else:
            problems.append(f"attribute '{name}': {err.get('msg', 'invalid')}")
    known = ", ".join(f"{a.name}{' (required)' if a.required else ''}" for a in method.attributes())
    return (
        f"{'; '.join(problems)} for {connector_type} auth method '{method.auth_method}' "
        f"(attributes: {known})"
    )


class ConnectorService:
    """Operations on connector types and connectors.

    ``store`` defaults to the embedded store of :class:`~keybroker.settings.Settings`,
    opened on first use so that type-only operations never touch a database.
    """

    def __init__(
        self,
        store: ConnectorStore | None = None,
        registry: PluginRegistry | None = None,
        settings: Settings | None = None,
    ) -> None:
        self.settings = settings or Settings.from_env()
        self.registry = registry or PluginRegistry()
        self.catalog = TypeCatalog(self.registry)
        self._store = store

    # -- plumbing ---------------------------------------------------------

    @property
    def store(self) -> ConnectorStore:
        """The connector store, opened on first use."""
        if self._store is None:
            from keybroker.store.sql import SQLConnectorStore

            self._store = SQLConnectorStore.from_settings(self.settings)
        return self._store

    def close(self) -> None:
        """Release the store."""
        if self._store is not None:
            self._store.close()

    def _schema(self, declaration: ConnectorType, auth_method: str) -> AuthMethod:
        return require_auth_method(declaration, auth_method)

    def _config(self, declaration: ConnectorType, connector: Connector) -> AuthConfig:
        method = self._schema(declaration, connector.auth_method)
        try:
            return connector.auth_config(method.config_schema)
        except ValidationError as exc:
            raise UsageError(
                f"connector '{connector.name}': "
                + describe_validation_error(exc, declaration.connector_type, method)
            ) from None

    def _guard(self, connector: Connector, call: Callable[[], T]) -> T:
        """Run a plugin call; turn any failure into a keybroker error without secrets."""
        secrets = connector.secret_values()
        try:
            return call()
        except KeybrokerError as exc:
            exc.message = scrub(exc.message, secrets)
            exc.args = (exc.message,)
            raise
        except Exception as exc:
            if log.isEnabledFor(logging.DEBUG):
                trace = "".join(traceback.format_exception(exc))
                log.debug("plugin call failed for %s:\n%s", connector.name, scrub(trace, secrets))
            message = scrub(str(exc) or type(exc).__name__, secrets)
            raise OperationError(message) from None

    def _timed(self, connector: Connector, call: Callable[[], T]) -> T:
        """Run a plugin call with the configured timeout."""
        timeout = self.settings.timeout_seconds
        (outcome,) = run_concurrently([lambda: self._guard(connector, call)], timeout)
        if outcome.timed_out:
            raise ConnectionFailure(
                f"connector '{connector.name}' did not answer within {timeout:g} s"
            )
        if outcome.error is not None:
            raise outcome.error
        return outcome.value  # type: ignore[return-value]

    def _emit(self, action: str, connector: Connector, **extra: Any) -> None:
        try:
            event = AuditEvent(
                action=action,
                connector_id=connector.id,
                connector_name=connector.name,
                connector_type=connector.connector_type,
                actor=connector.owner,
                **extra,
            )
            self.registry.open_hooks().audit_event(event=event)
        except Exception:  # an audit listener never breaks an operation
            log.warning("audit listener failed for %s", action, exc_info=True)

    # -- connector types --------------------------------------------------

    def list_types(
        self, resource_type: str | None = None, auth_method: str | None = None
    ) -> list[TypeAvailability]:
        """Every installed connector type (see :class:`~keybroker.catalog.TypeCatalog`)."""
        return self.catalog.list_types(resource_type, auth_method)

    def describe_type(self, connector_type: str) -> TypeAvailability:
        """One connector type, importing only its plugin."""
        return self.catalog.describe_type(connector_type)

    # -- scope -------------------------------------------------------------

    def canonical_resource_id(
        self,
        declaration: ConnectorType,
        resource_type: str,
        resource_id: str,
        config: AuthConfig | None = None,
    ) -> str:
        """``resource_id`` in canonical form, as the owning plugin defines it."""
        resource_id = resource_id.strip()
        if not resource_id:
            raise UsageError("the resource id is empty")
        if not self.registry.implements(declaration.connector_type, "canonical_resource_id"):
            return resource_id
        hooks = self.registry.hooks(declaration.connector_type)
        result = hooks.canonical_resource_id(
            resource_type=resource_type, resource_id=resource_id, config=config
        )
        return str(result) if result is not None else resource_id

    def _check_resource_type(
        self, declaration: ConnectorType, auth_method: str, resource_type: str
    ) -> None:
        require_resource_type(declaration, resource_type, auth_method)

    def _narrow(
        self,
        connector: Connector,
        declaration: ConnectorType,
        config: AuthConfig | None,
        resource_type: str | None,
        resource_id: str | None,
    ) -> tuple[str | None, str | None]:
        """The resource type and id an operation targets, inside the connector's scope."""
        if resource_type and connector.resource_type and resource_type != connector.resource_type:
            raise UsageError(
                f"connector '{connector.name}' is scoped to resource type "
                f"'{connector.resource_type}', not '{resource_type}'"
            )
        target_type = resource_type or connector.resource_type
        if target_type is None and resource_id:
            single = declaration.resource_types_for(connector.auth_method)
            if len(single) != 1:
                raise UsageError(
                    f"connector '{connector.name}' is multi-type: give --resource-type "
                    "together with --resource-id"
                )
            target_type = single[0].resource_type
        if target_type is not None:
            self._check_resource_type(declaration, connector.auth_method, target_type)
        target_id = None
        if resource_id:
            assert target_type is not None
            target_id = self.canonical_resource_id(declaration, target_type, resource_id, config)
            if connector.resource_id and target_id != connector.resource_id:
                raise UsageError(
                    f"connector '{connector.name}' is scoped to resource "
                    f"'{connector.resource_id}', not '{target_id}'"
                )
        elif target_type == connector.resource_type:
            target_id = connector.resource_id
        return target_type, target_id

    # -- verification ------------------------------------------------------

    def _check(
        self,
        connector: Connector,
        declaration: ConnectorType,
        config: AuthConfig,
        resource_type: str | None,
        resource_id: str | None,
    ) -> ResourceReport:
        """Verify ``connector`` for the given (already narrowed) scope; raise on failure."""
        hooks = self.registry.hooks(declaration.connector_type)

        def call() -> list[str]:
            ids = hooks.verify(
                connector=connector,
                config=config,
                resource_type=resource_type,
                resource_id=resource_id,
            )
            return [str(i) for i in ids or []]

        ids = self._timed(connector, call)
        if resource_type is None:
            entries = [
                ResourceEntry(resource_type=r.resource_type)
                for r in declaration.resource_types_for(connector.auth_method)
            ]
        else:
            entries = [ResourceEntry(resource_type=resource_type, resource_ids=ids)]
        return ResourceReport(
            connector_id=connector.id,
            connector_name=connector.name,
            connector_type=connector.connector_type,
            resources=entries,
        )

    def verify(
        self,
        name_or_id: str,
        resource_type: str | None = None,
        resource_id: str | None = None,
    ) -> ResourceReport:
        """Verify a registered connector, optionally narrowed; raise when it fails."""
        connector = self.store.get(name_or_id, with_secrets=True)
        declaration = self.registry.declaration(connector.connector_type)
        config = self._config(declaration, connector)
        target_type, target_id = self._narrow(
            connector, declaration, config, resource_type, resource_id
        )
        return self._check(connector, declaration, config, target_type, target_id)

    # -- registration --------------------------------------------------------

    def _validate_expiration(
        self, method: AuthMethod, expiration_seconds: int | None
    ) -> int | None:
        if not method.issues_temporary_credentials:
            if expiration_seconds is not None:
                raise UsageError(
                    f"auth method '{method.auth_method}' does not issue temporary credentials; "
                    "leave out the expiration"
                )
            return None
        if expiration_seconds is None:
            return method.default_expiration_seconds
        low, high = method.min_expiration_seconds, method.max_expiration_seconds
        if (low is not None and expiration_seconds < low) or (
            high is not None and expiration_seconds > high
        ):
            raise UsageError(
                f"expiration of {expiration_seconds} s is outside the range of auth method "
                f"'{method.auth_method}': {low if low is not None else 0} to "
                f"{high if high is not None else 'unlimited'} s"
            )
        return expiration_seconds

    def _build(
        self,
        *,
        connector_id: uuid.UUID,
        name: str,
        declaration: ConnectorType,
        auth_method: str,
        attributes: dict[str, Any],
        resource_type: str | None,
        resource_id: str | None,
        labels: dict[str, str],
        description: str,
        expiration_seconds: int | None,
        expires_at: Any,
        owner: str,
    ) -> tuple[Connector, AuthConfig]:
        """Validate everything about a connector-to-be and return it, unsaved."""
        method = self._schema(declaration, auth_method)
        try:
            config = method.config_schema.model_validate(
                {k: v for k, v in attributes.items() if v is not None}
            )
        except ValidationError as exc:
            raise UsageError(
                describe_validation_error(exc, declaration.connector_type, method)
            ) from None
        if resource_type is None:
            reachable = declaration.resource_types_for(auth_method)
            if len(declaration.resource_types) == 1 and len(reachable) == 1:
                resource_type = reachable[0].resource_type
        if resource_id is not None and resource_type is None:
            raise UsageError("a resource id needs a resource type: add --resource-type")
        canonical_id = None
        if resource_type is not None:
            self._check_resource_type(declaration, auth_method, resource_type)
            rtype = declaration.resource_type(resource_type)
            assert rtype is not None
            default = None
            if not rtype.supports_instances and self.registry.implements(
                declaration.connector_type, "default_resource_id"
            ):
                hooks = self.registry.hooks(declaration.connector_type)
                found = hooks.default_resource_id(resource_type=resource_type, config=config)
                default = str(found) if found else None
            canonical_id = default
            if resource_id is not None:
                canonical_id = self.canonical_resource_id(
                    declaration, resource_type, resource_id, config
                )
                if default is not None and canonical_id != default:
                    raise UsageError(
                        f"resource type '{resource_type}' of connector type "
                        f"'{declaration.connector_type}' has one resource per connector, named "
                        f"'{default}' by its configuration, not '{canonical_id}'; leave out "
                        "--resource-id"
                    )
        expiration = self._validate_expiration(method, expiration_seconds)
        secret_names = set(method.config_schema.secret_fields())
        values = config.model_dump(exclude_none=True)
        secrets = {
            k: v if isinstance(v, SecretStr) else SecretStr(str(v))
            for k, v in values.items()
            if k in secret_names
        }
        configuration = {k: v for k, v in values.items() if k not in secret_names}
        connector = Connector(
            id=connector_id,
            name=name,
            connector_type=declaration.connector_type,
            auth_method=auth_method,
            resource_type=resource_type,
            resource_id=canonical_id,
            configuration=configuration,
            secrets=secrets,
            secret_names=sorted(secrets),
            labels=labels,
            description=description,
            owner=owner,
            expiration_seconds=expiration,
            expires_at=expires_at,
        )
        return connector, config

    def _validate_name(self, name: str) -> None:
        if not NAME_PATTERN.match(name):
            raise UsageError(
                f"invalid connector name '{name}': use 1 to 128 letters, digits, '.', '_' "
                "or '-', starting with a letter or digit"
            )

    def register(self, request: RegisterRequest) -> tuple[Connector, ResourceReport | None]:
        """Validate, verify (unless asked not to) and store a new connector.

        Nothing is stored unless every step succeeds. A duplicate name is refused
        before any verification runs.
        """
        self._validate_name(request.name)
        if self.store.name_exists(request.name):
            raise UsageError(
                f"a connector named '{request.name}' already exists; choose another name "
                "or update it with 'keybroker connector update'"
            ) from None
        declaration = self.registry.declaration(request.connector_type)
        auth_method = request.auth_method
        attributes = dict(request.attributes)
        resource_type, resource_id = request.resource_type, request.resource_id
        expiration, expires_at = request.expiration_seconds, None
        if request.auto_configure:
            if not declaration.supports_auto_configuration or not self.registry.implements(
                declaration.connector_type, "auto_configure"
            ):
                raise UsageError(
                    f"connector type '{declaration.connector_type}' does not support "
                    "auto-configuration"
                )
            if auth_method is not None:
                self._schema(declaration, auth_method)
            hooks = self.registry.hooks(declaration.connector_type)
            found = self._guard(
                Connector(name=request.name, connector_type="?", auth_method="?"),
                lambda: hooks.auto_configure(
                    auth_method=auth_method,
                    resource_type=resource_type,
                    resource_id=resource_id,
                    options=request.auto_configure_options,
                ),
            )
            if found is None:
                raise OperationError(
                    f"no {declaration.connector_type} credentials found in the local environment"
                )
            auth_method = found.auth_method
            attributes = {**found.attributes, **attributes}
            resource_type = resource_type or found.resource_type
            resource_id = resource_id or found.resource_id
            expiration = expiration if expiration is not None else found.expiration_seconds
            expires_at = found.expires_at
        if auth_method is None:
            if len(declaration.auth_methods) != 1:
                valid = ", ".join(m.auth_method for m in declaration.auth_methods)
                raise UsageError(
                    f"connector type '{declaration.connector_type}' has several auth methods: "
                    f"choose one with --auth-method ({valid})"
                )
            auth_method = declaration.auth_methods[0].auth_method
        connector, config = self._build(
            connector_id=uuid.uuid4(),
            name=request.name,
            declaration=declaration,
            auth_method=auth_method,
            attributes=attributes,
            resource_type=resource_type,
            resource_id=resource_id,
            labels=request.labels,
            description=request.description,
            expiration_seconds=expiration,
            expires_at=expires_at,
            owner=self.store.current_user(),
        )
        report = None
        if request.verify:
            report = self._check(
                connector, declaration, config, connector.resource_type, connector.resource_id
            )
            connector = self._adopt_single_name(connector, declaration, report)
        stored = self.store.create(connector)
        self._emit("register", stored)
        return stored, report

    def _adopt_single_name(
        self, connector: Connector, declaration: ConnectorType, report: ResourceReport
    ) -> Connector:
        """For a resource type without instances, remember the one name verification found."""
        if connector.resource_type is None or connector.resource_id is not None:
            return connector
        rtype = declaration.resource_type(connector.resource_type)
        ids = report.resources[0].resource_ids if report.resources else None
        if rtype is not None and not rtype.supports_instances and ids and len(ids) == 1:
            return connector.model_copy(update={"resource_id": ids[0]})
        return connector

    # -- reading, updating, deleting --------------------------------------------

    def list(self, query: ConnectorQuery | None = None) -> list[Connector]:
        """Connectors matching ``query``, without secrets.

        A resource-type filter keeps multi-type connectors only when their connector
        type offers that resource type with their auth method.
        """
        query = query or ConnectorQuery()
        if query.connector_type and query.connector_type not in self.registry.names():
            known = ", ".join(self.registry.names()) or "none installed"
            raise UsageError(
                f"unknown connector type '{query.connector_type}'; known types: {known}"
            )
        found = self.store.list(query)
        if not query.resource_type:
            return found
        return [c for c in found if c.resource_type or self._offers(c, query.resource_type)]

    def _offers(self, connector: Connector, resource_type: str) -> bool:
        """Whether a multi-type connector's type reaches ``resource_type``."""
        try:
            declaration = self.registry.declaration(connector.connector_type)
        except KeybrokerError:
            return False
        return any(
            r.resource_type == resource_type
            for r in declaration.resource_types_for(connector.auth_method)
        )

    def get(self, name_or_id: str, show_secrets: bool = False) -> Connector:
        """One connector; secrets only when ``show_secrets`` is asked for explicitly."""
        return self.store.get(name_or_id, with_secrets=show_secrets)

    def update(
        self, name_or_id: str, request: UpdateRequest
    ) -> tuple[Connector, ResourceReport | None]:
        """Change a connector, re-verify it (unless asked not to) and store it.

        The stored connector is unchanged if any step fails.
        """
        current = self.store.get(name_or_id, with_secrets=True)
        declaration = self.registry.declaration(current.connector_type)
        name = request.name if request.name is not None else current.name
        if name != current.name:
            self._validate_name(name)
            if self.store.name_exists(name):
                raise UsageError(f"a connector named '{name}' already exists; choose another name")
        auth_method = request.auth_method or current.auth_method
        if auth_method != current.auth_method:
            attributes: dict[str, Any] = {}
        else:
            attributes = current.attributes()
        attributes.update(request.attributes)
        resource_type = current.resource_type
        resource_id = current.resource_id
        if request.resource_type is not None:
            if request.resource_type != (current.resource_type or ""):
                resource_id = None
            resource_type = request.resource_type or None
        if request.resource_id is not None:
            resource_id = request.resource_id or None
        rtype = declaration.resource_type(resource_type) if resource_type else None
        if rtype is not None and not rtype.supports_instances and request.resource_id is None:
            resource_id = None  # derived again below
        labels = dict(current.labels)
        for key, value in request.labels.items():
            if value is None:
                labels.pop(key, None)
            else:
                labels[key] = value
        expiration = (
            request.expiration_seconds
            if request.expiration_seconds is not None
            else (current.expiration_seconds if auth_method == current.auth_method else None)
        )
        connector, config = self._build(
            connector_id=current.id,
            name=name,
            declaration=declaration,
            auth_method=auth_method,
            attributes=attributes,
            resource_type=resource_type,
            resource_id=resource_id,
            labels=labels,
            description=request.description
            if request.description is not None
            else current.description,
            expiration_seconds=expiration,
            expires_at=current.expires_at,
            owner=current.owner,
        )
        connector = connector.model_copy(
            update={
                "created": current.created,
                "updated": utcnow(),
                "shared": current.shared,
                "version": current.version,
            }
        )
        report = None
        if request.verify:
            report = self._check(
                connector, declaration, config, connector.resource_type, connector.resource_id
            )
            connector = self._adopt_single_name(connector, declaration, report)
        stored = self.store.update(connector)
        self._emit("update", stored)
        return stored, report

    def delete(self, name_or_id: str) -> Connector:
        """Delete a connector and return what it was (without secrets)."""
        connector = self.store.get(name_or_id)
        self.store.delete(connector.id)
        self._emit("delete", connector)
        return connector

    # -- resources ---------------------------------------------------------------

    def list_resources(
        self,
        connector_type: str | None = None,
        resource_type: str | None = None,
        resource_id: str | None = None,
    ) -> builtins.list[ResourceReport]:
        """What every matching connector reaches, checked concurrently.

        A connector in an error state is reported with its error; one slow or
        broken connector never holds the others back.
        """
        if resource_id and not resource_type:
            raise UsageError("--resource-id needs --resource-type")
        if connector_type:
            self.registry.declaration(connector_type)
        jobs: list[tuple[Connector, Callable[[], ResourceReport]]] = []
        for connector in self.store.list(ConnectorQuery(connector_type=connector_type)):
            job = self._resource_job(connector, resource_type, resource_id)
            if job is not None:
                jobs.append((connector, job))
        timeout = self.settings.timeout_seconds
        outcomes = run_concurrently([job for _, job in jobs], timeout)
        reports = []
        for (connector, _), outcome in zip(jobs, outcomes, strict=True):
            if outcome.value is not None:
                reports.append(outcome.value)
                continue
            if outcome.timed_out:
                error = f"connector '{connector.name}' did not answer within {timeout:g} s"
            else:
                error = str(outcome.error) or type(outcome.error).__name__
            reports.append(
                ResourceReport(
                    connector_id=connector.id,
                    connector_name=connector.name,
                    connector_type=connector.connector_type,
                    resources=[
                        ResourceEntry(
                            resource_type=resource_type or connector.resource_type or "*",
                            error=error,
                        )
                    ],
                    error=error,
                )
            )
        return reports

    def _resource_job(
        self, connector: Connector, resource_type: str | None, resource_id: str | None
    ) -> Callable[[], ResourceReport] | None:
        """A call that checks one connector for list-resources, or None if it cannot match."""
        try:
            declaration = self.registry.declaration(connector.connector_type)
        except KeybrokerError as exc:
            message = str(exc)

            def failed() -> ResourceReport:
                raise PluginError(message)

            return (
                failed
                if resource_type is None or connector.resource_type in (None, resource_type)
                else None
            )
        if resource_type:
            if connector.resource_type and connector.resource_type != resource_type:
                return None
            reachable = declaration.resource_types_for(connector.auth_method)
            if all(r.resource_type != resource_type for r in reachable):
                return None
        target_id = None
        if resource_id:
            assert resource_type is not None
            try:
                target_id = self.canonical_resource_id(declaration, resource_type, resource_id)
            except KeybrokerError:
                return None  # not a valid id for this connector type
            if connector.resource_id and connector.resource_id != target_id:
                return None

        def job() -> ResourceReport:
            full = self.store.get(str(connector.id), with_secrets=True)
            config = self._config(declaration, full)
            target_type, narrowed_id = self._narrow(
                full, declaration, config, resource_type, target_id
            )
            if target_type is not None:
                return self._check(full, declaration, config, target_type, narrowed_id)
            return self._check_every_type(full, declaration, config)

        return job

    def _check_every_type(
        self, connector: Connector, declaration: ConnectorType, config: AuthConfig
    ) -> ResourceReport:
        """List a multi-type connector's resources of every type it reaches.

        A type that fails is reported with its error; the connector fails only
        when every type does.
        """
        entries: list[ResourceEntry] = []
        first_error: KeybrokerError | None = None
        for rtype in declaration.resource_types_for(connector.auth_method):
            try:
                report = self._check(connector, declaration, config, rtype.resource_type, None)
            except KeybrokerError as exc:
                first_error = first_error or exc
                entries.append(ResourceEntry(resource_type=rtype.resource_type, error=str(exc)))
            else:
                entries.extend(report.resources)
        if first_error is not None and all(e.error for e in entries):
            raise first_error
        return ResourceReport(
            connector_id=connector.id,
            connector_name=connector.name,
            connector_type=connector.connector_type,
            resources=entries,
        )

    # -- clients and local tools ---------------------------------------------------

    def _target(
        self,
        connector: Connector,
        declaration: ConnectorType,
        config: AuthConfig,
        resource_type: str | None,
        resource_id: str | None,
        need_instance: bool,
    ) -> tuple[str, str | None]:
        """Resolve the one resource a client or login is for."""
        target_type, target_id = self._narrow(
            connector, declaration, config, resource_type, resource_id
        )
        if target_type is None:
            reachable = declaration.resource_types_for(connector.auth_method)
            if len(reachable) == 1:
                target_type = reachable[0].resource_type
            else:
                valid = ", ".join(r.resource_type for r in reachable)
                raise UsageError(
                    f"connector '{connector.name}' is multi-type: choose --resource-type ({valid})"
                )
        rtype = declaration.resource_type(target_type)
        if need_instance and target_id is None and rtype is not None and rtype.supports_instances:
            report = self._check(connector, declaration, config, target_type, None)
            ids = report.resources[0].resource_ids or []
            if not ids:
                raise OperationError(
                    f"connector '{connector.name}' reaches no {target_type} resource; "
                    "'keybroker connector verify' shows what it reaches"
                )
            if len(ids) > 1:
                raise UsageError(
                    f"connector '{connector.name}' reaches several {target_type} resources: "
                    f"choose one with --resource-id ({', '.join(ids)})"
                )
            target_id = ids[0]
        return target_type, target_id

    def _derive(
        self,
        connector: Connector,
        declaration: ConnectorType,
        config: AuthConfig,
        resource_type: str,
        resource_id: str | None,
    ) -> Connector:
        """The connector client for one resource: derived by the plugin, or the connector itself."""
        if self.registry.implements(declaration.connector_type, "derive_client"):
            hooks = self.registry.hooks(declaration.connector_type)
            derived = self._timed(
                connector,
                lambda: hooks.derive_client(
                    connector=connector,
                    config=config,
                    resource_type=resource_type,
                    resource_id=resource_id,
                ),
            )
            if derived is not None:
                return derived  # type: ignore[no-any-return]
        return connector.model_copy(
            update={"resource_type": resource_type, "resource_id": resource_id}
        )

    def _resolve(
        self,
        name_or_id: str,
        resource_type: str | None,
        resource_id: str | None,
        need_instance: bool,
    ) -> tuple[Connector, ConnectorType, AuthConfig, str, str | None]:
        connector = self.store.get(name_or_id, with_secrets=True)
        if connector.is_expired():
            raise OperationError(
                f"the credentials of connector '{connector.name}' expired at "
                f"{connector.expires_at:%Y-%m-%d %H:%M:%S %Z}; update them"
            )
        declaration = self.registry.declaration(connector.connector_type)
        config = self._config(declaration, connector)
        target_type, target_id = self._target(
            connector, declaration, config, resource_type, resource_id, need_instance
        )
        return connector, declaration, config, target_type, target_id

    def issue_client(
        self,
        name_or_id: str,
        resource_type: str | None = None,
        resource_id: str | None = None,
    ) -> Connector:
        """A short-lived connector client (with secrets) for one resource of a connector."""
        connector, declaration, config, target_type, target_id = self._resolve(
            name_or_id, resource_type, resource_id, need_instance=True
        )
        client = self._derive(connector, declaration, config, target_type, target_id)
        self._emit("issue", connector, resource_type=target_type, resource_id=target_id)
        return client

    def get_client(
        self,
        name_or_id: str,
        resource_type: str | None = None,
        resource_id: str | None = None,
    ) -> Any:
        """A pre-authenticated Python client for a resource (boto3, kubernetes, docker, ...)."""
        connector, declaration, config, target_type, target_id = self._resolve(
            name_or_id, resource_type, resource_id, need_instance=False
        )

        def refresh() -> Connector:
            return self._derive(connector, declaration, config, target_type, target_id)

        client = None
        if self.registry.implements(declaration.connector_type, "build_client"):
            hooks = self.registry.hooks(declaration.connector_type)
            client = self._guard(
                connector,
                lambda: hooks.build_client(
                    connector=connector,
                    config=config,
                    resource_type=target_type,
                    resource_id=target_id,
                    refresh=refresh,
                ),
            )
        if client is None:
            derived = refresh()
            if derived.connector_type == connector.connector_type:
                raise UsageError(
                    f"connector type '{connector.connector_type}' cannot build a Python client "
                    f"for resource type '{target_type}'"
                )
            basic = self.registry.declaration(derived.connector_type)
            basic_config = self._config(basic, derived)

            def refresh_basic() -> Connector:
                return self._derive(connector, declaration, config, target_type, target_id)

            if not self.registry.implements(basic.connector_type, "build_client"):
                raise UsageError(
                    f"connector type '{basic.connector_type}' cannot build a Python client"
                )
            basic_hooks = self.registry.hooks(basic.connector_type)
            client = self._guard(
                derived,
                lambda: basic_hooks.build_client(
                    connector=derived,
                    config=basic_config,
                    resource_type=target_type,
                    resource_id=derived.resource_id,
                    refresh=refresh_basic,
                ),
            )
        if client is None:
            raise UsageError(f"no Python client is available for resource type '{target_type}'")
        return client

    def login(
        self,
        name_or_id: str,
        resource_type: str | None = None,
        resource_id: str | None = None,
        tools: builtins.list[str] | None = None,
    ) -> builtins.list[LoginResult]:
        """Configure local tools (kubectl, docker, ...) with access to one resource.

        Every installed tool that configures the connector client's type is
        configured, or only those named in ``tools``. A tool that fails is
        reported in its result; when every tool fails, the first error is raised.
        """
        connector, declaration, config, target_type, target_id = self._resolve(
            name_or_id, resource_type, resource_id, need_instance=True
        )
        client = self._derive(connector, declaration, config, target_type, target_id)
        chosen = self._local_tools(client, target_type, tools)
        if client.connector_type in self.registry.names():
            self._config(self.registry.declaration(client.connector_type), client)
        request = LocalLoginRequest(
            source_id=connector.id,
            source_name=connector.name,
            resource_type=target_type,
            resource_id=target_id,
            client=client,
            refresh_env=self.settings.refresh_env(),
        )
        results: builtins.list[LoginResult] = []
        errors: builtins.list[KeybrokerError] = []
        for tool in chosen:
            configure = functools.partial(self.registry.configure_local_tool, tool, request)
            try:
                results.append(self._guard(client, configure))
            except KeybrokerError as exc:
                errors.append(exc)
                results.append(LoginResult(tool=tool, error=str(exc)))
        if len(errors) == len(chosen):
            raise errors[0]
        self._emit("login", connector, resource_type=target_type, resource_id=target_id)
        return results

    def _local_tools(
        self, client: Connector, resource_type: str, wanted: builtins.list[str] | None
    ) -> builtins.list[str]:
        """The names of the tools to configure for ``client``; ``UsageError`` if none fits."""
        every = self.registry.local_tools()
        fitting = [t.tool for t in every if t.covers(client.connector_type, resource_type)]
        if not fitting:
            raise UsageError(
                f"no installed plugin configures a local tool for {client.connector_type} "
                f"clients of resource type '{resource_type}' (install keybroker[kubernetes] "
                "or keybroker[docker]; 'keybroker plugin list' shows what is installed)"
            )
        if not wanted:
            return fitting
        unknown = [w for w in wanted if w not in fitting]
        if unknown:
            raise UsageError(
                f"local tool '{unknown[0]}' does not configure resource type "
                f"'{resource_type}'; tools that do: {', '.join(fitting)}"
            )
        return [t for t in fitting if t in wanted]

    def expires_in(self, connector: Connector) -> timedelta | None:
        """Time left before the connector's own credentials expire, if they do."""
        if connector.expires_at is None:
            return None
        return connector.expires_at - utcnow()
