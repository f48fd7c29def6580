"""``keybroker authorized-device ...``: the devices authorized through the browser sign-in."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from typing import Any
from urllib.parse import quote

import click

from keybroker.cli.connection import server_client
from keybroker.cli.render import emit_data, expires_in, line, output_option, table, timestamp
from keybroker.errors import UsageError

DEVICE_COLUMNS = [
    "ID",
    "USER",
    "HOSTNAME",
    "OS",
    "IP ADDRESS",
    "TRUSTED",
    "LOCKED",
    "EXPIRES IN",
    "LAST USED",
]


def _path(device_id: str) -> str:
    """The API path of a device; an id that cannot be one is refused here."""
    try:
        canonical = str(uuid.UUID(device_id))
    except ValueError:
        raise UsageError(
            f"'{line(device_id[:60])}' is not a device id; 'keybroker authorized-device list' "
            "shows them"
        ) from None
    return f"/api/v1/devices/{quote(canonical, safe='')}"


def _time(value: Any) -> datetime | None:
    return datetime.fromisoformat(value) if isinstance(value, str) and value else None


def _expires_in(device: dict[str, Any]) -> str:
    expires = _time(device.get("expires_at"))
    if expires is None:
        return "no token"
    return expires_in(expires - datetime.now(UTC))


def _row(device: dict[str, Any]) -> list[Any]:
    hostname = device["hostname"] or "(not given)"
    if device.get("current"):
        hostname += "\n(this device)"
    return [
        device["id"],
        device["user"],
        hostname,
        device["os"],
        device.get("ip_address") or "",
        "yes" if device["trusted"] else "no",
        "yes" if device["locked"] else "no",
        _expires_in(device),
        timestamp(_time(device.get("last_used"))) or "never",
    ]


def _show(device: dict[str, Any], output: str) -> None:
    if output != "table":
        emit_data(device, output)
        return
    shown = dict(device)
    shown["expires_in"] = _expires_in(device)
    rows = [[key.upper().replace("_", " "), value] for key, value in shown.items()]
    click.echo(table(rows, ["PROPERTY", "VALUE"]))


@click.group("authorized-device")
def authorized_device() -> None:
    """Devices authorized with 'keybroker connect' in a browser.

    You see and manage your own devices; admins see everyone's. Locking a device
    refuses its token from its next request on, until it is unlocked.
    """


@authorized_device.command("list")
@click.option("--user", help="Only this user's devices (admins).")
@output_option
def list_devices(user: str | None, output: str) -> None:
    """List authorized devices, oldest first."""
    with server_client() as client:
        devices = list(client.pages("/api/v1/devices", {"user": user, "limit": 200}))
    if output != "table":
        emit_data(devices, output)
    elif not devices:
        click.echo("No authorized devices.")
    else:
        click.echo(table([_row(d) for d in devices], DEVICE_COLUMNS))


@authorized_device.command("describe")
@click.argument("device_id", metavar="ID")
@output_option
def describe(device_id: str, output: str) -> None:
    """Show one device."""
    with server_client() as client:
        _show(client.get(_path(device_id)), output)


def _set_locked(device_id: str, locked: bool, output: str) -> None:
    with server_client() as client:
        device = client.patch(_path(device_id), {"locked": locked})
    if output != "table":
        emit_data(device, output)
    else:
        name = line(f"{device['id']} ({device['hostname'] or 'no name'})")
        click.echo(
            f"Locked the device {name}: its token is refused from its next request on."
            if locked
            else f"Unlocked the device {name}."
        )


@authorized_device.command("lock")
@click.argument("device_id", metavar="ID")
@output_option
def lock(device_id: str, output: str) -> None:
    """Lock a device: its token stops working at once, on every server replica."""
    _set_locked(device_id, True, output)


@authorized_device.command("unlock")
@click.argument("device_id", metavar="ID")
@output_option
def unlock(device_id: str, output: str) -> None:
    """Unlock a device: its token works again until it expires."""
    _set_locked(device_id, False, output)


@authorized_device.command("delete")
@click.argument("device_ids", metavar="ID...", nargs=-1, required=True)
def delete(device_ids: tuple[str, ...]) -> None:
    """Delete devices and their tokens (they must connect again)."""
    with server_client() as client:
        for device_id in device_ids:
            client.delete(_path(device_id))
            click.echo(f"Deleted the device {line(device_id)}.")
