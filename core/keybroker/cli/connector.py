"""``keybroker connector``: the commands that manage and use service connectors."""

from __future__ import annotations

import sys
from typing import TYPE_CHECKING, Any

import click

from keybroker.cli.arguments import (
    merge_attributes,
    parse_label_filters,
    parse_labels,
    split_attributes,
)
from keybroker.cli.options import (
    EXTRA_ARGS,
    complete_connectors,
    not_empty,
    resource_id_option,
    resource_type_option,
    service_of,
)
from keybroker.cli.progress import spinner
from keybroker.cli.render import output_option
from keybroker.cli.type_commands import describe_type, list_types

if TYPE_CHECKING:
    from keybroker.connector import Connector, ResourceReport
    from keybroker.operations import Registration
    from keybroker.service import ConnectorService


@click.group("connector")
def connector() -> None:
    """Register, verify and use service connectors (alias: service-connector)."""


connector.add_command(list_types)
connector.add_command(describe_type)


# -- register ------------------------------------------------------------------------


def _list_fields(ctx: click.Context, connector_type: str | None, auth_method: str | None) -> Any:
    """The list attributes of a type's auth method (of all its methods when none is named).

    None when the type or method is unknown: the service reports that, with a
    better message than a complaint about a repeated attribute.
    """
    from keybroker.errors import KeybrokerError

    if not connector_type:
        return None
    try:
        described = service_of(ctx).describe_type(connector_type)
    except KeybrokerError:
        return None
    methods = described.auth_methods
    if auth_method:
        methods = [m for m in methods if m.auth_method == auth_method]
        if not methods:
            return None
    return sorted({a.name for m in methods for a in m.attributes if a.type == "list"})


def _print_report(service: ConnectorService, report: ResourceReport | None, output: str) -> None:
    from keybroker.cli import connector_views, render

    if report is None:
        return
    if output != "table":
        render.emit_data(report, output)
        return
    click.echo(connector_views.report_table(service, report))


def _print_stored(
    service: ConnectorService, result: Registration, output: str, what_happened: str
) -> None:
    """What register and update print: the connector and what verification found."""
    from keybroker.cli import render

    if output != "table":
        render.emit_data(service.registration_view(result), output)
        return
    click.echo(render.line(f"Connector '{result.connector.name}' {what_happened}."))
    _print_report(service, result.verification, output)


@connector.command("register", context_settings=EXTRA_ARGS)
@click.argument("name")
@click.option(
    "-t", "--type", "connector_type", callback=not_empty, help="Connector type, e.g. aws."
)
@click.option(
    "-a",
    "--auth-method",
    callback=not_empty,
    help="Auth method; optional when the type has only one.",
)
@resource_type_option()
@resource_id_option()
@click.option("--auto-configure", is_flag=True, help="Take credentials from the local environment.")
@click.option(
    "--auto-configure-option",
    "auto_options",
    multiple=True,
    metavar="KEY=VALUE",
    help="Plugin choice for auto-configuration, e.g. context=prod for kubernetes.",
)
@click.option("-l", "--label", "labels", multiple=True, metavar="KEY=VALUE", help="Add a label.")
@click.option("-d", "--description", default="", help="A description for people.")
@click.option(
    "--expiration-seconds",
    type=click.IntRange(min=1),
    help="Lifetime of issued temporary credentials.",
)
@click.option("--no-verify", is_flag=True, help="Store without verifying the credentials first.")
@click.option(
    "--share", is_flag=True, help="Let others on the server use it (never read its secrets)."
)
@click.option("-i", "--interactive", is_flag=True, help="Ask for everything not given.")
@output_option
@click.pass_context
def register(
    ctx: click.Context,
    name: str,
    connector_type: str | None,
    auth_method: str | None,
    resource_type: str | None,
    resource_id: str | None,
    auto_configure: bool,
    auto_options: tuple[str, ...],
    labels: tuple[str, ...],
    description: str,
    expiration_seconds: int | None,
    no_verify: bool,
    share: bool,
    interactive: bool,
    output: str,
) -> None:
    """Register a connector NAME, verifying its credentials first.

    Give the auth method's attributes as name=value or --name=value ('keybroker
    connector describe-type TYPE -a METHOD' lists them). A value @PATH is read
    from that file (UTF-8 text, at most 64 KiB, one trailing newline removed);
    write @@ for a value that starts with a literal @. Repeat a list attribute
    once per value, or give it a JSON list. Nothing is stored unless
    verification succeeds.
    """
    from keybroker.connector import RegisterRequest
    from keybroker.errors import ConflictError

    service = service_of(ctx)
    pairs = split_attributes(ctx.args)
    values: dict[str, Any] = {
        "connector_type": connector_type,
        "auth_method": auth_method,
        "attributes": merge_attributes(pairs, _list_fields(ctx, connector_type, auth_method)),
        "resource_type": resource_type,
        "resource_id": resource_id,
        "expiration_seconds": expiration_seconds,
        "description": description,
        "labels": parse_labels(labels),
    }
    options = parse_labels(auto_options) if auto_options else {}
    if interactive:
        from keybroker.cli.prompts import ask_registration
        from keybroker.service.validation import validate_name

        validate_name(name)  # before any question: no typing in vain
        if _name_taken(service, name):
            raise ConflictError(
                f"a connector named '{name}' already exists; choose another name",
                parameter="name",
            )
        values = ask_registration(service, values)
    if not values["connector_type"]:
        raise click.UsageError("missing option '-t' / '--type' (or use -i to be asked)")
    request = RegisterRequest(
        name=name,
        auto_configure=auto_configure,
        auto_configure_options=options,
        verify=not no_verify,
        shared=share,
        **values,
    )
    doing = "Registering" if no_verify else "Verifying and registering"
    with spinner(f"{doing} connector '{name}'..."):
        result = service.register(request)
    verified = (
        "verified and registered" if result.verification else "registered without verification"
    )
    _print_stored(service, result, output, f"({result.connector.id}) {verified}")


