"""The conformance suite: what the core relies on, checked against one connector type.

Subclass ``ConnectorTypeConformance`` in a plugin's tests, name the
connector type, and give working credentials against a real peer::

    from keybroker.testing import ConnectorTypeConformance, WorkingCredentials

    class TestConformance(ConnectorTypeConformance):
        connector_type = "example"

        @pytest.fixture
        def credentials(self, keybroker_http_peer):
            peer = keybroker_http_peer({"/items": ["a"]}, bearer_token="t0ken")
            return [WorkingCredentials("api-token", {"url": peer.url, "token": "t0ken"})]

The tests are parametrized by the declaration's resource types and auth
methods, so a new resource type is checked without touching the tests.
"""

from __future__ import annotations

import json
import secrets
import subprocess
import sys
import textwrap
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, ClassVar

import pytest

from keybroker.basic_types import BASIC_TYPES

if TYPE_CHECKING:
    from keybroker.connector import Connector
    from keybroker.registry import PluginRegistry
    from keybroker.service import ConnectorService
    from keybroker.types import AuthMethod, ConnectorType


@dataclass
class WorkingCredentials:
    """Attributes of one auth method that the test's peer accepts.

    ``resource_ids`` optionally names, per resource type, the resource the
    single-instance checks use; by default the first one verification lists.
    """

    auth_method: str
    attributes: dict[str, Any]
    resource_ids: dict[str, str] = field(default_factory=dict)


def _declaration_or_none(connector_type: str) -> ConnectorType | None:
    from keybroker.registry import PluginRegistry

    try:
        return PluginRegistry().declaration(connector_type)
    except Exception:
        return None


def _unloadable(argument: str) -> list[Any]:
    return [
        pytest.param(
            None,
            marks=pytest.mark.skip(
                reason="the declaration does not load: see test_declaration_loads"
            ),
            id=f"no-{argument}",
        )
    ]


def _secret_values(attributes: dict[str, Any], method: AuthMethod) -> list[str]:
    return [str(attributes[n]) for n in method.config_schema.secret_fields() if attributes.get(n)]


