"""Fake connector types for the service tests, and helpers to use them.

A dist-info with entry points goes on ``sys.path``; the fake cloud's behaviour
is driven by its attributes, so each test states what the "cloud" does:
``buckets`` it reaches, a ``delay`` before answering, a ``fail`` message,
a ``key`` starting with ``model-`` (its verify lets a pydantic
``ValidationError`` about the key escape), ``answer`` (``none``: its verify
returns None; ``wrong``: it confirms another resource) and ``derive``
(``junk``/``wrong-type``: a derive_client that answers nonsense). Its
canonical ids answer None for ``null-id``; its ``key`` validator echoes a
secret holding '!'. ``fakenoverify`` misspells its verify hook.
"""

from __future__ import annotations

import textwrap
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from keybroker.connector import RegisterRequest
from keybroker.service import ConnectorService
from peers.plugin_install import plugin_on_path, write_plugin

DECLARATION = textwrap.dedent(
    """
    from pydantic import Field, SecretStr, field_validator
    from keybroker.hookspecs import hookimpl
    from keybroker.types import AuthConfig, AuthMethod, ConnectorType, ResourceType

    class KeyConfig(AuthConfig):
        account: str
        key: SecretStr
        buckets: str = ""
        delay: float = 0.0
        fail: str = ""
        answer: str = ""
        derive: str = ""

        @field_validator("account")
        @classmethod
        def _account(cls, value):
            if value.startswith("-"):
                raise ValueError("must not start with '-'")
            return value

        @field_validator("key")
        @classmethod
        def _key(cls, value):
            if "!" in value.get_secret_value():  # a careless plugin echoes the secret
                raise ValueError(f"'{value.get_secret_value()}' holds a '!'")
            return value

    class TempConfig(KeyConfig):
        pass

    TYPE = ConnectorType(
        connector_type="fakecloud",
        name="Fake cloud",
        implementation="fakecloud_impl",
        supports_auto_configuration=False,
        auth_methods=[
            AuthMethod(auth_method="key", name="Key", config_schema=KeyConfig),
            AuthMethod(
                auth_method="temp", name="Temporary", config_schema=TempConfig,
                issues_temporary_credentials=True, default_expiration_seconds=3600,
                min_expiration_seconds=900, max_expiration_seconds=7200,
            ),
        ],
        resource_types=[
            ResourceType(resource_type="fake-generic", name="Generic"),
            ResourceType(resource_type="fake-bucket", name="Bucket", supports_instances=True),
            ResourceType(resource_type="kubernetes-cluster", name="Cluster",
                         supports_instances=True),
        ],
    )

    @hookimpl
    def declare_connector_type():
        return TYPE
    """
)

IMPLEMENTATION = textwrap.dedent(
    """
    import time
    from pydantic import BaseModel, field_validator
    from keybroker.connector import Connector
    from keybroker.errors import AuthorizationError, UsageError
    from keybroker.hookspecs import hookimpl

    CALLS = []

    class Answer(BaseModel):
        token: str

        @field_validator("token")
        @classmethod
        def _token(cls, value):
            raise ValueError("the token was refused")

    @hookimpl
    def canonical_resource_id(resource_type, resource_id):
        if resource_id == "null-id":
            return None
        if resource_type == "fake-bucket":
            name = resource_id.removeprefix("fake://")
            if not name.isalnum():
                raise UsageError(f"invalid bucket name '{resource_id}'")
            return "fake://" + name
        return resource_id

    @hookimpl
    def default_resource_id(resource_type, config):
        return config.account if resource_type == "fake-generic" else None

    @hookimpl
    def verify(connector, config, resource_type, resource_id):
        CALLS.append(("verify", connector.name, resource_type, resource_id))
        time.sleep(config.delay)
        if config.fail:
            raise AuthorizationError(config.fail)
        if config.key.get_secret_value() == "explode":
            raise RuntimeError("key explode rejected by " + config.account)
        if config.key.get_secret_value().startswith("model-"):
            Answer(token=config.key.get_secret_value())  # pydantic's ValidationError escapes
        if config.answer == "none":
            return None
        if config.answer == "wrong":
            return ["fake://somewhere-else"]
        buckets = ["fake://" + b for b in config.buckets.split(",") if b]
        if resource_type is None:
            return []
        if resource_type == "fake-generic":
            return [config.account]
        if resource_type == "fake-bucket":
            if resource_id is None:
                return buckets
            if resource_id not in buckets:
                raise AuthorizationError(f"no access to {resource_id}")
            return [resource_id]
        return ["one-cluster"] if resource_id is None else [resource_id]

    @hookimpl
    def derive_client(connector, config, resource_type, resource_id):
        if config.derive == "junk":
            return "junk"
        if config.derive == "wrong-type":
            return connector.model_copy(update={"resource_type": "fake-generic"})
        if resource_type != "kubernetes-cluster":
            return None
        return Connector(
            name=connector.name + "-client", connector_type="fakekube", auth_method="token",
            resource_type=resource_type, resource_id=resource_id,
            configuration={"server": "https://" + resource_id},
        )

    @hookimpl
    def build_client(connector, config, resource_type, resource_id, refresh):
        if resource_type == "fake-bucket":
            return ("bucket-client", resource_id)
        return None
    """
)

