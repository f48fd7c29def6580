"""Verification of one connector, and list-resources fanned out over many.

A verification counts only when the plugin's ``verify`` hook exists and
answers with the ids it reached; a single-instance check must name the
resource it was asked about. Anything else is a plugin error, never a pass.
"""

from __future__ import annotations

from collections.abc import Callable

from keybroker import redaction
from keybroker.connector import Connector, ResourceEntry, ResourceReport
from keybroker.errors import KeybrokerError, PluginError
from keybroker.fanout import run_concurrently
from keybroker.service.plugin_calls import PluginCalls, require_str_list
from keybroker.types import AuthConfig, ConnectorType


class Verifier:
    """Checks connectors' credentials through their plugins."""

    def __init__(self, calls: PluginCalls) -> None:
        self.calls = calls

    def check(
        self,
        connector: Connector,
        declaration: ConnectorType,
        config: AuthConfig,
        resource_type: str | None,
        resource_id: str | None,
    ) -> ResourceReport:
        """Verify ``connector`` for the given (already narrowed) scope; raise on failure."""
        connector_type = declaration.connector_type
        hooks = self.calls.required_hooks(connector_type, "verify", "verify connectors")
        result = self.calls.timed(
            connector,
            lambda: hooks.verify(
                connector=connector,
                config=config,
                resource_type=resource_type,
                resource_id=resource_id,
            ),
        )
        ids = require_str_list(connector_type, "verify", result)
        if resource_type is not None and resource_id is not None and resource_id not in ids:
            raise PluginError(
                f"connector type '{connector_type}': its 'verify' hook did not confirm access "
                f"to {resource_type} '{resource_id}'; ask its authors to fix the plugin"
            )
        if resource_type is None:
            entries = [
                ResourceEntry(resource_type=r.resource_type)
                for r in declaration.resource_types_for(connector.auth_method)
            ]
        else:
            entries = [ResourceEntry(resource_type=resource_type, resource_ids=ids)]
        return ResourceReport(
            connector_id=connector.id,
            connector_name=connector.name,
            connector_type=connector.connector_type,
            resources=entries,
        )

    def check_every_type(
        self, connector: Connector, declaration: ConnectorType, config: AuthConfig
    ) -> ResourceReport:
        """List a multi-type connector's resources of every type it reaches.

        A type that fails is reported with its error; the connector fails only
        when every type does.
        """
        entries: list[ResourceEntry] = []
        first_error: KeybrokerError | None = None
        for rtype in declaration.resource_types_for(connector.auth_method):
            try:
                report = self.check(connector, declaration, config, rtype.resource_type, None)
            except KeybrokerError as exc:
                first_error = first_error or exc
                entries.append(ResourceEntry(resource_type=rtype.resource_type, error=str(exc)))
            else:
                entries.extend(report.resources)
        if first_error is not None and all(e.error for e in entries):
            raise first_error
        return ResourceReport(
            connector_id=connector.id,
            connector_name=connector.name,
            connector_type=connector.connector_type,
            resources=entries,
        )

    @staticmethod
    def adopt_single_name(
        connector: Connector, declaration: ConnectorType, report: ResourceReport
    ) -> Connector:
        """For a resource type without instances, remember the one name verification found."""
        if connector.resource_type is None or connector.resource_id is not None:
            return connector
        rtype = declaration.resource_type(connector.resource_type)
        ids = report.resources[0].resource_ids if report.resources else None
        if rtype is not None and not rtype.supports_instances and ids and len(ids) == 1:
            return connector.model_copy(update={"resource_id": ids[0]})
        return connector


def failed_report(connector: Connector, resource_type: str | None, error: str) -> ResourceReport:
    """The report of a connector that could not be checked."""
    return ResourceReport(
        connector_id=connector.id,
        connector_name=connector.name,
        connector_type=connector.connector_type,
        resources=[
            ResourceEntry(
                resource_type=resource_type or connector.resource_type or "*", error=error
            )
        ],
        error=error,
    )


def fan_out(
    jobs: list[tuple[Connector, Callable[[], ResourceReport]]],
    resource_type: str | None,
    timeout: float,
) -> list[ResourceReport]:
    """Run one check per connector concurrently; a failure or timeout becomes its report."""
    outcomes = run_concurrently([job for _, job in jobs], timeout)
    reports = []
    for (connector, _), outcome in zip(jobs, outcomes, strict=True):
        if outcome.value is not None:
            reports.append(outcome.value)
            continue
        if outcome.timed_out:
            error = f"connector '{connector.name}' did not answer within {timeout:g} s"
        else:
            error = redaction.scrub(str(outcome.error) or type(outcome.error).__name__)
        reports.append(failed_report(connector, resource_type, error))
    return reports
