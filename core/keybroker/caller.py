"""Who is asking: the principal on whose behalf connector operations run.

Locally that is the operating-system user, who owns the whole embedded store.
A team server builds one per request from the signed-in user; the operations
record it as the owner of what it registers and as the actor of audit events.
"""

from __future__ import annotations

import getpass

from pydantic import BaseModel, ConfigDict, Field


class Caller(BaseModel):
    """The user an operation runs for."""

    model_config = ConfigDict(frozen=True)

    name: str = Field(description="user name, recorded as owner and audit actor")
    admin: bool = Field(default=False, description="may manage every user's connectors")

    @classmethod
    def local(cls) -> Caller:
        """The operating-system user of this process, administrator of its own store."""
        try:
            name = getpass.getuser()
        except Exception:  # no user name in the environment or the password database
            name = "default"
        return cls(name=name or "default", admin=True)
