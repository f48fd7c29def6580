"""Connectors of the example ``httpbasic`` plugin, registered through the CLI."""

from __future__ import annotations

from click.testing import Result

from peers.basic_auth_server import BasicAuthService
from peers.cli_runner import run


def register_web(web: BasicAuthService, name: str = "web", *extra: str) -> Result:
    """``keybroker connector register NAME -t httpbasic`` with the service's credentials."""
    return run(
        "connector",
        "register",
        name,
        "-t",
        "httpbasic",
        f"--url={web.url}",
        f"username={web.username}",
        f"password={web.password}",
        *extra,
    )
