"""The plugin contract: every hook a keybroker plugin may implement.

Read this module first when writing a plugin. There are two kinds of hooks.

**Per-type hooks** (:class:`ConnectorTypeHooks`) are answered only by the plugin
that owns a connector type. A plugin registers one entry point per connector
type in the group ``keybroker.connector_types``; the entry point names a module
that implements :meth:`ConnectorTypeHooks.declare_connector_type` and nothing
heavy. The returned :class:`~keybroker.types.ConnectorType` names an
``implementation`` module holding the behaviour hooks below; keybroker imports
it on first use. The core calls each behaviour hook only on the owning plugin,
so an implementation never has to ask "is this connector mine?".

Neither module may import the cloud SDK at import time: import it inside the
hook that needs it.

**Open hooks** (:class:`OpenHooks`) may be implemented by any installed plugin,
registered in the entry point group ``keybroker.plugins``: configuring a local
tool (kubectl, docker, or a third party's podman or helm) and listening to
audit events. All implementations are called.

Hook arguments are passed by name; an implementation may accept a subset of
them. Raise :class:`keybroker.errors.AuthorizationError` for refused
credentials, :class:`keybroker.errors.ConnectionFailure` for an unreachable
service and :class:`keybroker.errors.UsageError` for a bad resource id. Never
put a secret into an exception message.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any

import pluggy

if TYPE_CHECKING:
    from keybroker.connector import Connector, LoginResult
    from keybroker.events import AuditEvent, LocalLoginRequest
    from keybroker.types import AuthConfig, AutoConfiguration, ConnectorType

PROJECT_NAME = "keybroker"
CONNECTOR_TYPES_GROUP = "keybroker.connector_types"
PLUGINS_GROUP = "keybroker.plugins"

hookspec = pluggy.HookspecMarker(PROJECT_NAME)
hookimpl = pluggy.HookimplMarker(PROJECT_NAME)


class ConnectorTypeHooks:
    """Hooks answered by the one plugin that owns a connector type."""

    @hookspec(firstresult=True)
    def declare_connector_type(self) -> ConnectorType:  # type: ignore[empty-body]
        """Return the connector type's declaration: auth methods, resource types, docs.

        Lives in the light module the entry point names; must not import the SDK.
        """

    @hookspec(firstresult=True)
    def canonical_resource_id(  # type: ignore[empty-body]
        self, resource_type: str, resource_id: str, config: AuthConfig | None
    ) -> str:
        """Return ``resource_id`` in its canonical form, or raise ``UsageError``.

        Called before any network access, e.g. to turn ``arn:aws:s3:::b`` into
        ``s3://b``. ``config`` is the connector's validated configuration when one
        is known (a region to check against), else None.
        """

    @hookspec(firstresult=True)
    def default_resource_id(self, resource_type: str, config: AuthConfig) -> str | None:
        """For a resource type without instances, its resource name from configuration alone.

        E.g. the API server host of a Kubernetes connector, the region of an
        ``aws-generic`` resource. Return None when it cannot be known offline.
        """

    @hookspec(firstresult=True)
    def verify(  # type: ignore[empty-body]
        self,
        connector: Connector,
        config: AuthConfig,
        resource_type: str | None,
        resource_id: str | None,
    ) -> list[str]:
        """Check the credentials and return the canonical ids of what they reach.

        - ``resource_type`` None: only authenticate (multi-type); return ``[]``.
        - ``resource_type`` set, ``resource_id`` None: list every instance the
          credentials reach (for a type without instances, its one name).
        - both set: prove access to that one resource and return ``[resource_id]``.

        Raise ``AuthorizationError`` or ``ConnectionFailure`` when it fails.
        """

    @hookspec(firstresult=True)
    def auto_configure(  # type: ignore[empty-body]
        self,
        auth_method: str | None,
        resource_type: str | None,
        resource_id: str | None,
        options: dict[str, str],
    ) -> AutoConfiguration:
        """Discover credentials in the local environment (CLI config files, env vars).

        ``auth_method`` None lets the plugin choose. ``options`` carries
        plugin-specific choices such as a kubeconfig context.
        """

    @hookspec(firstresult=True)
    def derive_client(
        self,
        connector: Connector,
        config: AuthConfig,
        resource_type: str,
        resource_id: str | None,
    ) -> Connector | None:
        """Return a short-lived connector client of a basic type for one resource.

        E.g. an EKS cluster yields a ``kubernetes`` ``token`` connector, ECR a
        ``docker`` ``password`` connector. Set ``expires_at`` when the credentials
        are temporary. Return None when the connector itself is the client.
        """

    @hookspec(firstresult=True)
    def build_client(
        self,
        connector: Connector,
        config: AuthConfig,
        resource_type: str,
        resource_id: str | None,
        refresh: Callable[[], Connector] | None,
    ) -> Any:
        """Return a pre-authenticated Python client for the resource, or None.

        Returning None for a resource type lets keybroker derive a connector
        client and ask the plugin owning its basic type instead. ``refresh``,
        when given, returns a freshly derived connector client: use it to renew
        temporary credentials so that a long job never holds a dead client.
        """


class OpenHooks:
    """Hooks any installed plugin may implement; every implementation is called."""

    @hookspec(firstresult=True)
    def configure_local_tool(self, request: LocalLoginRequest) -> LoginResult | None:
        """Configure a local tool (kubectl, docker, ...) to reach ``request.resource_type``.

        Return None for resource types the plugin does not handle. When
        ``request.client.expires_at`` is set, configure the tool to fetch fresh
        credentials through ``request.refresh_command`` instead of writing the
        temporary ones. Write atomically and leave unrelated entries untouched.
        """

    @hookspec
    def audit_event(self, event: AuditEvent) -> None:
        """Observe an operation (register, update, delete, login, credential issue).

        Called after the operation succeeded. Must not raise; must not block long.
        """