def _name_taken(service: ConnectorService, name: str) -> bool:
    """Whether a connector is named ``name``, asked through the operations (local or server)."""
    from keybroker.errors import NotFoundError

    try:
        found = service.get(name)
    except NotFoundError:
        return False
    return found.name == name  # not another connector whose id starts with these characters


# -- read ------------------------------------------------------------------------------


@connector.command("list")
@click.option("-n", "--name", help="Only connectors whose name contains this.")
@click.option(
    "-t", "--type", "connector_type", callback=not_empty, help="Only connectors of this type."
)
@resource_type_option()
@resource_id_option()
@click.option(
    "-l", "--label", "labels", multiple=True, metavar="KEY[=VALUE]", help="Filter by label."
)
@output_option
@click.pass_context
def list_connectors(
    ctx: click.Context,
    name: str | None,
    connector_type: str | None,
    resource_type: str | None,
    resource_id: str | None,
    labels: tuple[str, ...],
    output: str,
) -> None:
    """List registered connectors.

    EXPIRES IN is the time left before the connector's own credentials expire
    ('never' for credentials without an expiry).

    -r/--resource-type with --resource-id lists every connector whose scope
    covers that resource: single-instance ones for it, and wider-scope ones
    (multi-instance, multi-type) that match without contacting the cloud; use
    'keybroker connector verify' to check access. A connector its store cannot
    read is always listed, with its error.
    """
    from keybroker.cli import connector_views, render
    from keybroker.connector import ConnectorQuery

    service = service_of(ctx)
    query = ConnectorQuery(
        name=name,
        connector_type=connector_type,
        resource_type=resource_type,
        resource_id=resource_id,
        labels=parse_label_filters(labels),
    )
    found = service.list(query)
    if output != "table":
        render.emit_data([service.view(c) for c in found], output)
        return
    if not found:
        click.echo("No connector matches. Register one with 'keybroker connector register'.")
        return
    click.echo(connector_views.connector_table(service, found))


@connector.command("describe")
@click.argument("name_or_id", shell_complete=complete_connectors)
@click.option("-x", "--show-secrets", is_flag=True, help="Show secret values in clear.")
@resource_type_option()
@resource_id_option()
@output_option
@click.pass_context
def describe(
    ctx: click.Context,
    name_or_id: str,
    show_secrets: bool,
    resource_type: str | None,
    resource_id: str | None,
    output: str,
) -> None:
    """Show a connector.

    With -r/--resource-type or --resource-id, show instead the connector client it
    issues for that resource: the short-lived credentials a tool or a Python
    client gets, their type and when they expire. A client is never stored.
    """
    from keybroker.cli import connector_views, render

    service = service_of(ctx)
    if resource_type or resource_id:
        from keybroker.views import ConnectorClientView

        with spinner("Issuing a connector client..."):
            issued = service.issue_client(name_or_id, resource_type, resource_id)
        client = issued.client.model_copy(update={"secret_names": sorted(issued.client.secrets)})
        if not show_secrets:
            client = client.model_copy(update={"secrets": {}})
        issued = issued.model_copy(update={"client": client})
        if output != "table":
            view = ConnectorClientView.from_client(
                issued.connector_id, issued.connector_name, client, show_secrets
            )
            render.emit_data(view, output)
        else:
            click.echo(connector_views.describe_client(service, issued, show_secrets))
        return
    shown = service.get(name_or_id, show_secrets=show_secrets)
    if output != "table":
        render.emit_data(service.view(shown, show_secrets), output)
    else:
        click.echo(connector_views.describe_connector(service, shown, show_secrets))


