"""What the connector commands share: the service, shell completion, common options."""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any, TypeVar

import click

from keybroker.cli.context import CliState

if TYPE_CHECKING:
    from click.shell_completion import CompletionItem

    from keybroker.service import ConnectorService

FC = TypeVar("FC", bound=Callable[..., Any])

EXTRA_ARGS = {"ignore_unknown_options": True, "allow_extra_args": True}


def service_of(ctx: click.Context) -> ConnectorService:
    """The connector service of this invocation."""
    return ctx.ensure_object(CliState).get_service()


def complete_connectors(
    ctx: click.Context, _param: click.Parameter, incomplete: str
) -> list[CompletionItem]:
    """Shell completion of connector names."""
    from click.shell_completion import CompletionItem

    try:
        connectors = CliState().get_service().list()
    except Exception:
        return []
    return [CompletionItem(c.name) for c in connectors if c.name.startswith(incomplete)]


def complete_types(
    ctx: click.Context, _param: click.Parameter, incomplete: str
) -> list[CompletionItem]:
    """Shell completion of connector type names."""
    from click.shell_completion import CompletionItem

    try:
        from keybroker.registry import PluginRegistry

        names = PluginRegistry().names()
    except Exception:
        return []
    return [CompletionItem(n) for n in names if n.startswith(incomplete)]


def not_empty(ctx: click.Context, param: click.Parameter, value: Any) -> Any:
    """Refuse an empty option value, which would otherwise mean "not given"."""
    if isinstance(value, str) and not value.strip():
        raise click.BadParameter("must not be empty")
    return value


def resource_type_option(empty: str | None = None) -> Callable[[FC], FC]:
    """``-r/--resource-type``; ``empty`` documents what '' means where it is allowed."""
    help_text = "Resource type, e.g. s3-bucket or kubernetes-cluster."
    return click.option(
        "-r",
        "--resource-type",
        help=f"{help_text} {empty}" if empty else help_text,
        callback=None if empty else not_empty,
    )


def resource_id_option(empty: str | None = None) -> Callable[[FC], FC]:
    """``--resource-id``; ``empty`` documents what '' means where it is allowed."""
    help_text = "Resource id (name), e.g. s3://bucket; needs a resource type."
    return click.option(
        "--resource-id",
        help=f"{help_text} {empty}" if empty else help_text,
        callback=None if empty else not_empty,
    )
