"""Values passed to the open hooks: local-tool logins and audit events."""

from __future__ import annotations

import uuid
from datetime import datetime

from pydantic import BaseModel, Field

from keybroker.connector import Connector, utcnow


class LocalLoginRequest(BaseModel):
    """Asks a tool plugin to configure a local tool for one resource."""

    source_id: uuid.UUID = Field(description="the registered connector the login was made with")
    source_name: str
    resource_type: str
    resource_id: str | None
    client: Connector = Field(description="connector client of the basic type, with secrets")
    refresh_env: dict[str, str] = Field(
        default_factory=dict,
        description="environment a credential helper needs to reach the same store",
    )


class AuditEvent(BaseModel):
    """Something that happened to a connector. Never carries secrets."""

    action: str = Field(
        description="register, update, delete, verify, show-secrets, issue (a connector client) "
        "or login (a connector client for a local tool)"
    )
    connector_id: uuid.UUID | None = Field(
        description="None for a refused request naming no connector the caller may see"
    )
    connector_name: str = Field(description="the connector, or the name or id as asked for")
    connector_type: str = ""
    resource_type: str | None = None
    resource_id: str | None = None
    actor: str = Field(default="default", description="the user who asked, not the owner")
    at: datetime = Field(default_factory=utcnow)
    outcome: str = Field(
        default="success", description="success, or denied when the caller was refused"
    )
    expires_at: datetime | None = Field(
        default=None, description="when what was issued (a connector client) expires"
    )
