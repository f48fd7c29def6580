"""``keybroker service-account ...``: machine accounts and their API keys, for CI and containers."""

from __future__ import annotations

import sys
from datetime import datetime
from typing import Any
from urllib.parse import quote

import click

from keybroker.cli.connection import server_client
from keybroker.cli.render import emit_data, line, output_option, table, timestamp
from keybroker.errors import UsageError

ACCOUNT_COLUMNS = ["NAME", "ACTIVE", "OWNER", "CREATED", "DESCRIPTION"]
KEY_COLUMNS = [
    "NAME",
    "ACTIVE",
    "CREATED",
    "ROTATED",
    "LAST USED",
    "OLD VALUE UNTIL",
    "DESCRIPTION",
]
#: the longest --retain (30 days, as the server allows)
MAX_RETAIN_MINUTES = 30 * 24 * 60


def _account_path(name: str) -> str:
    return f"/api/v1/service-accounts/{quote(name, safe='')}"


def _key_path(account: str, name: str = "") -> str:
    path = f"{_account_path(account)}/api-keys"
    return f"{path}/{quote(name, safe='')}" if name else path


def _time(value: Any) -> str:
    if not isinstance(value, str) or not value:
        return ""
    return timestamp(datetime.fromisoformat(value))


def _yes(value: bool) -> str:
    return "yes" if value else "no"


def _flag(value: str | None, what: str) -> bool | None:
    if value is None:
        return None
    lowered = value.lower()
    if lowered in ("true", "yes", "1"):
        return True
    if lowered in ("false", "no", "0"):
        return False
    raise UsageError(f"--{what} takes true or false, not '{line(value[:40])}'")


def _properties(data: dict[str, Any], output: str) -> None:
    if output != "table":
        emit_data(data, output)
        return
    rows = [
        [key.upper().replace("_", " "), "" if value is None else value]
        for key, value in data.items()
    ]
    click.echo(table(rows, ["PROPERTY", "VALUE"]))


def _confirm_delete(what: str, yes: bool) -> None:
    """Ask before deleting (needs a terminal); ``--yes`` skips the question."""
    if yes:
        return
    if sys.stdin is None or not sys.stdin.isatty():
        raise UsageError(
            "delete asks for confirmation, but standard input is not a terminal: "
            "add --yes to delete without asking"
        )
    if not click.confirm(f"Delete {what}? Its API keys stop working at once", default=False):
        raise click.exceptions.Exit(1)


def _show_key_value(url: str, account: str, key: str, intro: str) -> None:
    """Print a key value once, with how to use it."""
    click.echo(f"{intro} It is shown only this once; store it in a secret store now:\n")
    click.echo(f"    {key}\n")
    click.echo(
        f"Use it as '{line(account)}' in a CI job or container (no 'connect' needed):\n\n"
        f"    export KEYBROKER_STORE_URL={url}\n"
        "    export KEYBROKER_STORE_API_KEY=<the key above>\n\n"
        f"or on a machine: keybroker connect --url {url} --api-key-stdin"
    )


# -- service accounts -------------------------------------------------------------------


@click.group("service-account")
def service_account() -> None:
    """Service accounts: machines (CI jobs, containers) that reach the server with API keys.

    A service account belongs to the user who created it; its owner and admins
    manage it. It is never an admin and cannot manage users or service accounts.
    """


@service_account.command("create")
@click.argument("name")
@click.option("--description", default="", help="A note about what the account is for.")
@click.option(
    "--api-key-name", default="default", show_default=True, help="The name of the first API key."
)
@output_option
def create(name: str, description: str, api_key_name: str, output: str) -> None:
    """Create the service account NAME and a first API key, printed only this once."""
    with server_client() as client:
        created = client.post(
            "/api/v1/service-accounts",
            {"name": name, "description": description, "api_key_name": api_key_name},
        )
        url = client.url
    if output != "table":
        emit_data(created, output)
        return
    account = created["service_account"]["name"]
    _show_key_value(
        url,
        account,
        created["key"],
        f"Created the service account '{line(account)}' with the API key "
        f"'{line(created['api_key']['name'])}'.",
    )


@service_account.command("list")
@output_option
def list_accounts(output: str) -> None:
    """List the service accounts you own (admins: all), by name."""
    with server_client() as client:
        accounts = list(client.pages("/api/v1/service-accounts", {"limit": 200}))
    if output != "table":
        emit_data(accounts, output)
    elif not accounts:
        click.echo("No service accounts; create one with 'keybroker service-account create NAME'.")
    else:
        rows = [
            [
                a["name"],
                _yes(a["active"]),
                a.get("owner") or "(deleted)",
                _time(a["created"]),
                a.get("description", ""),
            ]
            for a in accounts
        ]
        click.echo(table(rows, ACCOUNT_COLUMNS))


@service_account.command("describe")
@click.argument("name")
@output_option
def describe(name: str, output: str) -> None:
    """Show one service account."""
    with server_client() as client:
        _properties(client.get(_account_path(name)), output)


def _update_body(active: str | None, description: str | None) -> dict[str, Any]:
    """The PATCH body of ``update`` (account or key); a usage error when nothing changes."""
    body: dict[str, Any] = {}
    if (flag := _flag(active, "active")) is not None:
        body["active"] = flag
    if description is not None:
        body["description"] = description
    if not body:
        raise UsageError("nothing to change: give --active true|false or --description")
    return body