class ConnectorTypeConformance:
    """Checks one connector type against the contract; subclass it as ``Test...``.

    Set ``connector_type`` and override the ``credentials`` fixture.
    Override ``refused_credentials`` when the peer needs set-up before it
    refuses anything (by default every secret of the working credentials is
    replaced by a wrong value).
    """

    #: The connector type under test (its entry point name).
    connector_type: ClassVar[str] = ""
    #: Modules, besides the declaration's ``requires_modules`` and the usual
    #: cloud SDKs, that the declaration module must not import.
    forbidden_modules: ClassVar[tuple[str, ...]] = ()

    # -- what the plugin author provides -------------------------------------------

    @pytest.fixture
    def credentials(self) -> list[WorkingCredentials]:
        """Working credentials against a running peer, one entry per auth method tested."""
        pytest.fail(
            f"{type(self).__name__} must override the 'credentials' fixture with working "
            "credentials for the connector type"
        )

    @pytest.fixture
    def refused_credentials(
        self, credentials: list[WorkingCredentials]
    ) -> list[WorkingCredentials]:
        """Credentials the peer must refuse: the working ones with every secret replaced."""
        registry = _fresh_registry()
        declaration = registry.declaration(self.connector_type)
        refused = []
        for working in credentials:
            method = declaration.auth_method(working.auth_method)
            if method is None:
                continue
            attributes = dict(working.attributes)
            for name in method.config_schema.secret_fields():
                if attributes.get(name):
                    attributes[name] = f"wrong-{secrets.token_hex(8)}"
            if attributes != working.attributes:
                refused.append(WorkingCredentials(working.auth_method, attributes))
        return refused

    # -- parametrization ------------------------------------------------------------

    def pytest_generate_tests(self, metafunc: pytest.Metafunc) -> None:
        """Parametrize by the declaration's resource types and auth methods."""
        declaration = _declaration_or_none(self.connector_type)
        if "resource_type" in metafunc.fixturenames:
            if declaration is None:
                metafunc.parametrize("resource_type", _unloadable("resource-type"))
            else:
                names = [r.resource_type for r in declaration.resource_types]
                metafunc.parametrize("resource_type", names, ids=names)
        if "auth_method" in metafunc.fixturenames:
            if declaration is None:
                metafunc.parametrize("auth_method", _unloadable("auth-method"))
            else:
                names = [m.auth_method for m in declaration.auth_methods]
                metafunc.parametrize("auth_method", names, ids=names)

    # -- loading and the declaration ------------------------------------------------------

    def test_declaration_loads(self, keybroker_registry: PluginRegistry) -> None:
        """The entry point exists and its declaration passes keybroker's load-time checks."""
        assert self.connector_type, "set connector_type on the conformance class"
        keybroker_registry.declaration(self.connector_type)

    def test_implementation_loads(self, keybroker_registry: PluginRegistry) -> None:
        """The implementation imports, names only real hooks, and implements ``verify``."""
        keybroker_registry.hooks(self.connector_type)

    def test_declaration_module_imports_no_sdk(self) -> None:
        """Listing the type (in a fresh process) imports no SDK and not the implementation."""
        code = textwrap.dedent(
            f"""
            import json, sys
            before = set(sys.modules)
            from keybroker.registry import PluginRegistry
            declaration = PluginRegistry().declaration({self.connector_type!r})
            print(json.dumps({{
                "new": sorted(set(sys.modules) - before),
                "requires": declaration.requires_modules,
                "implementation": declaration.implementation,
            }}))
            """
        )
        done = subprocess.run(
            [sys.executable, "-c", code], capture_output=True, text=True, timeout=60, check=False
        )
        assert done.returncode == 0, f"loading the declaration failed:\n{done.stderr}"
        found = json.loads(done.stdout.strip().splitlines()[-1])
        from keybroker.plugin_loading import sdk_imports

        sdks = sdk_imports(set(found["new"]), [*found["requires"], *self.forbidden_modules])
        assert not sdks, (
            f"loading the declaration of '{self.connector_type}' imports {', '.join(sdks)}: "
            "import SDKs inside the hooks of the implementation module"
        )
        assert found["implementation"] not in found["new"], (
            f"the declaration module imports the implementation {found['implementation']}; "
            "it must stay importable without it"
        )

    def test_emoji_are_two_columns_wide_on_every_terminal(self) -> None:
        """Each emoji is one character drawn wide by default, so that tables stay aligned.

        A text-presentation pictograph (🖥, ☁) is one column to some terminals
        and two to others, whatever keybroker measures.
        """
        from wcwidth import wcswidth

        declaration = _fresh_registry().declaration(self.connector_type)
        shown = [(f"connector type '{declaration.connector_type}'", declaration.emoji)]
        shown += [
            (f"resource type '{r.resource_type}'", r.emoji) for r in declaration.resource_types
        ]
        narrow = [
            f"{where}: {emoji!r}"
            for where, emoji in shown
            if emoji and (len(emoji) != 1 or wcswidth(emoji) != 2)
        ]
        assert not narrow, (
            f"emoji that terminals draw one or two columns wide: {', '.join(narrow)}; use "
            "one that is wide by default (e.g. 💻 rather than 🖥)"
        )

    def test_every_resource_id_format_has_an_example(self, resource_type: str) -> None:
        """Each documented id format gives an example, so that it can be checked."""
        rtype = _fresh_registry().declaration(self.connector_type).resource_type(resource_type)
        assert rtype is not None
        missing = [f.label for f in rtype.resource_id_formats if not f.example]
        assert not missing, (
            f"resource id format(s) {', '.join(missing)} of '{resource_type}' have no example; "
            "add ResourceIdFormat(..., example=...)"
        )

    def test_documented_formats_are_accepted_and_canonical_ids_idempotent(
        self, resource_type: str
    ) -> None:
        """Every format's example is accepted; canonicalizing twice changes nothing."""
        registry = _fresh_registry()
        rtype = registry.declaration(self.connector_type).resource_type(resource_type)
        assert rtype is not None
        if not registry.implements(self.connector_type, "canonical_resource_id"):
            return  # ids are used as given, which is idempotent
        hooks = registry.hooks(self.connector_type)
        for form in rtype.resource_id_formats:
            if not form.example:
                continue
            canonical = hooks.canonical_resource_id(
                resource_type=resource_type, resource_id=form.example, config=None
            )
            assert isinstance(canonical, str), (
                f"canonical_resource_id({form.example!r}) returned {canonical!r} for format "
                f"'{form.label}'"
            )
            again = hooks.canonical_resource_id(
                resource_type=resource_type, resource_id=canonical, config=None
            )
            assert again == canonical, (
                f"canonical_resource_id is not idempotent for '{resource_type}': "
                f"{form.example!r} -> {canonical!r} -> {again!r}"
            )
            if form.canonical:
                assert canonical == form.example, (
                    f"the example {form.example!r} of the canonical format '{form.label}' "
                    f"is not canonical: it becomes {canonical!r}"
                )

    def test_basic_type_accepts_the_clients_cloud_plugins_derive(self) -> None:
        """For a basic type: the core's client helpers produce connectors this plugin accepts.

        Cloud plugins build them with ``keybroker.plugin.kubernetes_cluster_client``
        and ``keybroker.plugin.docker_registry_client``; this plugin must
        validate them and name their resource as the helper did.
        """
        if self.connector_type not in BASIC_TYPES:
            pytest.skip(f"'{self.connector_type}' is not a basic connector type")
        registry = _fresh_registry()
        hooks = registry.hooks(self.connector_type)
        for client in basic_client_samples(self.connector_type):
            check_basic_client(registry, client)
            declaration = registry.declaration(self.connector_type)
            method = declaration.auth_method(client.auth_method)
            assert method is not None
            config = client.auth_config(method.config_schema)
            named = hooks.default_resource_id(resource_type=client.resource_type, config=config)
            assert named in (None, client.resource_id), (
                f"the plugin names the resource {named!r}, the core helper {client.resource_id!r}"
            )
            canonical = hooks.canonical_resource_id(
                resource_type=client.resource_type, resource_id=client.resource_id, config=config
            )
            assert canonical in (None, client.resource_id), (
                f"the plugin's canonical form of {client.resource_id!r} is {canonical!r}"
            )

    # -- behaviour against the peer --------------------------------------------------------

    def test_credentials_cover_every_resource_type(
        self, credentials: list[WorkingCredentials]
    ) -> None:
        """The working credentials reach every declared resource type."""
        declaration = _fresh_registry().declaration(self.connector_type)
        uncovered = [
            r.resource_type
            for r in declaration.resource_types
            if not any(r in declaration.resource_types_for(c.auth_method) for c in credentials)
        ]
        assert not uncovered, (
            f"no working credentials reach {', '.join(uncovered)}: add WorkingCredentials "
            "for an auth method that does to the 'credentials' fixture"
        )

    def test_auth_method_verifies(
        self,
        auth_method: str,
        credentials: list[WorkingCredentials],
        keybroker_service: ConnectorService,
    ) -> None:
        """Working credentials of each auth method register and verify (multi-type)."""
        from keybroker.connector import RegisterRequest

        given = [c for c in credentials if c.auth_method == auth_method]
        if not given:
            pytest.skip(f"no working credentials for auth method '{auth_method}'")
        registered = keybroker_service.register(
            RegisterRequest(
                name=f"conformance-{auth_method}",
                connector_type=self.connector_type,
                auth_method=auth_method,
                attributes=given[0].attributes,
            )
        )
        keybroker_service.verify(registered.connector.name)

    def test_resource_type_is_verified_listed_and_given_a_client(
        self,
        resource_type: str,
        credentials: list[WorkingCredentials],
        keybroker_service: ConnectorService,
    ) -> None:
        """Verification lists the type's resources, list-resources agrees, a client is built."""
        connector, working, ids = self._register_for(resource_type, credentials, keybroker_service)
        reports = keybroker_service.list_resources(resource_type=resource_type)
        mine = [r for r in reports if r.connector_id == connector.id]
        assert mine, "list-resources does not report the connector"
        assert mine[0].ok, f"list-resources failed: {mine[0].error or mine[0].resources}"
        listed = mine[0].resources[0].resource_ids or []
        assert sorted(listed) == sorted(ids), (
            f"list-resources listed {listed} but verification {ids}"
        )
        target = working.resource_ids.get(resource_type) or ids[0]
        report = keybroker_service.verify(connector.name, resource_type, target)
        assert report.resources[0].resource_ids == [target], (
            f"verifying the one resource {target!r} returned {report.resources[0].resource_ids}"
        )
        client = keybroker_service.get_client(connector.name, resource_type, target)
        assert client is not None, f"no Python client for '{resource_type}'"

    def test_derived_clients_are_of_an_installed_basic_type(
        self,
        resource_type: str,
        credentials: list[WorkingCredentials],
        keybroker_service: ConnectorService,
    ) -> None:
        """A connector client of another type is of an installed type that accepts it."""
        connector, working, ids = self._register_for(resource_type, credentials, keybroker_service)
        target = working.resource_ids.get(resource_type) or ids[0]
        client = keybroker_service.issue_client(connector.name, resource_type, target).client
        if client.connector_type == self.connector_type:
            return
        check_basic_client(keybroker_service.registry, client)

    def test_refused_credentials_raise_keybroker_errors_without_secrets(
        self,
        auth_method: str,
        refused_credentials: list[WorkingCredentials],
        credentials: list[WorkingCredentials],
    ) -> None:
        """Wrong secrets make ``verify`` raise a keybroker error that names none of them."""
        from keybroker.connector import Connector
        from keybroker.errors import KeybrokerError

        registry = _fresh_registry()
        declaration = registry.declaration(self.connector_type)
        method = declaration.auth_method(auth_method)
        assert method is not None
        refused = [c for c in refused_credentials if c.auth_method == auth_method]
        if not method.config_schema.secret_fields():
            pytest.skip(f"auth method '{auth_method}' has no secret to get wrong")
        if not refused:
            pytest.skip(f"no refused credentials for auth method '{auth_method}'")
        attributes = refused[0].attributes
        try:
            config = method.config_schema.model_validate(attributes)
        except ValueError:
            pytest.skip(
                f"the schema of '{auth_method}' refuses the wrong secrets before verify runs; "
                "override 'refused_credentials' with well-formed wrong ones to test verify"
            )
        secret_names = set(method.config_schema.secret_fields())
        connector = Connector(
            name="conformance-refused",
            connector_type=self.connector_type,
            auth_method=auth_method,
            configuration={k: v for k, v in attributes.items() if k not in secret_names},
            secrets={k: getattr(config, k) for k in secret_names if getattr(config, k, None)},
        )
        hooks = registry.hooks(self.connector_type)
        error = _first_refusal(
            hooks,
            connector,
            config,
            [None, *[r.resource_type for r in declaration.resource_types_for(auth_method)]],
        )
        if error is None:
            pytest.fail(
                f"verify accepted wrong secrets for auth method '{auth_method}': it must check "
                "the credentials with the service"
            )
        if not isinstance(error, KeybrokerError):
            pytest.fail(
                f"verify raised {type(error).__name__} for refused credentials: raise "
                f"AuthorizationError or ConnectionFailure from keybroker.plugin ({error})"
            )
        shown = f"{error} {error.args!r}"
        every_secret = _secret_values(attributes, method) + [
            s
            for c in credentials
            if c.auth_method == auth_method
            for s in _secret_values(c.attributes, method)
        ]
        leaked = [s for s in every_secret if len(s) >= 4 and s in shown]
        assert not leaked, f"the error shows a secret: {error}"

    # -- helpers ----------------------------------------------------------------------------

    def _register_for(
        self,
        resource_type: str,
        credentials: list[WorkingCredentials],
        service: ConnectorService,
    ) -> tuple[Connector, WorkingCredentials, list[str]]:
        """Register a connector scoped to ``resource_type``; return it and the ids it reaches."""
        from keybroker.connector import RegisterRequest

        declaration = service.registry.declaration(self.connector_type)
        rtype = declaration.resource_type(resource_type)
        assert rtype is not None
        usable = [c for c in credentials if rtype in declaration.resource_types_for(c.auth_method)]
        if not usable:
            pytest.fail(
                f"no working credentials reach '{resource_type}'; add some to 'credentials'"
            )
        working = usable[0]
        connector = service.register(
            RegisterRequest(
                name=f"conformance-{resource_type}",
                connector_type=self.connector_type,
                auth_method=working.auth_method,
                attributes=working.attributes,
                resource_type=resource_type,
            )
        ).connector
        verified = service.verify(connector.name)
        ids = verified.resources[0].resource_ids if verified.resources else None
        assert ids, (
            f"verifying '{resource_type}' returned {ids!r}: verify must return the canonical "
            "ids it reaches (give credentials that reach at least one resource)"
        )
        return connector, working, list(ids)


