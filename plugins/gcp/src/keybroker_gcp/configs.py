"""Attribute schemas of the ``gcp`` auth methods, checked offline (no Google SDK).

Key files are checked for their shape (JSON, the right ``type``, the fields
google-auth needs, a readable private key, a safe ``token_uri``) so that a wrong
file is refused before anything is stored. Error messages never quote a key.
"""

from __future__ import annotations

import json
import re
from datetime import UTC, datetime
from typing import Any

from pydantic import Field, SecretStr, field_validator, model_validator

from keybroker.plugin import AuthConfig
from keybroker_gcp.endpoints import check_endpoint
from keybroker_gcp.resource_ids import check_project

EMAIL_PATTERN = re.compile(r"^[A-Za-z0-9._%+-]+@[A-Za-z0-9.-]+\.[A-Za-z]{2,}$")
SERVICE_ACCOUNT_FIELDS = ("client_email", "private_key", "token_uri")
AUTHORIZED_USER_FIELDS = ("client_id", "client_secret", "refresh_token")
KEY_HINT = "give the file's content, or @path to read the file"


def load_key_json(
    value: SecretStr, attribute: str, key_type: str, required: tuple[str, ...]
) -> Any:
    """The parsed key file; ``ValueError`` naming what is wrong, never the content."""
    try:
        data = json.loads(value.get_secret_value())
    except ValueError:
        raise ValueError(
            f"{attribute} is not JSON (expected the '{key_type}' key file Google issues); "
            f"{KEY_HINT}"
        ) from None
    if not isinstance(data, dict):
        raise ValueError(f"{attribute} is not a JSON object; {KEY_HINT}")
    found = data.get("type")
    if found != key_type:
        what = f"type '{found}'" if isinstance(found, str) and len(found) < 40 else "no type"
        raise ValueError(f"{attribute} is a key file of {what}, not '{key_type}'; {KEY_HINT}")
    missing = [name for name in required if not isinstance(data.get(name), str) or not data[name]]
    if missing:
        raise ValueError(f"{attribute} lacks {', '.join(missing)}; {KEY_HINT}")
    if "token_uri" in data:
        check_endpoint(str(data["token_uri"]), f"token_uri in {attribute}")
    return data


def check_private_key(pem: str, attribute: str) -> None:
    """Refuse a ``private_key`` that is not an unencrypted PEM RSA key (shape only)."""
    from cryptography.hazmat.primitives.asymmetric import rsa
    from cryptography.hazmat.primitives.serialization import load_pem_private_key

    try:
        # the key's consistency is Google's to judge; parsing its structure is enough here
        key = load_pem_private_key(pem.encode(), None, unsafe_skip_rsa_key_validation=True)
    except (ValueError, TypeError):
        key = None
    if not isinstance(key, rsa.RSAPrivateKey):
        raise ValueError(
            f"the private_key in {attribute} is not an unencrypted PEM RSA key; download a "
            "new key file for the service account"
        )


def check_service_account_key(value: SecretStr, attribute: str) -> SecretStr:
    """A service account key file: JSON of type ``service_account`` with a readable key."""
    data = load_key_json(value, attribute, "service_account", SERVICE_ACCOUNT_FIELDS)
    if not EMAIL_PATTERN.match(data["client_email"]):
        raise ValueError(f"the client_email in {attribute} is not an email address")
    check_private_key(data["private_key"], attribute)
    return value


class GCPConfig(AuthConfig):
    """Attributes every GCP auth method has."""

    project_id: str | None = Field(
        default=None,
        title="GCP project ID",
        description="The project the connector works in (resources are listed there)",
    )
    api_endpoint: str | None = Field(
        default=None,
        title="Google API endpoint",
        description="Send the REST calls to IAM Credentials, STS, GKE, Artifact Registry, "
        "Resource Manager and tokeninfo to this base URL instead of Google's, keeping "
        "Google's paths, e.g. a local test server; https, or http on loopback only. Token "
        "grants follow the key file's token_uri; GCS follows STORAGE_EMULATOR_HOST",
    )

    @field_validator("project_id")
    @classmethod
    def _project_format(cls, value: str | None) -> str | None:
        if value is None:
            return None
        try:
            return check_project(value.strip())
        except Exception as exc:
            raise ValueError(str(exc)) from None

    @field_validator("api_endpoint")
    @classmethod
    def _endpoint_is_safe(cls, value: str | None) -> str | None:
        if value is None or not value.strip():
            return None
        return check_endpoint(value, "api_endpoint")

    def project(self) -> str:
        """The project the connector works in."""
        if self.project_id is None:  # schemas without a default project require it
            raise ValueError("project_id is not set")
        return self.project_id


class ImplicitConfig(GCPConfig):
    """Attributes of the ``implicit`` auth method."""

    project_id: str = Field(
        title="GCP project ID", description="The project the connector works in"
    )


