"""The JSON shapes of the server's API (requests and answers), defined once."""

from __future__ import annotations

from datetime import datetime
from typing import Generic, TypeVar

from pydantic import BaseModel, ConfigDict, Field, StrictBool

from keybroker.server.passwords import MAX_PASSWORD_LENGTH, MIN_PASSWORD_LENGTH

NAME_PATTERN = r"^[A-Za-z0-9][A-Za-z0-9._@-]{0,63}$"
T = TypeVar("T")


class Strict(BaseModel):
    """A request body: unknown fields are refused rather than ignored."""

    model_config = ConfigDict(extra="forbid")


class ErrorDetail(BaseModel):
    """What went wrong, for a person (``message``) and for a program (``code``)."""

    code: str = Field(description="stable machine-readable code, e.g. not_found, conflict")
    message: str = Field(description="one line a person can act on")
    parameter: str | None = Field(default=None, description="the request field at fault")
    request_id: str | None = Field(default=None, description="quote it when reporting a 500")


class ErrorResponse(BaseModel):
    """The body of every error answer."""

    error: ErrorDetail


class Page(BaseModel, Generic[T]):
    """One page of a list. Pass ``next_cursor`` back as ``cursor`` for the next page."""

    items: list[T]
    next_cursor: str | None = Field(
        description="opaque; null on the last page", examples=[None, "eyJuIjoiYWxpY2UifQ"]
    )


class UserInfo(BaseModel):
    """An account as the API shows it; never its password hash."""

    id: str
    name: str
    kind: str = Field(description="user or service_account")
    is_admin: bool
    active: bool
    description: str
    created: datetime
    updated: datetime


class UserCreate(Strict):
    """A new user."""

    name: str = Field(pattern=NAME_PATTERN, description="1 to 64 letters, digits, . _ @ -")
    password: str = Field(min_length=MIN_PASSWORD_LENGTH, max_length=MAX_PASSWORD_LENGTH)
    is_admin: StrictBool = False
    description: str = Field(default="", max_length=1000)


class UserUpdate(Strict):
    """Changes to a user; fields left out stay as they are."""

    password: str | None = Field(
        default=None, min_length=MIN_PASSWORD_LENGTH, max_length=MAX_PASSWORD_LENGTH
    )
    is_admin: StrictBool | None = None
    active: StrictBool | None = None
    description: str | None = Field(default=None, max_length=1000)


class SignInRequest(Strict):
    """A user name and password."""

    username: str = Field(min_length=1, max_length=128)
    password: str = Field(min_length=1, max_length=MAX_PASSWORD_LENGTH)


class Identity(BaseModel):
    """Who a credential belongs to and when it stops working."""

    name: str
    kind: str = Field(description="user or service_account")
    is_admin: bool
    credential_kind: str = Field(description="session, device or api_key")
    expires_at: datetime | None = Field(description="null: until revoked")
    device_id: str | None = Field(default=None, description="the device, for a device token")


class SessionIssued(BaseModel):
    """A new session token. It is shown only in this answer."""

    token: str
    token_type: str = "bearer"  # noqa: S105 - the OAuth token type, not a secret
    expires_at: datetime
    identity: Identity


class AuditRecord(BaseModel):
    """One entry of the audit log. Never carries secrets."""

    id: int
    at: datetime
    actor: str = Field(description="the calling user or service account")
    actor_kind: str = Field(description="user, service_account, anonymous or server")
    credential_kind: str | None
    action: str
    outcome: str = Field(description="success, denied or failed")
    connector_id: str | None = None
    connector_name: str | None = None
    resource_type: str | None = None
    resource_id: str | None = None
    target: str | None = Field(default=None, description="e.g. user:alice")
    expires_at: datetime | None = Field(default=None, description="expiry of what was issued")
    client_ip: str | None = None
    detail: str | None = None


class Health(BaseModel):
    """Liveness or readiness."""

    status: str
