"""``leaser``: a test-only connector type that leases temporary docker registry credentials.

Its connector clients are ``docker`` password connectors that expire, so
``login`` goes through the credential helper. It needs no network: the
"lease" is the password the connector was registered with.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from peers.plugin_install import plugin_on_path, write_plugin

LEASER_DECLARATION = """
from keybroker.hookspecs import hookimpl
from keybroker.types import AuthConfig, AuthMethod, ConnectorType, ResourceType
from pydantic import SecretStr

class LeaseConfig(AuthConfig):
    registry: str
    username: str
    password: SecretStr

@hookimpl
def declare_connector_type():
    return ConnectorType(
        connector_type="leaser", name="Registry lease", implementation="kb_leaser.impl",
        auth_methods=[AuthMethod(auth_method="lease", name="lease", config_schema=LeaseConfig,
                                 issues_temporary_credentials=True, default_expiration_seconds=600,
                                 min_expiration_seconds=60, max_expiration_seconds=3600)],
        resource_types=[ResourceType(resource_type="docker-registry", name="registry")],
    )
"""

LEASER_IMPL = """
from datetime import timedelta
from keybroker.connector import Connector, utcnow
from keybroker.hookspecs import hookimpl

@hookimpl
def default_resource_id(resource_type, config):
    return config.registry

@hookimpl
def verify(connector, config, resource_type, resource_id):
    return [config.registry] if resource_type else []

@hookimpl
def derive_client(connector, config, resource_type, resource_id):
    return Connector(
        name=connector.name, connector_type="docker", auth_method="password",
        resource_type="docker-registry", resource_id=config.registry,
        configuration={"registry": config.registry, "username": config.username},
        secrets={"password": config.password},
        expires_at=utcnow() + timedelta(seconds=600),
    )
"""


@contextmanager
def leaser_installed(directory: Path) -> Iterator[dict[str, str]]:
    """Install the plugin here and yield the environment a subprocess needs to see it.

    The environment also puts ``docker-credential-keybroker`` on PATH.
    """
    site = write_plugin(
        directory,
        "kb-leaser",
        {"kb_leaser.declaration": LEASER_DECLARATION, "kb_leaser.impl": LEASER_IMPL},
        {"keybroker.connector_types": {"leaser": "kb_leaser.declaration"}},
    )
    with plugin_on_path(site):
        yield {
            "PYTHONPATH": os.pathsep.join([str(site), os.environ.get("PYTHONPATH", "")]),
            "PATH": os.pathsep.join([str(Path(sys.executable).parent), os.environ["PATH"]]),
        }
