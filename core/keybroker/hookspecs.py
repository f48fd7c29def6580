"""The plugin contract: every hook a keybroker plugin may implement.

Read this module first when writing a plugin; import what it names from
``keybroker.plugin``. There are three kinds of hooks, and the core calls
each kind differently.

**Per-type hooks** (``ConnectorTypeHooks``) are answered only by the plugin
that owns a connector type. A plugin registers one entry point per connector
type in the group ``keybroker.connector_types``; the entry point names a light
*declaration module* that implements
``declare_connector_type`` and imports no SDK. The
returned ``ConnectorType`` names an *implementation
module* holding the behaviour hooks; keybroker imports it on first use and
calls each hook only on the owning plugin, so an implementation never asks
"is this connector mine?". Every per-type hook stops at the first result.

**Local-tool hooks** (``LocalToolHooks``) belong to plugins that configure
a tool on the user's machine (kubectl, docker, a third party's podman or
helm). Such a plugin registers a module in the entry point group
``keybroker.plugins`` that declares the tool with
``declare_local_tool``; the core dispatches
``configure_local_tool`` only to the tools whose
declaration covers the connector client at hand.

**Open hooks** (``OpenHooks``) may be implemented by any module of the
``keybroker.plugins`` group, and every implementation is called: listeners on
audit events.

Hook arguments are passed by name; an implementation may accept a subset of
them. Raise ``AuthorizationError`` for refused
credentials, ``ConnectionFailure`` for an unreachable
service and ``UsageError`` for a bad resource id. Never
put a secret into an exception message.

Loading is strict: a module registered by an entry point whose ``@hookimpl``
function names no hook of its kind, or takes an argument the hook does not
pass, is refused with a message naming the function.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any

import pluggy

if TYPE_CHECKING:
    from keybroker.connector import Connector, LoginResult
    from keybroker.events import AuditEvent, LocalLoginRequest
    from keybroker.types import AuthConfig, AutoConfiguration, ConnectorType, LocalTool

PROJECT_NAME = "keybroker"
CONNECTOR_TYPES_GROUP = "keybroker.connector_types"
PLUGINS_GROUP = "keybroker.plugins"

#: The version of this contract and of ``keybroker.plugin``. It grows by one
#: whenever either gains something a plugin may rely on. A plugin module states
#: the version it needs as ``REQUIRES_PLUGIN_API = N``; keybroker refuses to load
#: a module that needs a newer version than this one.
PLUGIN_API_VERSION = 1

#: The oldest ``REQUIRES_PLUGIN_API`` this keybroker still loads.
OLDEST_PLUGIN_API_VERSION = 1

hookspec = pluggy.HookspecMarker(PROJECT_NAME)
hookimpl = pluggy.HookimplMarker(PROJECT_NAME)


class ConnectorTypeHooks:
    """Hooks answered by the one plugin that owns a connector type.

    ``declare_connector_type`` lives in the declaration module; the others in
    the implementation module it names. Each stops at the first result.
    """

    @hookspec(firstresult=True)
    def declare_connector_type(self) -> ConnectorType:  # type: ignore[empty-body]
        """Declare the connector type: its auth methods, resource types and docs.

        Implemented in the light module the entry point names, which must not
        import the SDK: ``keybroker connector list-types`` imports every
        declaration module. Stops at the first result.

        Returns:
            The declaration. Its ``connector_type`` must equal the entry point
            name. keybroker checks it when loading (unique names, every
            resource type reachable by a declared auth method, secrets typed as
            ``SecretStr``, consistent expiration bounds) and refuses an invalid one.
        """

    @hookspec(firstresult=True)
    def canonical_resource_id(  # type: ignore[empty-body]
        self, resource_type: str, resource_id: str, config: AuthConfig | None
    ) -> str:
        """Return a resource id in its canonical form, or raise ``UsageError``.

        Called before any network access, e.g. to turn ``arn:aws:s3:::b`` into
        ``s3://b``. Must be idempotent: the canonical form of a canonical id is
        itself. Every format declared in the resource type's
        ``resource_id_formats`` must be accepted. Stops at the first result.

        Args:
            resource_type: One of the connector type's resource types.
            resource_id: The id as the user wrote it (stripped, never empty).
            config: The connector's validated configuration when one is known
                (e.g. a region to check an ARN against), else None.

        Returns:
            The canonical id. Without an implementation ids are used as given.
        """

    @hookspec(firstresult=True)
    def default_resource_id(self, resource_type: str, config: AuthConfig) -> str | None:
        """Name the one resource of a resource type without instances, offline.

        E.g. the API server host of a Kubernetes connector, the region of an
        ``aws-generic`` resource. Stops at the first result.

        Args:
            resource_type: A resource type of the connector type whose
                ``supports_instances`` is false.
            config: The connector's validated configuration.

        Returns:
            The canonical resource id, or None when it cannot be known
            without asking the service.
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

        Every connector type must implement it: a connector type without
        ``verify`` is reported as broken and no connector of it is registered.
        Stops at the first result.

        Args:
            connector: The connector, with its secrets.
            config: Its attributes, validated by the auth method's schema; get
                them typed with ``keybroker.plugin.config_as``.
            resource_type: None to only authenticate (a multi-type connector);
                otherwise the resource type to check.
            resource_id: With ``resource_type`` set, None lists every instance
                the credentials reach (for a type without instances, its one
                name); a canonical id proves access to that one resource.

        Returns:
            ``[]`` when ``resource_type`` is None, else the canonical ids
            reached (``[resource_id]`` when one was given). Never None.

        Raises:
            AuthorizationError: The credentials were refused or do not reach
                the resource.
            ConnectionFailure: The service could not be reached.
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

        Only called when the declaration sets ``supports_auto_configuration``.
        Stops at the first result.

        Args:
            auth_method: The auth method the user asked for, or None to let
                the plugin choose.
            resource_type: The resource type the user asked for, if any.
            resource_id: The resource id the user asked for, if any.
            options: Plugin-specific choices given with
                ``--auto-configure-option KEY=VALUE``, e.g. a kubeconfig context.

        Returns:
            The auth method and attributes found; raise ``UsageError`` when
            nothing usable is there.
        """

    @hookspec(firstresult=True)
    def derive_client(
        self,
        connector: Connector,
        config: AuthConfig,
        resource_type: str,
        resource_id: str | None,
    ) -> Connector | None:
        """Return a short-lived connector client for one resource.

        Build clients of a basic type with
        ``keybroker.plugin.kubernetes_cluster_client`` or
        ``keybroker.plugin.docker_registry_client`` rather than by hand: the
        basic type need not be installed where the client is issued. Stops at
        the first result.

        Args:
            connector: The registered connector, with its secrets.
            config: Its validated configuration.
            resource_type: The resource type the client is for.
            resource_id: The canonical id of the resource, or None for a
                resource type without instances.

        Returns:
            A connector client (set ``expires_at`` when its credentials are
            temporary), or None when the connector itself is the client.
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
        """Return a pre-authenticated Python client for a resource, or None.

        Returning None lets keybroker derive a connector client and ask the
        plugin owning its basic type instead. Stops at the first result.

        Args:
            connector: The connector (or connector client), with its secrets.
            config: Its validated configuration.
            resource_type: The resource type the client is for.
            resource_id: The canonical id of the resource, or None.
            refresh: When given, returns a freshly derived connector client:
                use it to renew temporary credentials so that a long job never
                holds a dead client.

        Returns:
            The client (a boto3 session, a ``kubernetes.client.ApiClient``, ...).
        """


