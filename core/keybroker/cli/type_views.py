"""How connector types, auth methods and resource types are shown to people.

They are shown from their descriptions (:mod:`keybroker.views`), which a team
server can send as well, so a type installed only there is shown the same way.
Scripts get those descriptions as they are (``-o json|yaml``).
"""

from __future__ import annotations

from datetime import timedelta
from typing import TYPE_CHECKING, Any

from keybroker.cli.render import NO, YES, humanize, line, table, wrap

if TYPE_CHECKING:
    from keybroker.views import AuthMethodView, ConnectorTypeView, ResourceTypeView

TYPE_HEADERS = ["NAME", "TYPE", "RESOURCE TYPES", "AUTH METHODS", "LOCAL", "REMOTE"]

LIST_SYNTAX = (
    "List attributes ({names}) take several values: repeat the attribute "
    '({example}=A {example}=B) or give a JSON list ({example}=\'["A", "B"]\'); '
    "a single value is a list of one."
)
FILE_SYNTAX = (
    "A value @PATH is read from that file (UTF-8 text, at most 64 KiB, one trailing "
    "newline removed); write @@ for a value that starts with a literal @."
)


def type_label(declaration: ConnectorTypeView | None, connector_type: str) -> str:
    """``emoji type`` as the tables show it."""
    emoji = declaration.emoji if declaration else ""
    return f"{emoji} {connector_type}".strip()


def resource_type_label(resource_type: ResourceTypeView) -> str:
    """``emoji resource-type``."""
    return f"{resource_type.emoji} {resource_type.resource_type}".strip()


def type_row(item: ConnectorTypeView) -> list[Any]:
    """One row of the connector types table."""
    d = item if item.loaded else None
    if d is None:
        return ["(unavailable)", item.connector_type, "", "", f"{NO} {item.local_problem}", NO]
    local = YES if item.local else f"{NO} {item.local_problem or ''}".strip()
    return [
        d.name or "",
        type_label(d, d.connector_type),
        "\n".join(resource_type_label(r) for r in d.resource_types),
        "\n".join(m.auth_method for m in d.auth_methods),
        local,
        YES if item.remote else NO,
    ]


def _seconds(value: int | None) -> str:
    return "-" if value is None else f"{value} s ({humanize(timedelta(seconds=value))})"


def describe_auth_method(declaration: ConnectorTypeView, method: AuthMethodView) -> str:
    """The documentation of one auth method, with its attribute table."""
    lines = [
        line(
            f"{method.name} ('{method.auth_method}' auth method of the "
            f"{declaration.connector_type} connector type)"
        ),
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
    attributes = method.attributes
    rows = [
        [
            a.name,
            a.type,
            YES if a.required else "",
            YES if a.secret else "",
            a.description or a.title,
        ]
        for a in attributes
    ]
    lines.append(table(rows, ["ATTRIBUTE", "TYPE", "REQUIRED", "SECRET", "DESCRIPTION"]))
    lists = [a.name for a in attributes if a.type == "list"]
    notes = [
        "Give attributes as NAME=VALUE or --NAME=VALUE after 'keybroker connector register'.",
        FILE_SYNTAX,
    ]
    if lists:
        notes.append(LIST_SYNTAX.format(names=", ".join(lists), example=lists[0]))
    for note in notes:
        lines += ["", wrap(note)]
    return "\n".join(lines)


def describe_resource_type(declaration: ConnectorTypeView, resource_type: ResourceTypeView) -> str:
    """The documentation of one resource type, with its accepted id formats."""
    methods = resource_type.auth_methods or [m.auth_method for m in declaration.auth_methods]
    lines = [
        line(
            f"{resource_type_label(resource_type)}: {resource_type.name} "
            f"(resource type of the {declaration.connector_type} connector type)"
        ),
        "",
        wrap(resource_type.description),
        "",
        line(f"Auth methods: {', '.join(methods)}"),
        "Instances: "
        + (
            "a connector may reach many; scope it to one with --resource-id"
            if resource_type.supports_instances
            else "one per connector, named from its configuration and credentials"
        ),
    ]
    if resource_type.resource_id_formats:
        rows = [
            [f.label, f.pattern, YES if f.canonical else ""]
            for f in resource_type.resource_id_formats
        ]
        lines += ["", table(rows, ["RESOURCE ID FORMAT", "PATTERN", "CANONICAL"])]
        lines.append("Any format is accepted; connectors store and show the canonical one.")
    return "\n".join(lines)


def describe_type(item: ConnectorTypeView) -> str:
    """The documentation of a connector type: description, resource types, auth methods."""
    d = item if item.loaded else None
    if d is None:
        return line(f"{item.connector_type}: not usable here: {item.local_problem}")
    lines = [line(f"{type_label(d, d.connector_type)}: {d.name}"), "", wrap(d.description), ""]
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
        line(
            f"Auto-configuration: {'yes' if d.supports_auto_configuration else 'no'}; "
            f"{availability}."
        ),
        line(
            f"More: keybroker connector describe-type {d.connector_type} -a AUTH_METHOD | "
            "-r RESOURCE_TYPE"
        ),
    ]
    return "\n".join(lines)
