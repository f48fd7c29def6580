"""``keybroker connector list-types`` and ``describe-type``: browsing connector types."""

from __future__ import annotations

import click

from keybroker.cli.options import complete_types, not_empty, resource_type_option, service_of
from keybroker.cli.render import output_option


@click.command("list-types")
@resource_type_option()
@click.option(
    "-a", "--auth-method", callback=not_empty, help="Only types offering this auth method."
)
@output_option
@click.pass_context
def list_types(
    ctx: click.Context, resource_type: str | None, auth_method: str | None, output: str
) -> None:
    """List the installed connector types and where they can be used."""
    from keybroker.cli import render, type_views

    items = service_of(ctx).list_types(resource_type=resource_type, auth_method=auth_method)
    if output != "table":
        render.emit_data(items, output)
        return
    if not items:
        click.echo("No connector type matches; 'pip install keybroker[all]' installs them all.")
        return
    click.echo(render.table([type_views.type_row(i) for i in items], type_views.TYPE_HEADERS))


@click.command("describe-type")
@click.argument("connector_type", metavar="TYPE", shell_complete=complete_types)
@resource_type_option()
@click.option(
    "-a",
    "--auth-method",
    callback=not_empty,
    help="Describe this auth method and its attributes.",
)
@output_option
@click.pass_context
def describe_type(
    ctx: click.Context,
    connector_type: str,
    resource_type: str | None,
    auth_method: str | None,
    output: str,
) -> None:
    """Show the documentation of a connector type, or of one of its auth methods or
    resource types."""
    from keybroker.cli import render, type_views
    from keybroker.errors import PluginError, UsageError

    if resource_type and auth_method:
        raise UsageError("give either --resource-type or --auth-method, not both")
    item = service_of(ctx).describe_type(connector_type)
    if not item.loaded:
        raise PluginError(f"connector type '{connector_type}' is unavailable")
    if auth_method:
        method = item.require_auth_method(auth_method)
        if output != "table":
            render.emit_data(method, output)
        else:
            click.echo(type_views.describe_auth_method(item, method))
        return
    if resource_type:
        rtype = item.require_resource_type(resource_type)
        if output != "table":
            render.emit_data(rtype, output)
        else:
            click.echo(type_views.describe_resource_type(item, rtype))
        return
    if output != "table":
        render.emit_data(item, output)
    else:
        click.echo(type_views.describe_type(item))