# -- change ------------------------------------------------------------------------------


@connector.command("update", context_settings=EXTRA_ARGS)
@click.argument("name_or_id", shell_complete=complete_connectors)
@click.option("--new-name", callback=not_empty, help="Rename the connector.")
@click.option(
    "-a",
    "--auth-method",
    callback=not_empty,
    help="Switch to another auth method (give all its attributes).",
)
@resource_type_option(empty="'' makes the connector multi-type.")
@resource_id_option(empty="'' makes the connector multi-instance.")
@click.option("-l", "--label", "labels", multiple=True, metavar="KEY=VALUE", help="Set a label.")
@click.option("--remove-label", multiple=True, metavar="KEY", help="Remove a label.")
@click.option("--remove-attr", multiple=True, metavar="NAME", help="Remove an optional attribute.")
@click.option("-d", "--description", help="A new description.")
@click.option("--expiration-seconds", type=click.IntRange(min=1), help="New credential lifetime.")
@click.option(
    "--share/--unshare",
    default=None,
    help="Let others on the server use it (never read its secrets), or make it private.",
)
@click.option("--no-verify", is_flag=True, help="Store without verifying the credentials first.")
@output_option
@click.pass_context
def update(
    ctx: click.Context,
    name_or_id: str,
    new_name: str | None,
    auth_method: str | None,
    resource_type: str | None,
    resource_id: str | None,
    labels: tuple[str, ...],
    remove_label: tuple[str, ...],
    remove_attr: tuple[str, ...],
    description: str | None,
    expiration_seconds: int | None,
    share: bool | None,
    no_verify: bool,
    output: str,
) -> None:
    """Change a connector's attributes, scope or labels, verifying it again.

    Attributes are given as for register (@PATH, @@, repeated list attributes)
    and merged into the current ones. Use --resource-type '' / --resource-id ''
    to widen the scope. The stored connector is unchanged if verification fails.
    """
    from keybroker.connector import UpdateRequest

    service = service_of(ctx)
    pairs = split_attributes(ctx.args)
    current = service.get(name_or_id)
    list_fields = _list_fields(ctx, current.connector_type, auth_method or current.auth_method)
    attributes: dict[str, Any] = dict(merge_attributes(pairs, list_fields))
    for name in remove_attr:
        attributes[name.replace("-", "_")] = None
    label_changes: dict[str, str | None] = dict(parse_labels(labels))
    label_changes.update({key: None for key in remove_label})
    request = UpdateRequest(
        name=new_name,
        auth_method=auth_method,
        attributes=attributes,
        resource_type=resource_type,
        resource_id=resource_id,
        labels=label_changes,
        description=description,
        expiration_seconds=expiration_seconds,
        verify=not no_verify,
        shared=share,
        version=current.version,
    )
    doing = "Updating" if no_verify else "Verifying and updating"
    with spinner(f"{doing} connector '{name_or_id}'..."):
        result = service.update(name_or_id, request)
    _print_stored(service, result, output, "updated")


