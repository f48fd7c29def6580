"""Where a connector type can be used when connectors live on a team server.

A type is LOCAL when its plugin is installed here (logins, Python clients,
auto-configuration run here) and REMOTE when the server has it (registration,
verification and list-resources run there). The client merges its own catalog
with the server's types into one view per type, and words the error for a
type that neither side has by which package to install where.
"""

from __future__ import annotations

from keybroker.errors import NotFoundError
from keybroker.views import ConnectorTypeView


def package_of(connector_type: str) -> str:
    """The distribution that provides a connector type, by the project's naming rule."""
    return f"keybroker-{connector_type}"


def on_server(view: ConnectorTypeView | None) -> bool:
    """Whether the server's description says it can use the type (its plugin loads there)."""
    return view is not None and view.loaded and (view.local or view.remote)


def merge_type(
    local: ConnectorTypeView | None, remote: ConnectorTypeView | None
) -> ConnectorTypeView:
    """One view of a type from this client's catalog and the server's description.

    The documentation is the local plugin's when it loads here, the server's
    otherwise; ``local`` says whether it is usable here, ``remote`` whether it
    is usable on the server.
    """
    if local is None and remote is None:
        raise ValueError("a connector type needs a description from one side")
    if local is not None and (local.loaded or remote is None or not remote.loaded):
        base = local
    else:
        assert remote is not None
        base = remote
    problem = None
    if local is None:
        problem = f"{package_of(base.connector_type)} is not installed here"
    elif not local.local:
        problem = local.local_problem
    return base.model_copy(
        update={
            "local": bool(local is not None and local.local),
            "remote": on_server(remote),
            "local_problem": problem,
        }
    )


def merge_types(
    local: list[ConnectorTypeView], remote: list[ConnectorTypeView]
) -> list[ConnectorTypeView]:
    """Every type of either side, merged; the local ones first, in their order."""
    by_name = {view.connector_type: view for view in remote}
    merged = [merge_type(view, by_name.pop(view.connector_type, None)) for view in local]
    merged.extend(merge_type(None, view) for view in by_name.values())
    return merged


def unknown_everywhere(connector_type: str, server_url: str, installed: list[str]) -> NotFoundError:
    """The error for a type neither this client nor the server has: what to install where."""
    here = ", ".join(installed) or "none"
    package = package_of(connector_type)
    return NotFoundError(
        f"unknown connector type '{connector_type}': neither this client (types here: {here}) "
        f"nor the server at {server_url} has it; to use a plugin's type, install {package} on "
        "the server (to register, verify and list resources) and here (for logins and Python "
        "clients)",
        parameter="connector_type",
    )