class UserAccountConfig(GCPConfig):
    """Attributes of the ``user-account`` auth method."""

    project_id: str = Field(
        title="GCP project ID", description="The project the connector works in"
    )
    user_account_json: SecretStr = Field(
        title="User account credentials JSON",
        description="Authorized-user credentials (type 'authorized_user': client_id, "
        "client_secret, refresh_token), e.g. what 'gcloud auth application-default login' "
        "writes",
    )

    @field_validator("user_account_json")
    @classmethod
    def _user_json_shape(cls, value: SecretStr) -> SecretStr:
        load_key_json(value, "user_account_json", "authorized_user", AUTHORIZED_USER_FIELDS)
        return value

    def user_info(self) -> dict[str, Any]:
        """The parsed authorized-user credentials."""
        data: dict[str, Any] = json.loads(self.user_account_json.get_secret_value())
        return data


class ServiceAccountConfig(GCPConfig):
    """Attributes of the ``service-account`` auth method."""

    service_account_json: SecretStr = Field(
        title="Service account key JSON",
        description="A key file of the service account (type 'service_account'); its "
        "token_uri is where access tokens are requested",
    )

    @field_validator("service_account_json")
    @classmethod
    def _key_shape(cls, value: SecretStr) -> SecretStr:
        return check_service_account_key(value, "service_account_json")

    @model_validator(mode="after")
    def _has_project(self) -> ServiceAccountConfig:
        if self.project_id is None and not self.key_info().get("project_id"):
            raise ValueError("the key file names no project_id: give the attribute project_id")
        return self

    def key_info(self) -> dict[str, Any]:
        """The parsed service account key file."""
        data: dict[str, Any] = json.loads(self.service_account_json.get_secret_value())
        return data

    def service_account_email(self) -> str:
        """The email of the key's service account."""
        return str(self.key_info()["client_email"])

    def project(self) -> str:
        """``project_id`` if given, else the key file's project."""
        return self.project_id or check_project(str(self.key_info()["project_id"]))


class OAuth2TokenConfig(GCPConfig):
    """Attributes of the ``oauth2-token`` auth method."""

    project_id: str = Field(
        title="GCP project ID", description="The project the connector works in"
    )
    token: SecretStr = Field(
        title="OAuth2 access token",
        description="A Google access token, e.g. from 'gcloud auth print-access-token'",
    )
    expires_at: str | None = Field(
        default=None,
        title="Token expiry",
        description="When the token expires, ISO 8601 (e.g. 2030-01-01T12:00:00Z; UTC when "
        "no offset is given). Shown as EXPIRES IN; keybroker refuses the connector after it",
    )

    @field_validator("expires_at")
    @classmethod
    def _expiry_format(cls, value: str | None) -> str | None:
        if value is None or not value.strip():
            return None
        text = value.strip()
        try:
            moment = datetime.fromisoformat(text.replace("Z", "+00:00"))
        except ValueError:
            raise ValueError(
                f"expires_at '{text}' is not an ISO 8601 time such as 2030-01-01T12:00:00Z"
            ) from None
        if moment.tzinfo is None:
            moment = moment.replace(tzinfo=UTC)
        return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")

    def credentials_expiry(self) -> datetime | None:
        """The token's expiry, as given."""
        if self.expires_at is None:
            return None
        return datetime.strptime(self.expires_at, "%Y-%m-%dT%H:%M:%SZ").replace(tzinfo=UTC)


class ImpersonationConfig(ServiceAccountConfig):
    """Attributes of the ``impersonation`` auth method."""

    target_principal: str = Field(
        title="Target service account",
        description="Email of the service account to impersonate, e.g. "
        "reader@my-project.iam.gserviceaccount.com",
    )
    delegates: list[str] | None = Field(
        default=None,
        title="Delegation chain",
        description="Service accounts between the key's and the target, in order; each may "
        "create tokens for the next (roles/iam.serviceAccountTokenCreator)",
    )

    @field_validator("target_principal")
    @classmethod
    def _target_is_email(cls, value: str) -> str:
        text = value.strip()
        if not EMAIL_PATTERN.match(text):
            raise ValueError(
                f"target_principal '{value}' is not a service account email such as "
                "reader@my-project.iam.gserviceaccount.com"
            )
        return text

    @field_validator("delegates")
    @classmethod
    def _delegates_are_emails(cls, value: list[str] | None) -> list[str] | None:
        if not value:
            return None
        emails = [v.strip().removeprefix("projects/-/serviceAccounts/") for v in value]
        bad = [e for e in emails if not EMAIL_PATTERN.match(e)]
        if bad:
            raise ValueError(f"delegates must be service account emails, not '{bad[0]}'")
        return emails
