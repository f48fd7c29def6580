"""Rendering of results as tables (tabulate) or as JSON/YAML for scripts."""

from __future__ import annotations

import json
import textwrap
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any

import click

if TYPE_CHECKING:
    from keybroker.connector import Connector, ResourceReport
    from keybroker.service import ConnectorService
    from keybroker.types import AuthMethod, ConnectorType, ResourceType, TypeAvailability

HIDDEN = "[HIDDEN]"
YES, NO = "✅", "\u2796"  # check mark, heavy minus
OUTPUT_FORMATS = ("table", "json", "yaml")


def output_option(function: Any) -> Any:
    """The ``-o/--output`` option every listing and describe takes."""
    return click.option(
        "-o",
        "--output",
        type=click.Choice(OUTPUT_FORMATS),
        default="table",
        show_default=True,
        help="Output format: a table for people, json or yaml for scripts.",
    )(function)


def emit_data(data: Any, output: str) -> None:
    """Print ``data`` as JSON or YAML."""
    if output == "json":
        click.echo(json.dumps(data, indent=2, default=str, ensure_ascii=False))
    else:
        import yaml

        click.echo(yaml.safe_dump(data, sort_keys=False, allow_unicode=True).rstrip())


def table(rows: list[list[Any]], headers: list[str]) -> str:
    """A grid table with multi-line cells."""
    from tabulate import tabulate

    return tabulate(rows, headers=headers, tablefmt="simple_grid")


def wrap(text: str) -> str:
    """Reflow paragraphs (separated by blank lines) to the terminal width, at most 100."""
    import shutil

    width = min(100, shutil.get_terminal_size((100, 24)).columns)
    paragraphs = [p for p in text.strip().split("\n\n") if p.strip()]
    return "\n\n".join(textwrap.fill(" ".join(p.split()), width) for p in paragraphs)


def _iso(value: datetime | None) -> str | None:
    return value.isoformat() if value else None


def humanize(delta: timedelta | None) -> str:
    """``1h5m`` style durations; 'expired' for negative ones; '' for none."""
    if delta is None:
        return ""
    seconds = int(delta.total_seconds())
    if seconds <= 0:
        return "expired"
    days, rest = divmod(seconds, 86400)
    hours, rest = divmod(rest, 3600)
    minutes, secs = divmod(rest, 60)
    parts = [
        f"{days}d" if days else "",
        f"{hours}h" if hours else "",
        f"{minutes}m" if minutes else "",
    ]
    text = "".join(parts[:2]) if days else "".join(parts[1:])
    return text or f"{secs}s"


# -- connector types ---------------------------------------------------------------


def type_label(declaration: ConnectorType | None, connector_type: str) -> str:
    """``emoji type`` as the tables show it."""
    emoji = declaration.emoji if declaration else ""
    return f"{emoji} {connector_type}".strip()


def resource_type_label(resource_type: ResourceType) -> str:
    """``emoji resource-type``."""
    return f"{resource_type.emoji} {resource_type.resource_type}".strip()


def type_row(item: TypeAvailability) -> list[Any]:
    """One row of the connector types table."""
    d = item.declaration
    if d is None:
        return [
            "(unavailable)",
            item.connector_type,
            "",
            "",
            f"{NO} {item.local_problem}",
            NO,
        ]
    local = YES if item.local else f"{NO} {item.local_problem or ''}".strip()
    return [
        d.name,
        type_label(d, d.connector_type),
        "\n".join(resource_type_label(r) for r in d.resource_types),
        "\n".join(m.auth_method for m in d.auth_methods),
        local,
        YES if item.remote else NO,
    ]


TYPE_HEADERS = ["NAME", "TYPE", "RESOURCE TYPES", "AUTH METHODS", "LOCAL", "REMOTE"]


def auth_method_data(method: AuthMethod) -> dict[str, Any]:
    """An auth method as plain data."""
    return {
        "auth_method": method.auth_method,
        "name": method.name,
        "description": method.description,
        "issues_temporary_credentials": method.issues_temporary_credentials,
        "default_expiration_seconds": method.default_expiration_seconds,
        "min_expiration_seconds": method.min_expiration_seconds,
        "max_expiration_seconds": method.max_expiration_seconds,
        "attributes": [
            {
                "name": a.name,
                "title": a.title,
                "type": a.type_name,
                "required": a.required,
                "secret": a.secret,
                "default": a.default,
                "description": a.description,
            }
            for a in method.attributes()
        ],
    }


def resource_type_data(resource_type: ResourceType) -> dict[str, Any]:
    """A resource type as plain data."""
    return {
        "resource_type": resource_type.resource_type,
        "name": resource_type.name,
        "emoji": resource_type.emoji,
        "description": resource_type.description,
        "supports_instances": resource_type.supports_instances,
        "auth_methods": resource_type.auth_methods or None,
        "resource_id_formats": [
            {"label": f.label, "pattern": f.pattern, "canonical": f.canonical}
            for f in resource_type.resource_id_formats
        ],
    }


