"""Open hook: ``keybroker connector login`` writes a .netrc entry for the service."""

from __future__ import annotations

import os
from pathlib import Path
from urllib.parse import urlsplit

from keybroker.plugin import (
    LocalLoginRequest,
    LocalTool,
    LoginResult,
    OperationError,
    UsageError,
    hookimpl,
    locked_tool_file,
)


def netrc_path() -> Path:
    """The .netrc file curl reads: ``NETRC`` if set, else ``~/.netrc``."""
    return Path(os.environ.get("NETRC") or Path.home() / ".netrc")


def _entries(text: str) -> list[list[str]]:
    """The file split into machine entries (each a token list); refuses what it cannot parse."""
    tokens = text.split()
    entries: list[list[str]] = []
    for token in tokens:
        if token in ("machine", "default", "macdef"):
            entries.append([token])
        elif not entries:
            raise UsageError(f"{netrc_path()} is not a netrc file; fix or move it, then retry")
        else:
            entries[-1].append(token)
    return entries


REQUIRES_PLUGIN_API = 1


@hookimpl
def declare_local_tool() -> LocalTool:
    """curl and other netrc readers, for ``httpbasic`` connectors."""
    return LocalTool(
        tool="netrc",
        name="netrc file (curl -n)",
        description="Adds or replaces the service host's machine entry in the netrc file.",
        connector_types=["httpbasic"],
    )


@hookimpl
def configure_local_tool(request: LocalLoginRequest) -> LoginResult:
    """Add or replace the ``machine`` entry of the service's host."""
    host = urlsplit(str(request.client.configuration["url"])).hostname or ""
    path = netrc_path()
    password = request.client.secrets["password"].get_secret_value()
    username = str(request.client.configuration["username"])
    for what, value in (("user name", username), ("password", password)):
        # a netrc token ends at whitespace: the rest would become entries of its own
        # (a 'default' entry would hand these credentials to every host)
        if not value or any(c.isspace() or c in '"\\' for c in value):
            raise OperationError(
                f"the {what} contains spaces or quotes, which a netrc file cannot hold; "
                "pass the credentials to curl yourself instead of using login for this connector"
            )
    with locked_tool_file(path) as netrc:  # locked, re-read, written atomically
        entries = _entries(netrc.read_text() or "")
        kept = [e for e in entries if not (e[0] == "machine" and len(e) > 1 and e[1] == host)]
        kept.append(["machine", host, "login", username, "password", password])
        netrc.write_text("".join(" ".join(e) + "\n" for e in kept))
    return LoginResult(
        tool="netrc",
        messages=[f"Updated {path} with credentials for {host} (curl -n now reaches it)."],
    )
