"""The JSON shapes of the service-accounts and API-keys API."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from pydantic import BaseModel, Field, StrictBool, StrictInt

from keybroker.server.models import NAME_PATTERN, Strict

#: the longest an old key may stay valid after a rotation (30 days)
MAX_RETAIN_SECONDS = 30 * 24 * 3600


class ServiceAccountInfo(BaseModel):
    """A machine account; it signs in only with its API keys."""

    id: str
    name: str
    description: str
    active: bool = Field(description="a deactivated account's keys are all refused")
    owner: str | None = Field(description="the user who manages it; null once they are deleted")
    created: datetime
    updated: datetime


class ApiKeyInfo(BaseModel):
    """An API key as its owner sees it: never its value."""

    id: str
    name: str
    service_account: str
    description: str
    active: bool = Field(description="a deactivated key is refused")
    created: datetime
    updated: datetime
    rotated: datetime | None = Field(description="when its value was last replaced")
    last_used: datetime | None = Field(description="within a minute; null: never")
    retained_until: datetime | None = Field(
        description="until when the value before the last rotation still works; null: it does not"
    )


class ApiKeyIssued(BaseModel):
    """An API key and its value. The value is shown only in this answer."""

    api_key: ApiKeyInfo
    key: str = Field(description="the secret value (kbk_...); it cannot be retrieved later")


class ServiceAccountCreated(BaseModel):
    """A new service account with its first API key (whose value is shown only here)."""

    service_account: ServiceAccountInfo
    api_key: ApiKeyInfo
    key: str = Field(description="the secret value (kbk_...); it cannot be retrieved later")


class ServiceAccountCreate(Strict):
    """A new service account, owned by the user creating it, and its first API key."""

    name: str = Field(pattern=NAME_PATTERN, description="1 to 64 letters, digits, . _ @ -")
    description: str = Field(default="", max_length=1000)
    api_key_name: str = Field(default="default", pattern=NAME_PATTERN)


class ServiceAccountUpdate(Strict):
    """Changes to a service account; fields left out stay as they are."""

    active: StrictBool | None = None
    description: str | None = Field(default=None, max_length=1000)


class ApiKeyCreate(Strict):
    """A new API key of a service account."""

    name: str = Field(pattern=NAME_PATTERN, description="1 to 64 letters, digits, . _ @ -")
    description: str = Field(default="", max_length=1000)


class ApiKeyUpdate(Strict):
    """Changes to an API key; fields left out stay as they are."""

    active: StrictBool | None = None
    description: str | None = Field(default=None, max_length=1000)


class ApiKeyRotate(Strict):
    """Replace a key's value; the old value stops at once or after ``retain_seconds``."""

    retain_seconds: StrictInt = Field(default=0, ge=0, le=MAX_RETAIN_SECONDS)


def activity_changes(
    active: bool | None, description: str | None
) -> tuple[dict[str, Any], list[str]]:
    """The columns an update of ``active``/``description`` sets, and how the audit names them.

    ``UsageError`` when neither is given.
    """
    from keybroker.errors import UsageError
    from keybroker.server.database import utcnow

    values: dict[str, Any] = {}
    changed = []
    if active is not None:
        values["active"] = active
        changed.append("activated" if active else "deactivated")
    if description is not None:
        values["description"] = description
        changed.append("description")
    if not values:
        raise UsageError("nothing to change: give active or description")
    values["updated"] = utcnow()
    return values, changed
