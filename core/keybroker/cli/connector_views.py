"""How connectors, connector clients and resource reports are shown to people: tables.

Scripts get the models of :mod:`keybroker.views` instead (``-o json|yaml``).
"""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Any

from keybroker.cli.render import (
    HIDDEN,
    NO,
    YES,
    expires_in,
    humanize,
    line,
    table,
    timestamp,
)
from keybroker.cli.type_views import resource_type_label, type_label

if TYPE_CHECKING:
    from keybroker.connector import Connector, ResourceEntry, ResourceReport
    from keybroker.operations import IssuedClient
    from keybroker.service import ConnectorService
    from keybroker.views import ConnectorTypeView

# The reference product's connector list starts with an ACTIVE column that marks the
# connectors its active stack uses; keybroker has no stacks, so the column is left out.
CONNECTOR_HEADERS = [
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
RESOURCE_HEADERS = [
    "CONNECTOR ID",
    "CONNECTOR NAME",
    "CONNECTOR TYPE",
    "RESOURCE TYPE",
    "RESOURCE NAMES",
]
MULTIPLE = "<multiple>"
NOT_LISTED = "(not listed)"


class Labels:
    """Emoji labels of connector and resource types, from the types' descriptions."""

    def __init__(self, service: ConnectorService) -> None:
        self._service = service
        self._declarations: dict[str, ConnectorTypeView | None] = {}

    def declaration(self, connector_type: str) -> ConnectorTypeView | None:
        """The description of ``connector_type``, or None when the backend has none."""
        if connector_type not in self._declarations:
            self._declarations[connector_type] = self._service.type_view(connector_type)
        return self._declarations[connector_type]

    def connector_type(self, connector_type: str) -> str:
        """``emoji type``."""
        return type_label(self.declaration(connector_type), connector_type)

    def resource_type(self, connector_type: str, resource_type: str) -> str:
        """``emoji resource-type``, the emoji from the declaring type (or from any type)."""
        for name in (connector_type, *self._declarations):
            declaration = self.declaration(name)
            found = declaration.resource_type(resource_type) if declaration else None
            if found is not None:
                return resource_type_label(found)
        return resource_type

    def reachable(self, connector: Connector) -> list[str]:
        """The resource types a connector reaches, labelled; '?' when its plugin fails."""
        declaration = self.declaration(connector.connector_type)
        if connector.resource_type:
            return [self.resource_type(connector.connector_type, connector.resource_type)]
        if declaration is None:
            return ["?"]
        return [
            resource_type_label(r) for r in declaration.resource_types_for(connector.auth_method)
        ]


def _labels_cell(labels: dict[str, str]) -> str:
    return "\n".join(f"{k}:{v}" for k, v in sorted(labels.items()))


def connector_row(service: ConnectorService, connector: Connector, labels: Labels) -> list[Any]:
    """One row of the connectors table; a connector its store cannot read shows why."""
    reaches = (
        f"error: {connector.error}" if connector.error else "\n".join(labels.reachable(connector))
    )
    return [
        connector.name,
        str(connector.id),
        labels.connector_type(connector.connector_type),
        reaches,
        connector.resource_id or MULTIPLE,
        YES if connector.shared else NO,
        connector.owner,
        expires_in(service.expires_in(connector)),
        _labels_cell(connector.labels),
    ]


def connector_table(service: ConnectorService, connectors: list[Connector]) -> str:
    """The ``list`` table."""
    labels = Labels(service)
    return table([connector_row(service, c, labels) for c in connectors], CONNECTOR_HEADERS)


def _secrets(connector: Connector, show_secrets: bool) -> dict[str, str]:
    secrets = {name: HIDDEN for name in connector.secret_names or sorted(connector.secrets)}
    if show_secrets:
        secrets.update({k: v.get_secret_value() for k, v in connector.secrets.items()})
    return secrets


def _configuration_table(connector: Connector, show_secrets: bool) -> str:
    rows = [[k, _plain(v)] for k, v in sorted(connector.configuration.items())]
    rows += [[k, v] for k, v in sorted(_secrets(connector, show_secrets).items())]
    if not rows:
        return "(no attributes)"
    return table(rows, ["ATTRIBUTE", "VALUE"])


def describe_connector(
    service: ConnectorService, connector: Connector, show_secrets: bool = False
) -> str:
    """A connector's properties and configuration as two tables."""
    labels = Labels(service)
    expiration = connector.expiration_seconds
    properties = [["ERROR", connector.error]] if connector.error else []
    properties += [
        ["ID", str(connector.id)],
        ["NAME", connector.name],
        ["TYPE", labels.connector_type(connector.connector_type)],
        ["AUTH METHOD", connector.auth_method],
        ["RESOURCE TYPES", "\n".join(labels.reachable(connector))],
        ["RESOURCE NAME", connector.resource_id or MULTIPLE],
        ["DESCRIPTION", connector.description],
        ["EXPIRES IN", expires_in(service.expires_in(connector))],
        [
            "EXPIRATION SECONDS",
            f"{expiration} ({humanize_seconds(expiration)})" if expiration else "N/A",
        ],
        ["OWNER", connector.owner],
        ["SHARED", YES if connector.shared else NO],
        ["CREATED", timestamp(connector.created)],
        ["UPDATED", timestamp(connector.updated)],
        ["LABELS", _labels_cell(connector.labels)],
    ]
    return "\n".join(
        [
            line(f"Connector '{connector.name}' of type {connector.connector_type}"),
            table(properties, ["PROPERTY", "VALUE"]),
            "Configuration",
            _configuration_table(connector, show_secrets),
        ]
    )


def humanize_seconds(seconds: int) -> str:
    """``3600`` as ``1h``."""
    from datetime import timedelta

    return humanize(timedelta(seconds=seconds))


def describe_client(
    service: ConnectorService, issued: IssuedClient, show_secrets: bool = False
) -> str:
    """A connector client: the short-lived credentials a connector issues for one resource."""
    labels = Labels(service)
    client = issued.client
    resource = labels.resource_type(client.connector_type, client.resource_type or "")
    target = f"{resource} '{client.resource_id}'" if client.resource_id else resource
    if client.expires_at is None:
        expiry = "does not expire"
    else:
        expiry = f"{timestamp(client.expires_at)} (in {humanize(service.expires_in(client))})"
    properties = [
        ["CONNECTOR", f"{issued.connector_name} ({issued.connector_id})"],
        ["CLIENT TYPE", labels.connector_type(client.connector_type)],
        ["AUTH METHOD", client.auth_method],
        ["RESOURCE TYPE", resource],
        ["RESOURCE NAME", client.resource_id or ""],
        ["EXPIRES", expiry],
    ]
    return "\n".join(
        [
            line(f"Connector client of '{issued.connector_name}' for {target}"),
            table(properties, ["PROPERTY", "VALUE"]),
            "Configuration",
            _configuration_table(client, show_secrets),
            "Issued on demand for this resource and never stored; "
            "-x shows its credentials in clear.",
        ]
    )


def _plain(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, str):
        return value if len(value) < 200 else value[:60] + "...(" + str(len(value)) + " chars)"
    return json.dumps(value, ensure_ascii=False)


# -- resources ---------------------------------------------------------------------


def resource_names(entry: ResourceEntry) -> str:
    """The RESOURCE NAMES cell: the ids, '(not listed)', '(none)' or the error."""
    if entry.error:
        return f"error: {entry.error}"
    if entry.resource_ids is None:
        return NOT_LISTED
    return "\n".join(entry.resource_ids) if entry.resource_ids else "(none)"


def report_table(service: ConnectorService, report: ResourceReport) -> str:
    """What verify and register found: one row per resource type."""
    labels = Labels(service)
    rows = [
        [labels.resource_type(report.connector_type, r.resource_type), resource_names(r)]
        for r in report.resources
    ]
    text = table(rows, ["RESOURCE TYPE", "RESOURCE NAMES"])
    if any(r.resource_ids is None and not r.error for r in report.resources):
        text += (
            "\nA multi-type connector's resources are not listed: add --resource-type to "
            "list those of one type."
        )
    return text


def resource_rows(service: ConnectorService, reports: list[ResourceReport]) -> list[list[Any]]:
    """Rows of the resources table: one per connector and resource type."""
    labels = Labels(service)
    rows = []
    for report in reports:
        entries = report.resources or []
        kind = labels.connector_type(report.connector_type)
        for index, entry in enumerate(entries):
            first = index == 0
            rows.append(
                [
                    str(report.connector_id) if first else "",
                    report.connector_name if first else "",
                    kind if first else "",
                    labels.resource_type(report.connector_type, entry.resource_type),
                    resource_names(entry),
                ]
            )
        if not entries:
            rows.append(
                [
                    str(report.connector_id),
                    report.connector_name,
                    kind,
                    "",
                    f"error: {report.error}" if report.error else "(none)",
                ]
            )
    return rows
