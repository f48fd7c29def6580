"""``keybroker audit list``: read the audit log of the connected server."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta
from typing import Any

import click

from keybroker.cli.connection import server_client
from keybroker.cli.render import emit_data, output_option, table
from keybroker.errors import UsageError

AUDIT_COLUMNS = ["TIME", "ACTOR", "ACTION", "OUTCOME", "CONNECTOR", "RESOURCE", "TARGET", "IP"]
_RELATIVE = re.compile(r"^(\d+)([smhd])$")
_UNITS = {"s": "seconds", "m": "minutes", "h": "hours", "d": "days"}


def parse_since(value: str) -> datetime:
    """``30m``, ``2h``, ``7d`` ago, or an ISO 8601 time (UTC when no zone is given)."""
    match = _RELATIVE.match(value.strip())
    if match:
        amount, unit = match.groups()
        return datetime.now(UTC) - timedelta(**{_UNITS[unit]: int(amount)})
    try:
        parsed = datetime.fromisoformat(value)
    except ValueError:
        raise UsageError(
            f"--since takes a duration like 30m, 2h, 7d or an ISO time, not '{value}'"
        ) from None
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)


def _row(entry: dict[str, Any]) -> list[Any]:
    resource = entry.get("resource_type") or ""
    if entry.get("resource_id"):
        resource += f" {entry['resource_id']}"
    return [
        str(entry["at"])[:19].replace("T", " "),
        entry["actor"],
        entry["action"],
        entry["outcome"],
        entry.get("connector_name") or "",
        resource.strip(),
        entry.get("target") or "",
        entry.get("client_ip") or "",
    ]


@click.group()
def audit() -> None:
    """Read the audit log of the connected keybroker server."""


@audit.command("list")
@click.option("--user", help="Only what this user or service account did.")
@click.option("--connector", help="Only entries about this connector (name or id).")
@click.option("--action", help="Only this action, e.g. auth.sign_in or user.update.")
@click.option("--since", help="Only entries since 30m, 2h, 7d ago or an ISO time.")
@click.option("--limit", type=click.IntRange(1, 10000), default=50, show_default=True)
@output_option
def list_entries(
    user: str | None,
    connector: str | None,
    action: str | None,
    since: str | None,
    limit: int,
    output: str,
) -> None:
    """List audit entries, newest first. Admins see everyone's; users their own."""
    params: dict[str, Any] = {
        "user": user,
        "connector": connector,
        "action": action,
        "since": parse_since(since).isoformat() if since else None,
        "limit": min(limit, 200),
    }
    with server_client() as client:
        entries = list(client.pages("/api/v1/audit", params, limit=limit))
    if output != "table":
        emit_data(entries, output)
    elif not entries:
        click.echo("No audit entries match.")
    else:
        click.echo(table([_row(e) for e in entries], AUDIT_COLUMNS))