class LocalToolHooks:
    """Hooks of a plugin that configures a local tool for connector clients.

    Implemented by a module of the ``keybroker.plugins`` entry point group.
    A module implementing ``configure_local_tool`` must also implement
    ``declare_local_tool``; the core calls ``configure_local_tool`` only on the
    tools whose declaration covers the connector client.
    """

    @hookspec
    def declare_local_tool(self) -> LocalTool:  # type: ignore[empty-body]
        """Declare the local tool this module configures and for which connector clients.

        Called on every module of the ``keybroker.plugins`` group that
        implements it (each declares one tool). Keep it free of imports of the
        tool's SDK.

        Returns:
            The tool: its name (what ``login --tool`` takes) and the connector
            client types (and optionally resource types) it configures, e.g.
            ``kubectl`` for ``kubernetes`` clients.
        """

    @hookspec(firstresult=True)
    def configure_local_tool(self, request: LocalLoginRequest) -> LoginResult:  # type: ignore[empty-body]
        """Configure the local tool to reach ``request.resource_type``.

        Called only on the tools whose ``declare_local_tool`` covers the
        connector client's type and resource type, one tool at a time. When
        several tools qualify, ``keybroker connector login`` configures every
        one of them unless the user picks some with ``--tool``. Stops at the
        first result.

        When ``request.client.expires_at`` is set, configure the tool to fetch
        fresh credentials through keybroker (a credential helper) instead of
        writing the temporary ones. Read, merge and write the file inside
        ``keybroker.plugin.locked_tool_file`` (the tool's lock, atomic,
        through symlinks, read-only files refused) and leave unrelated
        entries untouched; refuse a file you cannot parse rather than
        overwrite it.

        Args:
            request: The connector client (with secrets) and the resource it
                is for, plus the environment a credential helper needs.

        Returns:
            What was changed, in words for the user.
        """


class OpenHooks:
    """Hooks any module of the ``keybroker.plugins`` group may implement; all are called."""

    @hookspec
    def audit_event(self, event: AuditEvent) -> None:
        """Observe an operation (register, update, delete, login, credential issue).

        Every implementation is called, after the operation succeeded. An
        exception is logged and ignored; never block long.

        Args:
            event: What happened, to which connector, by whom. Never holds secrets.
        """


#: The hook-spec classes, by the entry point group whose modules implement them.
HOOK_CLASSES: dict[str, tuple[type, ...]] = {
    CONNECTOR_TYPES_GROUP: (ConnectorTypeHooks,),
    PLUGINS_GROUP: (LocalToolHooks, OpenHooks),
}

#: Per-type hooks a connector type's plugin must implement.
REQUIRED_TYPE_HOOKS = ("declare_connector_type", "verify")
