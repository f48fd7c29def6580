"""Who is calling: the principal an authenticated request acts as."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum

from keybroker.server.tokens import CredentialKind


class AccountKind(StrEnum):
    """A person or a machine."""

    USER = "user"
    SERVICE_ACCOUNT = "service_account"


@dataclass(frozen=True)
class Principal:
    """The account behind a request and the credential it presented.

    Built from the database on every request, so a deactivated account, a revoked
    session or a locked device is refused on the very next request, on every replica.
    """

    user_id: str
    name: str
    kind: AccountKind
    is_admin: bool
    credential_id: str
    credential_kind: CredentialKind
    expires_at: datetime | None
    device_id: str | None = None  # the authorized device, for a device token

    @property
    def is_service_account(self) -> bool:
        """Whether a machine (service account) is calling."""
        return self.kind is AccountKind.SERVICE_ACCOUNT
