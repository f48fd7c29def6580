"""``keybroker user ...``: manage the accounts of a team server (admins only)."""

from __future__ import annotations

from typing import Any
from urllib.parse import quote

import click

from keybroker.cli.connection import read_password, server_client
from keybroker.cli.render import emit_data, output_option, table
from keybroker.errors import UsageError

USER_COLUMNS = ["NAME", "ADMIN", "ACTIVE", "CREATED", "DESCRIPTION"]


def _path(name: str) -> str:
    return f"/api/v1/users/{quote(name, safe='')}"


def _row(user: dict[str, Any]) -> list[Any]:
    return [
        user["name"],
        "yes" if user["is_admin"] else "no",
        "yes" if user["active"] else "no",
        str(user["created"])[:19].replace("T", " "),
        user.get("description", ""),
    ]


def _show(user: dict[str, Any], output: str) -> None:
    if output != "table":
        emit_data(user, output)
        return
    rows = [[key.upper(), value] for key, value in user.items()]
    click.echo(table(rows, ["PROPERTY", "VALUE"]))


@click.group()
def user() -> None:
    """Manage the users of the connected keybroker server (admins only)."""


@user.command("create")
@click.argument("name")
@click.option("--admin", is_flag=True, help="Make the user an admin.")
@click.option("--description", default="", help="A note about the user.")
@click.option("--password-stdin", is_flag=True, help="Read the password from standard input.")
@output_option
def create(name: str, admin: bool, description: str, password_stdin: bool, output: str) -> None:
    """Create a user NAME who signs in with a password (asked for, or from stdin)."""
    password = read_password(password_stdin, f"Password for {name}", confirm=True)
    with server_client() as client:
        created = client.post(
            "/api/v1/users",
            {"name": name, "password": password, "is_admin": admin, "description": description},
        )
    if output != "table":
        emit_data(created, output)
    else:
        click.echo(f"Created user '{created['name']}'{' (admin)' if admin else ''}.")


@user.command("list")
@output_option
def list_users(output: str) -> None:
    """List the users, by name."""
    with server_client() as client:
        users = list(client.pages("/api/v1/users", {"limit": 200}))
    if output != "table":
        emit_data(users, output)
    elif not users:
        click.echo("No users.")
    else:
        click.echo(table([_row(u) for u in users], USER_COLUMNS))


@user.command("describe")
@click.argument("name")
@output_option
def describe(name: str, output: str) -> None:
    """Show one user."""
    with server_client() as client:
        _show(client.get(_path(name)), output)


def _flag(value: str | None, what: str) -> bool | None:
    if value is None:
        return None
    lowered = value.lower()
    if lowered in ("true", "yes", "1"):
        return True
    if lowered in ("false", "no", "0"):
        return False
    raise UsageError(f"--{what} takes true or false, not '{value}'")


@user.command("update")
@click.argument("name")
@click.option("--admin", "admin", metavar="true|false", help="Grant or remove admin rights.")
@click.option("--active", "active", metavar="true|false", help="Activate or deactivate.")
@click.option("--description", default=None, help="A new note about the user.")
@click.option("--password-stdin", is_flag=True, help="Read a new password from standard input.")
@click.option("--password-prompt", is_flag=True, help="Ask for a new password.")
@output_option
def update(
    name: str,
    admin: str | None,
    active: str | None,
    description: str | None,
    password_stdin: bool,
    password_prompt: bool,
    output: str,
) -> None:
    """Change a user's password, admin flag, active flag or description.

    Deactivating a user refuses their next request on every replica; a new
    password ends their sessions.
    """
    body: dict[str, Any] = {}
    if (flag := _flag(admin, "admin")) is not None:
        body["is_admin"] = flag
    if (flag := _flag(active, "active")) is not None:
        body["active"] = flag
    if description is not None:
        body["description"] = description
    if password_stdin or password_prompt:
        body["password"] = read_password(password_stdin, f"New password for {name}", confirm=True)
    if not body:
        raise UsageError(
            "nothing to change: give --admin, --active, --description, --password-stdin "
            "or --password-prompt"
        )
    with server_client() as client:
        updated = client.patch(_path(name), body)
    if output != "table":
        emit_data(updated, output)
    else:
        click.echo(f"Updated user '{updated['name']}'.")


@user.command("delete")
@click.argument("names", nargs=-1, required=True)
def delete(names: tuple[str, ...]) -> None:
    """Delete users and every session of theirs."""
    with server_client() as client:
        for name in names:
            client.delete(_path(name))
            click.echo(f"Deleted user '{name}'.")
