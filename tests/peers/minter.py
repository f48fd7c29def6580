"""``minter``: a test-only connector type that mints short-lived Kubernetes tokens.

Each connector client carries a fresh random token, recorded in the
connector's ``token_file`` so that the fake API server (another thread, or
kubectl's exec plugin in another process) accepts it. Login therefore writes
an exec credential entry.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from peers.plugin_install import plugin_on_path, write_plugin

MINTER_DECLARATION = """
from pydantic import Field
from keybroker.hookspecs import hookimpl
from keybroker.types import AuthConfig, AuthMethod, ConnectorType, ResourceType

class MinterConfig(AuthConfig):
    server: str
    certificate_authority: str
    token_file: str = Field(description="where minted tokens are recorded for the test server")

@hookimpl
def declare_connector_type():
    return ConnectorType(
        connector_type="minter", name="Token minter", implementation="kb_minter.impl",
        auth_methods=[AuthMethod(auth_method="mint", name="mint", config_schema=MinterConfig,
                                 issues_temporary_credentials=True,
                                 default_expiration_seconds=60, min_expiration_seconds=1,
                                 max_expiration_seconds=3600)],
        resource_types=[ResourceType(resource_type="kubernetes-cluster", name="cluster",
                                     supports_instances=True)],
    )
"""

MINTER_IMPL = """
import uuid
from datetime import timedelta
from pydantic import SecretStr
from keybroker.connector import Connector, utcnow
from keybroker.hookspecs import hookimpl

@hookimpl
def verify(connector, config, resource_type, resource_id):
    return ["cluster-a"] if resource_type else []

@hookimpl
def derive_client(connector, config, resource_type, resource_id):
    token = "minted-" + uuid.uuid4().hex
    with open(config.token_file, "a") as handle:
        handle.write(token + "\\n")
    return Connector(
        name=connector.name, connector_type="kubernetes", auth_method="token",
        resource_type="kubernetes-cluster", resource_id="127.0.0.1",
        configuration={"server": config.server,
                       "certificate_authority": config.certificate_authority, "insecure": False},
        secrets={"token": SecretStr(token)},
        expires_at=utcnow() + timedelta(seconds=connector.expiration_seconds or 60),
    )
"""


@contextmanager
def minter_installed(directory: Path) -> Iterator[dict[str, str]]:
    """Install the plugin here and yield the environment a subprocess needs to see it."""
    site = write_plugin(
        directory,
        "kb-minter",
        {"kb_minter.declaration": MINTER_DECLARATION, "kb_minter.impl": MINTER_IMPL},
        {"keybroker.connector_types": {"minter": "kb_minter.declaration"}},
    )
    with plugin_on_path(site):
        yield {"PYTHONPATH": os.pathsep.join([str(site), os.environ.get("PYTHONPATH", "")])}