def type_data(item: TypeAvailability) -> dict[str, Any]:
    """A connector type and its availability as plain data."""
    d = item.declaration
    data: dict[str, Any] = {
        "connector_type": item.connector_type,
        "local": item.local,
        "remote": item.remote,
        "local_problem": item.local_problem,
    }
    if d is not None:
        data.update(
            name=d.name,
            emoji=d.emoji,
            description=d.description,
            supports_auto_configuration=d.supports_auto_configuration,
            install_hint=d.install_hint or None,
            auth_methods=[auth_method_data(m) for m in d.auth_methods],
            resource_types=[resource_type_data(r) for r in d.resource_types],
        )
    return data


def _seconds(value: int | None) -> str:
    return "-" if value is None else f"{value} s ({humanize(timedelta(seconds=value))})"


def describe_auth_method(declaration: ConnectorType, method: AuthMethod) -> str:
    """The documentation of one auth method, with its attribute table."""
    lines = [
        f"{method.name} ('{method.auth_method}' auth method of the {declaration.connector_type} "
        "connector type)",
        "",
        wrap(method.description),
        "",
    ]
    if method.issues_temporary_credentials:
        lines += [
            wrap(
                "Issues temporary credentials. Expiration: "
                f"default {_seconds(method.default_expiration_seconds)}, "
                f"min {_seconds(method.min_expiration_seconds)}, "
                f"max {_seconds(method.max_expiration_seconds)} "
                "(set with --expiration-seconds)."
            ),
            "",
        ]
    else:
        lines += ["Credentials are handed out as they are; they do not expire by themselves.", ""]
    rows = [
        [
            a.name,
            a.type_name,
            "yes" if a.required else "",
            "yes" if a.secret else "",
            textwrap.fill(a.description or a.title, 48),
        ]
        for a in method.attributes()
    ]
    lines.append(table(rows, ["ATTRIBUTE", "TYPE", "REQUIRED", "SECRET", "DESCRIPTION"]))
    return "\n".join(lines)


def describe_resource_type(declaration: ConnectorType, resource_type: ResourceType) -> str:
    """The documentation of one resource type, with its accepted id formats."""
    methods = resource_type.auth_methods or [m.auth_method for m in declaration.auth_methods]
    lines = [
        f"{resource_type_label(resource_type)}: {resource_type.name} "
        f"(resource type of the {declaration.connector_type} connector type)",
        "",
        wrap(resource_type.description),
        "",
        f"Auth methods: {', '.join(methods)}",
        "Instances: "
        + (
            "a connector may reach many; scope it to one with --resource-id"
            if resource_type.supports_instances
            else "one per connector, named from its configuration and credentials"
        ),
    ]
    if resource_type.resource_id_formats:
        rows = [
            [f.label, f.pattern, "canonical" if f.canonical else ""]
            for f in resource_type.resource_id_formats
        ]
        lines += ["", table(rows, ["RESOURCE ID FORMAT", "PATTERN", ""])]
    return "\n".join(lines)


def describe_type(item: TypeAvailability) -> str:
    """The documentation of a connector type: description, resource types, auth methods."""
    d = item.declaration
    assert d is not None
    lines = [f"{type_label(d, d.connector_type)}: {d.name}", "", wrap(d.description), ""]
    lines.append(
        table(
            [
                [resource_type_label(r), r.name, YES if r.supports_instances else NO]
                for r in d.resource_types
            ],
            ["RESOURCE TYPE", "NAME", "INSTANCES"],
        )
    )
    lines.append("")
    lines.append(
        table(
            [
                [m.auth_method, m.name, YES if m.issues_temporary_credentials else NO]
                for m in d.auth_methods
            ],
            ["AUTH METHOD", "NAME", "TEMPORARY CREDENTIALS"],
        )
    )
    availability = "available locally" if item.local else f"not usable here: {item.local_problem}"
    lines += [
        "",
        f"Auto-configuration: {'yes' if d.supports_auto_configuration else 'no'}; {availability}.",
        f"More: keybroker connector describe-type {d.connector_type} -a AUTH_METHOD | "
        "-r RESOURCE_TYPE",
    ]
    return "\n".join(lines)


# -- connectors --------------------------------------------------------------------


def connector_resource_types(service: ConnectorService, connector: Connector) -> list[str]:
    """The resource types a connector reaches, with emoji when its plugin loads."""
    try:
        declaration = service.registry.declaration(connector.connector_type)
    except Exception:
        return [connector.resource_type or "?"]
    if connector.resource_type:
        found = declaration.resource_type(connector.resource_type)
        return [resource_type_label(found) if found else connector.resource_type]
    return [resource_type_label(r) for r in declaration.resource_types_for(connector.auth_method)]


def _type_emoji(service: ConnectorService, connector_type: str) -> str:
    try:
        return type_label(service.registry.declaration(connector_type), connector_type)
    except Exception:
        return connector_type


