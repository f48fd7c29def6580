"""State shared by the CLI's commands: flags and the (lazily created) service."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from keybroker.service import ConnectorService


@dataclass
class CliState:
    """What the root command hands to its subcommands.

    Tests may pass a ready ``service`` (e.g. on an in-memory store); otherwise
    the service is created on first use with settings from the environment.
    """

    debug: bool = False
    service: ConnectorService | None = None

    def get_service(self) -> ConnectorService:
        """The service, created on first use."""
        if self.service is None:
            from keybroker.service import ConnectorService

            self.service = ConnectorService()
        return self.service
