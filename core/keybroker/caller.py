"""Who is asking: the principal on whose behalf connector operations run.

Locally that is the operating-system user, who owns the whole embedded store.
A team server builds one per request from the signed-in user or service
account; the operations record it as the owner of what it registers, as the
actor of audit events, and decide from it what it may see and do
(:meth:`Caller.may_see`, :meth:`Caller.may_manage`, :meth:`Caller.owns`).
"""

from __future__ import annotations

import getpass
from enum import StrEnum
from typing import TYPE_CHECKING

from pydantic import BaseModel, ConfigDict, Field

if TYPE_CHECKING:
    from keybroker.connector import Connector


class CallerKind(StrEnum):
    """What kind of principal calls."""

    #: the operating-system user of an embedded store: owner of everything in it
    LOCAL = "local"
    #: a person signed in to a team server
    USER = "user"
    #: a machine signed in to a team server with an API key (never an admin)
    SERVICE_ACCOUNT = "service_account"


class Caller(BaseModel):
    """The principal an operation runs for, and what it may do with connectors.

    A connector belongs to the caller that registered it and is private unless
    shared. Everyone sees and uses their own and shared connectors; admins see,
    use, change and delete every connector; only the owner reads its secrets
    (admins included). The local caller owns everything in its store.
    """

    model_config = ConfigDict(frozen=True)

    name: str = Field(description="user name, recorded as owner and audit actor")
    admin: bool = Field(default=False, description="may manage every user's connectors")
    kind: CallerKind = Field(default=CallerKind.USER, description="local, user or service_account")

    @classmethod
    def local(cls) -> Caller:
        """The operating-system user of this process, administrator of its own store."""
        try:
            name = getpass.getuser()
        except Exception:  # no user name in the environment or the password database
            name = "default"
        return cls(name=name or "default", admin=True, kind=CallerKind.LOCAL)

    @property
    def is_admin(self) -> bool:
        """Whether the caller manages every connector (a service account never does)."""
        return self.admin and self.kind is not CallerKind.SERVICE_ACCOUNT

    @property
    def visible_to(self) -> str | None:
        """The owner name a store filters on (own and shared connectors); None: every one."""
        return None if self.is_admin else self.name

    def owns(self, connector: Connector) -> bool:
        """Whether ``connector`` is the caller's own (the local caller owns its whole store)."""
        return self.kind is CallerKind.LOCAL or connector.owner == self.name

    def may_see(self, connector: Connector) -> bool:
        """Whether the caller may see and use ``connector`` (never read its secrets)."""
        return self.is_admin or connector.shared or self.owns(connector)

    def may_manage(self, connector: Connector) -> bool:
        """Whether the caller may change or delete ``connector``."""
        return self.is_admin or self.owns(connector)