def connector_row(service: ConnectorService, connector: Connector) -> list[Any]:
    """One row of the connectors table."""
    return [
        "",
        connector.name,
        str(connector.id),
        _type_emoji(service, connector.connector_type),
        "\n".join(connector_resource_types(service, connector)),
        connector.resource_id or "<multiple>",
        YES if connector.shared else NO,
        connector.owner,
        humanize(service.expires_in(connector)),
        "\n".join(f"{k}:{v}" for k, v in sorted(connector.labels.items())),
    ]


CONNECTOR_HEADERS = [
    "ACTIVE",
    "NAME",
    "ID",
    "TYPE",
    "RESOURCE TYPES",
    "RESOURCE NAME",
    "SHARED",
    "OWNER",
    "EXPIRES IN",
    "LABELS",
]


def connector_data(
    service: ConnectorService, connector: Connector, show_secrets: bool = False
) -> dict[str, Any]:
    """A connector as plain data; secret values only with ``show_secrets``."""
    secrets: dict[str, str] = {
        name: HIDDEN for name in connector.secret_names or sorted(connector.secrets)
    }
    if show_secrets:
        secrets.update({k: v.get_secret_value() for k, v in connector.secrets.items()})
    return {
        "id": str(connector.id),
        "name": connector.name,
        "connector_type": connector.connector_type,
        "auth_method": connector.auth_method,
        "resource_types": [r.split(" ")[-1] for r in connector_resource_types(service, connector)],
        "resource_type": connector.resource_type,
        "resource_id": connector.resource_id,
        "configuration": dict(connector.configuration),
        "secrets": secrets,
        "labels": dict(connector.labels),
        "description": connector.description,
        "owner": connector.owner,
        "shared": connector.shared,
        "expiration_seconds": connector.expiration_seconds,
        "expires_at": _iso(connector.expires_at),
        "created": _iso(connector.created),
        "updated": _iso(connector.updated),
    }


def describe_connector(
    service: ConnectorService, connector: Connector, show_secrets: bool = False
) -> str:
    """A connector's properties and configuration as two tables."""
    data = connector_data(service, connector, show_secrets)
    properties = [
        ["ID", data["id"]],
        ["NAME", data["name"]],
        ["TYPE", _type_emoji(service, connector.connector_type)],
        ["AUTH METHOD", data["auth_method"]],
        ["RESOURCE TYPES", "\n".join(connector_resource_types(service, connector))],
        ["RESOURCE NAME", data["resource_id"] or "<multiple>"],
        ["DESCRIPTION", data["description"]],
        ["EXPIRES IN", humanize(service.expires_in(connector)) or "N/A"],
        ["EXPIRATION SECONDS", data["expiration_seconds"] or "N/A"],
        ["OWNER", data["owner"]],
        ["SHARED", YES if connector.shared else NO],
        ["CREATED", data["created"]],
        ["UPDATED", data["updated"]],
        ["LABELS", "\n".join(f"{k}:{v}" for k, v in sorted(connector.labels.items()))],
    ]
    config_rows = [[k, _plain(v)] for k, v in sorted(data["configuration"].items())]
    config_rows += [[k, v] for k, v in sorted(data["secrets"].items())]
    return "\n".join(
        [
            f"Connector '{connector.name}' of type {connector.connector_type}",
            table(properties, ["PROPERTY", "VALUE"]),
            "Configuration",
            table(config_rows, ["ATTRIBUTE", "VALUE"]),
        ]
    )


def _plain(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, str):
        return value if len(value) < 200 else value[:60] + "...(" + str(len(value)) + " chars)"
    return json.dumps(value)


# -- resources ---------------------------------------------------------------------


def report_data(report: ResourceReport) -> dict[str, Any]:
    """A resource report as plain data."""
    return {
        "connector_id": str(report.connector_id),
        "connector_name": report.connector_name,
        "connector_type": report.connector_type,
        "error": report.error,
        "resources": [
            {"resource_type": r.resource_type, "resource_ids": r.resource_ids, "error": r.error}
            for r in report.resources
        ],
    }


def _names(entry: Any) -> str:
    if entry.error:
        return f"error: {entry.error}"
    if entry.resource_ids is None:
        return "<multiple>"
    return "\n".join(entry.resource_ids) if entry.resource_ids else "(none)"


def resource_rows(reports: list[ResourceReport]) -> list[list[Any]]:
    """Rows of the resources table: one per connector and resource type."""
    rows = []
    for report in reports:
        entries = report.resources or []
        for index, entry in enumerate(entries):
            first = index == 0
            rows.append(
                [
                    str(report.connector_id) if first else "",
                    report.connector_name if first else "",
                    report.connector_type if first else "",
                    entry.resource_type,
                    _names(entry),
                ]
            )
        if not entries:
            rows.append(
                [
                    str(report.connector_id),
                    report.connector_name,
                    report.connector_type,
                    "",
                    f"error: {report.error}" if report.error else "(none)",
                ]
            )
    return rows


RESOURCE_HEADERS = [
    "CONNECTOR ID",
    "CONNECTOR NAME",
    "CONNECTOR TYPE",
    "RESOURCE TYPE",
    "RESOURCE NAMES",
]