@connector.command("delete")
@click.argument("names_or_ids", nargs=-1, required=True, shell_complete=complete_connectors)
@click.option("-y", "--yes", is_flag=True, help="Delete without asking (for scripts).")
@click.pass_context
def delete(ctx: click.Context, names_or_ids: tuple[str, ...], yes: bool) -> None:
    """Delete one or more connectors, after confirmation.

    Every name is checked first: if one is unknown, nothing is deleted. Without
    --yes the connectors are listed and you are asked to confirm, which needs a
    terminal; scripts pass --yes.
    """
    from keybroker.cli import render
    from keybroker.errors import NotFoundError, UsageError

    service = service_of(ctx)
    targets: dict[str, Connector] = {}
    unknown: list[str] = []
    for name_or_id in names_or_ids:
        try:
            found = service.get(name_or_id)
        except NotFoundError:
            unknown.append(name_or_id)
            continue
        targets.setdefault(str(found.id), found)
    if unknown:
        names = ", ".join(f"'{render.line(n)}'" for n in dict.fromkeys(unknown))
        raise NotFoundError(
            f"no connector named {names} (nor with that id); nothing was deleted "
            "('keybroker connector list' shows the registered ones)"
        )
    if not yes:
        if sys.stdin is None or not sys.stdin.isatty():
            raise UsageError(
                "delete asks for confirmation, but standard input is not a terminal: "
                "add --yes to delete without asking"
            )
        click.echo("These connectors will be deleted:", err=True)
        for target in targets.values():
            shown = render.line(f"{target.name} ({target.id}, {target.connector_type})")
            click.echo(f"  {shown}", err=True)
        if not click.confirm(f"Delete {len(targets)} connector(s)?", default=False, err=True):
            click.echo("Nothing was deleted.", err=True)
            ctx.exit(1)
    for target in targets.values():
        gone = service.delete(target.name)
        click.echo(render.line(f"Deleted connector '{gone.name}' ({gone.id})."))


# -- use ---------------------------------------------------------------------------------


@connector.command("verify")
@click.argument("name_or_id", shell_complete=complete_connectors)
@resource_type_option()
@resource_id_option()
@output_option
@click.pass_context
def verify(
    ctx: click.Context,
    name_or_id: str,
    resource_type: str | None,
    resource_id: str | None,
    output: str,
) -> None:
    """Check a connector's credentials and list what they reach.

    A multi-type connector only authenticates, unless narrowed with -r; a
    multi-instance one lists the instances it reaches; a single-instance one
    proves access to its resource.
    """
    from keybroker.cli import render

    service = service_of(ctx)
    with spinner(f"Verifying connector '{name_or_id}'..."):
        report = service.verify(name_or_id, resource_type, resource_id)
    if output == "table":
        click.echo(
            render.line(
                f"Connector '{report.connector_name}' is correctly configured with valid "
                "credentials."
            )
        )
    _print_report(service, report, output)


@connector.command("list-resources")
@click.option(
    "-t", "--type", "connector_type", callback=not_empty, help="Only connectors of this type."
)
@resource_type_option()
@resource_id_option()
@output_option
@click.pass_context
def list_resources(
    ctx: click.Context,
    connector_type: str | None,
    resource_type: str | None,
    resource_id: str | None,
    output: str,
) -> None:
    """List what every connector reaches, checking them all concurrently.

    Connectors that fail are listed with their error. The exit code is 1 when
    any connector, or any resource type of one, could not be checked (the table
    or the data still shows every connector), 0 when all were checked.
    """
    from keybroker.cli import connector_views, render

    service = service_of(ctx)
    with spinner("Listing resources..."):
        reports = service.list_resources(connector_type, resource_type, resource_id)
    failed = sum(1 for r in reports if not r.ok)
    if output != "table":
        render.emit_data(reports, output)
    elif not reports:
        click.echo("No connector reaches a matching resource.")
    else:
        rows = connector_views.resource_rows(service, reports)
        click.echo(render.table(rows, connector_views.RESOURCE_HEADERS))
    if failed:
        click.echo(
            f"{failed} connector(s) could not be fully checked; see their errors above.",
            err=True,
        )
        ctx.exit(1)


@connector.command("login")
@click.argument("name_or_id", shell_complete=complete_connectors)
@resource_type_option()
@resource_id_option()
@click.option(
    "--tool",
    "tools",
    multiple=True,
    help="Configure only this local tool (repeatable); default: every tool installed for "
    "the resource type.",
)
@click.pass_context
def login(
    ctx: click.Context,
    name_or_id: str,
    resource_type: str | None,
    resource_id: str | None,
    tools: tuple[str, ...],
) -> None:
    """Configure local tools (kubectl, docker, ...) to reach a resource of a connector."""
    service = service_of(ctx)
    with spinner(f"Configuring local access through connector '{name_or_id}'..."):
        results = service.login(name_or_id, resource_type, resource_id, list(tools) or None)
    from keybroker.cli import render

    failed = [r for r in results if r.error]
    for result in results:
        if result.error:
            continue
        for message in result.messages:
            click.echo(render.line(message))
        if result.refreshes_itself:
            click.echo(
                render.line(f"{result.tool} fetches fresh credentials from keybroker by itself.")
            )
    for result in failed:
        click.echo(render.line(f"Error: {result.tool}: {result.error}"), err=True)
    if failed:
        ctx.exit(1)