def _first_refusal(
    hooks: Any, connector: Connector, config: Any, resource_types: list[str | None]
) -> BaseException | None:
    """The exception ``verify`` raises for the first resource type it refuses, if any."""
    for resource_type in resource_types:
        try:
            hooks.verify(
                connector=connector, config=config, resource_type=resource_type, resource_id=None
            )
        except Exception as exc:
            return exc
    return None


def check_basic_client(registry: PluginRegistry, client: Connector) -> None:
    """Fail unless ``client`` is a valid connector of an installed type (a basic type's shape)."""
    if client.connector_type not in registry.names():
        pytest.fail(
            f"the derived client is of connector type '{client.connector_type}', which is not "
            "installed here; install its plugin in the test environment"
        )
    basic = registry.declaration(client.connector_type)
    method = basic.auth_method(client.auth_method)
    assert method is not None, (
        f"the derived client uses auth method '{client.auth_method}', which connector type "
        f"'{client.connector_type}' does not declare"
    )
    client.auth_config(method.config_schema)  # raises ValidationError naming the attribute
    declared = basic.resource_type(client.resource_type or "")
    assert declared is not None, (
        f"the derived client's resource type {client.resource_type!r} is not one of "
        f"'{client.connector_type}'"
    )
    expected = BASIC_TYPES.get(client.connector_type)
    assert expected is None or client.resource_type == expected
    assert client.expires_at is None or client.expires_at.tzinfo is not None, (
        "expires_at of a derived client must be timezone-aware"
    )


