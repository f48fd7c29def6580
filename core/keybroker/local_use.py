"""Using a connector where the user is: Python clients and local-tool logins.

Both start from the short-lived connector client that a backend issues
(:meth:`~keybroker.operations.ConnectorOperations.issue_client`) and run with
the plugins installed *here*, so they work the same whether the connector
lives in the embedded store or on a team server that never sends its
long-lived secrets:

- a Python client is the client type's ``build_client`` hook, with a
  ``refresh`` that asks the backend for a fresh connector client;
- a login is the ``configure_local_tool`` hook of each installed local tool
  that configures the client's type for the resource type (kubectl, docker, ...).
"""

from __future__ import annotations

import functools
from typing import Any

from pydantic import ValidationError

from keybroker import redaction
from keybroker.catalog import require_auth_method
from keybroker.connector import Connector, LoginResult
from keybroker.errors import KeybrokerError, NotFoundError, PluginError, UsageError
from keybroker.events import LocalLoginRequest
from keybroker.operations import ConnectorOperations, IssuedClient, IssuePurpose
from keybroker.registry import PluginRegistry
from keybroker.service.plugin_calls import PluginCalls, plugin_result_error
from keybroker.service.validation import describe_validation_error
from keybroker.settings import Settings
from keybroker.types import AuthConfig


def missing_client_plugin(connector_type: str) -> PluginError:
    """The error for a connector client whose type's plugin is not installed here."""
    return PluginError(
        f"the connector client issued is of type '{connector_type}', whose plugin is not "
        f"installed here: install keybroker-{connector_type} here (pip install "
        f"'keybroker[{connector_type}]') to log in or build Python clients with it"
    )


class LocalUse:
    """Python clients and local-tool logins from connector clients issued by ``operations``."""

    def __init__(
        self, operations: ConnectorOperations, registry: PluginRegistry, settings: Settings
    ) -> None:
        self.operations = operations
        self.registry = registry
        self.settings = settings
        self.calls = PluginCalls(registry, settings.timeout_seconds)

    def _client_config(self, client: Connector) -> AuthConfig:
        """The client's attributes validated by the local plugin of its type."""
        try:
            declaration = self.registry.declaration(client.connector_type)
        except NotFoundError:
            raise missing_client_plugin(client.connector_type) from None
        method = require_auth_method(declaration, client.auth_method)
        try:
            return client.auth_config(method.config_schema)
        except ValidationError as exc:
            detail = describe_validation_error(
                exc, client.connector_type, method, client.secret_values()
            )
            raise PluginError(f"the connector client issued is not valid here: {detail}") from None

    def get_client(
        self,
        name_or_id: str,
        resource_type: str | None = None,
        resource_id: str | None = None,
    ) -> Any:
        """A pre-authenticated Python client for a resource (boto3, kubernetes, docker, ...).

        Built by the plugin of the connector client's type from the issued
        client; it renews temporary credentials by asking for a new one.
        """
        issued = self.operations.issue_client(
            name_or_id, resource_type, resource_id, purpose=IssuePurpose.CLIENT
        )
        client = issued.client
        redaction.remember(*client.secret_values())
        config = self._client_config(client)
        connector_type = client.connector_type
        if not self.calls.implements(connector_type, "build_client"):
            raise UsageError(
                f"connector type '{connector_type}' cannot build a Python client",
                parameter="resource_type",
            )

        def refresh() -> Connector:
            fresh = self._reissue(issued)
            redaction.remember(*fresh.secret_values())
            return fresh

        hooks = self.calls.hooks(connector_type)
        built = self.calls.guard(
            client,
            lambda: hooks.build_client(
                connector=client,
                config=config,
                resource_type=issued.resource_type,
                resource_id=client.resource_id,
                refresh=refresh,
            ),
        )
        if built is None:
            raise UsageError(
                f"connector type '{connector_type}' cannot build a Python client for resource "
                f"type '{issued.resource_type}'",
                parameter="resource_type",
            )
        return built

    def _reissue(self, issued: IssuedClient) -> Connector:
        """A fresh connector client for the same connector and resource."""
        again = self.operations.issue_client(
            str(issued.connector_id),
            issued.resource_type,
            issued.resource_id,
            purpose=IssuePurpose.CLIENT,
        )
        return again.client

    def login(
        self,
        name_or_id: str,
        resource_type: str | None = None,
        resource_id: str | None = None,
        tools: list[str] | None = None,
    ) -> list[LoginResult]:
        """Configure local tools (kubectl, docker, ...) with access to one resource.

        Every installed tool that configures the connector client's type is
        configured, or only those named in ``tools``. A tool that fails is
        reported in its result; when every tool fails, the first error is raised.
        """
        issued = self.operations.issue_client(
            name_or_id, resource_type, resource_id, purpose=IssuePurpose.LOGIN
        )
        client = issued.client
        redaction.remember(*client.secret_values())
        chosen = self._local_tools(client, issued.resource_type, tools)
        if client.connector_type in self.registry.names():
            self._client_config(client)  # refuse a client its own type would not accept
        request = LocalLoginRequest(
            source_id=issued.connector_id,
            source_name=issued.connector_name,
            resource_type=issued.resource_type,
            resource_id=issued.resource_id,
            client=client,
            refresh_env=self.refresh_env(),
        )
        results: list[LoginResult] = []
        errors: list[KeybrokerError] = []
        for tool in chosen:
            configure = functools.partial(self.registry.configure_local_tool, tool, request)
            try:
                result = self.calls.guard(client, configure)
                if not isinstance(result, LoginResult):
                    raise plugin_result_error(
                        client.connector_type, "configure_local_tool", "a LoginResult", result
                    )
                results.append(result)
            except KeybrokerError as exc:
                errors.append(exc)
                results.append(LoginResult(tool=tool, error=str(exc)))
        if len(errors) == len(chosen):
            raise errors[0]
        return results

    def refresh_env(self) -> dict[str, str]:
        """The environment a login's credential helper runs with to reach this same backend.

        Never a secret: for a team server its URL (and the path of a token file
        when the sign-in came from one); the helper signs in as this client does.
        """
        env = self.settings.refresh_env()
        from keybroker.remote.operations import RemoteOperations

        if isinstance(self.operations, RemoteOperations):
            from keybroker.remote.session import helper_env
            from keybroker.settings import LOGIN_STORE_ENV, STORE_URL_ENV

            env.update({STORE_URL_ENV: self.operations.url, LOGIN_STORE_ENV: self.operations.url})
            env.update(helper_env())
        return env

    def _local_tools(
        self, client: Connector, resource_type: str, wanted: list[str] | None
    ) -> list[str]:
        """The names of the tools to configure for ``client``; ``UsageError`` if none fits."""
        every = self.registry.local_tools()
        fitting = [t.tool for t in every if t.covers(client.connector_type, resource_type)]
        if not fitting and client.connector_type not in self.registry.names():
            raise missing_client_plugin(client.connector_type)
        if not fitting:
            raise UsageError(
                f"no installed plugin configures a local tool for {client.connector_type} "
                f"clients of resource type '{resource_type}' (install keybroker[kubernetes] "
                "or keybroker[docker]; 'keybroker plugin list' shows what is installed)",
                parameter="resource_type",
            )
        if not wanted:
            return fitting
        unknown = [w for w in wanted if w not in fitting]
        if unknown:
            raise UsageError(
                f"local tool '{unknown[0]}' does not configure resource type "
                f"'{resource_type}'; tools that do: {', '.join(fitting)}",
                parameter="tools",
            )
        return [t for t in fitting if t in wanted]
