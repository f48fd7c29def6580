"""Open hook: ``keybroker connector login`` writes a .netrc entry for the service."""

from __future__ import annotations

import os
from pathlib import Path
from urllib.parse import urlsplit

from keybroker.connector import LoginResult
from keybroker.errors import UsageError
from keybroker.events import LocalLoginRequest
from keybroker.files import write_private
from keybroker.hookspecs import hookimpl


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


@hookimpl
def configure_local_tool(request: LocalLoginRequest) -> LoginResult | None:
    """Add or replace the ``machine`` entry of the service's host."""
    if request.client.connector_type != "httpbasic":
        return None
    host = urlsplit(str(request.client.configuration["url"])).hostname or ""
    path = netrc_path()
    text = path.read_text() if path.exists() else ""
    kept = [e for e in _entries(text) if not (e[0] == "machine" and len(e) > 1 and e[1] == host)]
    password = request.client.secrets["password"].get_secret_value()
    username = str(request.client.configuration["username"])
    kept.append(["machine", host, "login", username, "password", password])
    body = "".join(" ".join(e) + "\n" for e in kept)
    write_private(path, body)
    return LoginResult(
        tool="netrc",
        messages=[f"Updated {path} with credentials for {host} (curl -n now reaches it)."],
    )