KUBE_DECLARATION = textwrap.dedent(
    """
    from keybroker.hookspecs import hookimpl
    from keybroker.types import AuthConfig, AuthMethod, ConnectorType, ResourceType

    class TokenConfig(AuthConfig):
        server: str

    @hookimpl
    def declare_connector_type():
        return ConnectorType(
            connector_type="fakekube", name="Fake kube", implementation="fakekube_impl",
            auth_methods=[AuthMethod(auth_method="token", name="Token",
                                     config_schema=TokenConfig)],
            resource_types=[ResourceType(resource_type="kubernetes-cluster", name="Cluster")],
        )
    """
)

KUBE_IMPLEMENTATION = textwrap.dedent(
    """
    from keybroker.hookspecs import hookimpl

    @hookimpl
    def verify(connector, config, resource_type, resource_id):
        return [] if resource_type is None else [config.server]

    @hookimpl
    def build_client(connector, config, resource_type, resource_id, refresh):
        return ("kube-client", config.server, refresh().resource_id)
    """
)

NO_VERIFY_DECLARATION = textwrap.dedent(
    """
    from pydantic import SecretStr
    from keybroker.hookspecs import hookimpl
    from keybroker.types import AuthConfig, AuthMethod, ConnectorType, ResourceType

    class Config(AuthConfig):
        password: SecretStr

    @hookimpl
    def declare_connector_type():
        return ConnectorType(
            connector_type="fakenoverify", name="Cannot verify",
            implementation="fakenoverify_impl",
            auth_methods=[AuthMethod(auth_method="password", name="Password",
                                     config_schema=Config)],
            resource_types=[ResourceType(resource_type="thing", name="Thing")],
        )
    """
)

NO_VERIFY_IMPLEMENTATION = textwrap.dedent(
    """
    from keybroker.hookspecs import hookimpl

    @hookimpl
    def verfy(connector, config, resource_type, resource_id):  # misspelled: never called
        return []
    """
)


@contextmanager
def fake_plugins_installed(target: Path) -> Iterator[Path]:
    """The fake connector types, written under ``target`` and put on sys.path."""
    write_plugin(
        target,
        "fakecloud",
        {"fakecloud_decl": DECLARATION, "fakecloud_impl": IMPLEMENTATION},
        {"keybroker.connector_types": {"fakecloud": "fakecloud_decl"}},
    )
    write_plugin(
        target,
        "fakekube",
        {"fakekube_decl": KUBE_DECLARATION, "fakekube_impl": KUBE_IMPLEMENTATION},
        {"keybroker.connector_types": {"fakekube": "fakekube_decl"}},
    )
    write_plugin(
        target,
        "fakenoverify",
        {
            "fakenoverify_decl": NO_VERIFY_DECLARATION,
            "fakenoverify_impl": NO_VERIFY_IMPLEMENTATION,
        },
        {"keybroker.connector_types": {"fakenoverify": "fakenoverify_decl"}},
    )
    with plugin_on_path(target):
        yield target


def calls() -> list[tuple[Any, ...]]:
    """The verify calls the fake cloud has seen (shared module state)."""
    import fakecloud_impl

    return fakecloud_impl.CALLS  # type: ignore[no-any-return]


def register(service: ConnectorService, name: str, **kwargs: Any) -> Any:
    """Register a fakecloud connector; returns (connector, verification report)."""
    attributes = {"account": "acct1", "key": "k3y-value", "buckets": "a,b,c"}
    attributes.update(kwargs.pop("attributes", {}))
    request = RegisterRequest(
        name=name,
        connector_type="fakecloud",
        auth_method=kwargs.pop("auth_method", "key"),
        attributes=attributes,
        **kwargs,
    )
    result = service.register(request)
    return result.connector, result.verification