@service_account.command("update")
@click.argument("name")
@click.option("--active", metavar="true|false", help="Activate or deactivate (all its keys).")
@click.option("--description", default=None, help="A new note about the account.")
@output_option
def update(name: str, active: str | None, description: str | None, output: str) -> None:
    """Change a service account. Deactivating it refuses every key of it from the next
    request on, on every server replica."""
    body = _update_body(active, description)
    with server_client() as client:
        updated = client.patch(_account_path(name), body)
    if output != "table":
        emit_data(updated, output)
    elif "active" in body:
        state = "active" if updated["active"] else "deactivated: its keys are refused"
        click.echo(f"The service account '{line(updated['name'])}' is {state}.")
    else:
        click.echo(f"Updated the service account '{line(updated['name'])}'.")


@service_account.command("delete")
@click.argument("name")
@click.option("-y", "--yes", is_flag=True, help="Delete without asking (for scripts).")
def delete(name: str, yes: bool) -> None:
    """Delete a service account and all its API keys (they stop working at once)."""
    _confirm_delete(f"the service account '{line(name)}'", yes)
    with server_client() as client:
        client.delete(_account_path(name))
    click.echo(f"Deleted the service account '{line(name)}' and its API keys.")


# -- API keys ------------------------------------------------------------------------------


@service_account.group("api-key")
@click.argument("account", metavar="SERVICE_ACCOUNT")
@click.pass_context
def api_key(ctx: click.Context, account: str) -> None:
    """The API keys of SERVICE_ACCOUNT: shown once, rotated, deactivated, deleted."""
    ctx.meta["keybroker.service_account"] = account


def _account() -> str:
    account: str = click.get_current_context().meta["keybroker.service_account"]
    return account


def _key_row(key: dict[str, Any]) -> list[Any]:
    return [
        key["name"],
        _yes(key["active"]),
        _time(key["created"]),
        _time(key.get("rotated")) or "never",
        _time(key.get("last_used")) or "never",
        _time(key.get("retained_until")),
        key.get("description", ""),
    ]


@api_key.command("create")
@click.argument("name")
@click.option("--description", default="", help="A note about where the key is used.")
@output_option
def create_key(name: str, description: str, output: str) -> None:
    """Create the API key NAME, printed only this once."""
    account = _account()
    with server_client() as client:
        issued = client.post(_key_path(account), {"name": name, "description": description})
        url = client.url
    if output != "table":
        emit_data(issued, output)
        return
    _show_key_value(
        url, account, issued["key"], f"Created the API key '{line(name)}' of '{line(account)}'."
    )


@api_key.command("list")
@output_option
def list_keys(output: str) -> None:
    """List the service account's API keys (never their values)."""
    account = _account()
    with server_client() as client:
        keys = list(client.pages(_key_path(account), {"limit": 200}))
    if output != "table":
        emit_data(keys, output)
    elif not keys:
        click.echo(f"The service account '{line(account)}' has no API keys.")
    else:
        click.echo(table([_key_row(k) for k in keys], KEY_COLUMNS))


@api_key.command("describe")
@click.argument("name")
@output_option
def describe_key(name: str, output: str) -> None:
    """Show one API key: when it was created, rotated and last used."""
    with server_client() as client:
        _properties(client.get(_key_path(_account(), name)), output)


@api_key.command("rotate")
@click.argument("name")
@click.option(
    "--retain",
    metavar="MINUTES",
    type=click.FloatRange(min=0, max=MAX_RETAIN_MINUTES),
    default=0,
    help="Keep the old value working this many minutes (decimals allowed) while "
    "workloads switch; by default it is refused at once.",
)
@output_option
def rotate_key(name: str, retain: float, output: str) -> None:
    """Replace the key's value with a new one, printed only this once."""
    account = _account()
    seconds = max(1, round(retain * 60)) if retain else 0
    with server_client() as client:
        issued = client.post(_key_path(account, name) + "/rotate", {"retain_seconds": seconds})
        url = client.url
    if output != "table":
        emit_data(issued, output)
        return
    until = issued["api_key"].get("retained_until")
    old = (
        f"The old value keeps working until {_time(until)}."
        if until
        else "The old value is refused from now on."
    )
    _show_key_value(
        url, account, issued["key"], f"Rotated the API key '{line(name)}' of '{line(account)}'."
    )
    click.echo(f"\n{old}")


@api_key.command("update")
@click.argument("name")
@click.option("--active", metavar="true|false", help="Activate or deactivate the key.")
@click.option("--description", default=None, help="A new note about the key.")
@output_option
def update_key(name: str, active: str | None, description: str | None, output: str) -> None:
    """Change an API key. Deactivating it refuses it from the next request on."""
    body = _update_body(active, description)
    account = _account()
    with server_client() as client:
        updated = client.patch(_key_path(account, name), body)
    if output != "table":
        emit_data(updated, output)
    elif "active" in body:
        state = "active" if updated["active"] else "deactivated: it is refused"
        click.echo(f"The API key '{line(name)}' of '{line(account)}' is {state}.")
    else:
        click.echo(f"Updated the API key '{line(name)}' of '{line(account)}'.")


@api_key.command("delete")
@click.argument("name")
@click.option("-y", "--yes", is_flag=True, help="Delete without asking (for scripts).")
def delete_key(name: str, yes: bool) -> None:
    """Delete an API key (it stops working at once)."""
    account = _account()
    if not yes:
        if sys.stdin is None or not sys.stdin.isatty():
            raise UsageError(
                "delete asks for confirmation, but standard input is not a terminal: "
                "add --yes to delete without asking"
            )
        if not click.confirm(f"Delete the API key '{line(name)}' of '{line(account)}'?"):
            raise click.exceptions.Exit(1)
    with server_client() as client:
        client.delete(_key_path(account, name))
    click.echo(f"Deleted the API key '{line(name)}' of '{line(account)}'.")