def basic_client_samples(connector_type: str) -> list[Connector]:
    """Connector clients the core's helpers build for a basic type, from typical inputs."""
    from keybroker.basic_types import (
        DOCKER,
        KUBERNETES,
        docker_registry_client,
        kubernetes_cluster_client,
    )
    from keybroker.connector import Connector, utcnow

    source = Connector(name="cloud", connector_type="cloud", auth_method="key")
    if connector_type == KUBERNETES:
        servers = [
            "https://10.0.0.1:6443",
            "https://ABC123.gr7.us-east-1.eks.amazonaws.com",
            "https://k8s.example.com:443/",
            "https://[fd00::1]:6443",
        ]
        return [
            kubernetes_cluster_client(source, server=s, token="t0ken", expires_at=utcnow())
            for s in servers
        ]
    if connector_type == DOCKER:
        registries = [
            "123456789012.dkr.ecr.us-east-1.amazonaws.com",
            "europe-west1-docker.pkg.dev",
            "https://ghcr.io/",
            "127.0.0.1:5000",
            "index.docker.io",
        ]
        return [
            docker_registry_client(source, registry=r, username="AWS", password="pa55word")
            for r in registries
        ]
    return []


def _fresh_registry() -> PluginRegistry:
    from keybroker.registry import PluginRegistry

    return PluginRegistry()
