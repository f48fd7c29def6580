"""The server's tables: accounts, their credentials, devices, API keys, the audit log.

They live in the same database as the connectors and are created by the same
Alembic chain (``keybroker/store/migrations``). Credentials are stored only as
keyed hashes (:mod:`keybroker.server.tokens`); passwords only as Argon2id hashes.
"""

from __future__ import annotations

from sqlalchemy import (
    BigInteger,
    Boolean,
    Column,
    ForeignKey,
    Index,
    Integer,
    MetaData,
    String,
    Table,
    Text,
    UniqueConstraint,
)

from keybroker.store.schema import Timestamp

metadata = MetaData()


def Name(length: int = 128) -> String:
    """A name; compared byte for byte everywhere (binary collation on MariaDB/MySQL tables)."""
    return String(length)


Serial = BigInteger().with_variant(Integer(), "sqlite")

#: people and service accounts: every principal that can hold a credential
users = Table(
    "users",
    metadata,
    Column("id", String(36), primary_key=True),
    Column("name", Name(), nullable=False),
    Column("kind", String(16), nullable=False),  # "user" or "service_account"
    Column("password_hash", String(255), nullable=True),  # null: cannot sign in by password
    Column("is_admin", Boolean, nullable=False),
    Column("active", Boolean, nullable=False),
    Column("description", Text, nullable=False),
    Column("owner_id", String(36), ForeignKey("users.id", ondelete="SET NULL"), nullable=True),
    Column("created", Timestamp, nullable=False),
    Column("updated", Timestamp, nullable=False),
    UniqueConstraint("name", name="uq_users_name"),
)

#: a client machine authorized through the device flow; locking it refuses its tokens
devices = Table(
    "devices",
    metadata,
    Column("id", String(36), primary_key=True),
    Column("user_id", String(36), ForeignKey("users.id", ondelete="CASCADE"), nullable=False),
    Column("hostname", String(255), nullable=False),
    Column("os", String(255), nullable=False),
    Column("client_version", String(64), nullable=False),
    Column("ip_address", String(64), nullable=True),
    Column("trusted", Boolean, nullable=False),
    Column("locked", Boolean, nullable=False),
    Column("created", Timestamp, nullable=False),
    Column("updated", Timestamp, nullable=False),
    Column("last_used", Timestamp, nullable=True),
    Index("ix_devices_user_id", "user_id"),
)

#: a named API key of a service account; its secret values are rows of ``credentials``
api_keys = Table(
    "api_keys",
    metadata,
    Column("id", String(36), primary_key=True),
    Column("user_id", String(36), ForeignKey("users.id", ondelete="CASCADE"), nullable=False),
    Column("name", Name(), nullable=False),
    Column("description", Text, nullable=False),
    Column("active", Boolean, nullable=False),
    Column("created", Timestamp, nullable=False),
    Column("updated", Timestamp, nullable=False),
    Column("rotated", Timestamp, nullable=True),
    Column("last_used", Timestamp, nullable=True),
    UniqueConstraint("user_id", "name", name="uq_api_keys_user_name"),
)

#: every bearer credential, stored as a keyed hash: sessions, device tokens, API key values
credentials = Table(
    "credentials",
    metadata,
    Column("id", String(36), primary_key=True),
    Column("kind", String(16), nullable=False),  # "session", "device" or "api_key"
    Column("token_hash", String(64), nullable=False),
    Column("user_id", String(36), ForeignKey("users.id", ondelete="CASCADE"), nullable=False),
    Column("device_id", String(36), ForeignKey("devices.id", ondelete="CASCADE"), nullable=True),
    Column("api_key_id", String(36), ForeignKey("api_keys.id", ondelete="CASCADE"), nullable=True),
    Column("created", Timestamp, nullable=False),
    Column("expires_at", Timestamp, nullable=True),  # null: until revoked (API keys)
    Column("last_used", Timestamp, nullable=True),
    Column("client_ip", String(64), nullable=True),
    UniqueConstraint("token_hash", name="uq_credentials_token_hash"),
    Index("ix_credentials_user_id", "user_id"),
)

#: failed sign-in attempts, counted per user name and per client address across replicas
sign_in_failures = Table(
    "sign_in_failures",
    metadata,
    Column("id", Serial, primary_key=True, autoincrement=True),
    Column("scope", String(8), nullable=False),  # "user" or "address"
    Column("subject", String(64), nullable=False),  # keyed hash of the user name, or the address
    Column("at", Timestamp, nullable=False),
    Index("ix_sign_in_failures_subject_at", "scope", "subject", "at"),
)

#: who did what, to which connector or account, with which outcome
audit_log = Table(
    "audit_log",
    metadata,
    Column("id", Serial, primary_key=True, autoincrement=True),
    Column("at", Timestamp, nullable=False),
    Column("actor", Name(), nullable=False),
    Column("actor_kind", String(16), nullable=False),  # user, service_account, anonymous, server
    Column("credential_kind", String(16), nullable=True),
    Column("action", String(64), nullable=False),
    Column("outcome", String(16), nullable=False),  # success, denied, failed
    Column("connector_id", String(36), nullable=True),
    Column("connector_name", Name(), nullable=True),
    Column("resource_type", String(64), nullable=True),
    Column("resource_id", String(512), nullable=True),
    Column("target", String(255), nullable=True),  # e.g. "user:alice" for account changes
    Column("expires_at", Timestamp, nullable=True),  # expiry of what was issued
    Column("client_ip", String(64), nullable=True),
    Column("detail", Text, nullable=True),
    Index("ix_audit_log_actor_id", "actor", "id"),
    Index("ix_audit_log_connector_id", "connector_name", "id"),
    Index("ix_audit_log_action_id", "action", "id"),
    Index("ix_audit_log_at", "at"),
)

#: a pending OAuth device authorization (RFC 8628): its codes stored only as keyed hashes
device_authorizations = Table(
    "device_authorizations",
    metadata,
    Column("id", String(36), primary_key=True),
    Column("device_code_hash", String(64), nullable=False),
    Column("user_code_hash", String(64), nullable=False),
    Column("client_id", String(64), nullable=False),
    Column("hostname", String(255), nullable=False),  # as the client said: untrusted text
    Column("os", String(255), nullable=False),
    Column("client_version", String(64), nullable=False),
    Column("client_ip", String(64), nullable=True),
    Column("created", Timestamp, nullable=False),
    Column("expires_at", Timestamp, nullable=False),
    Column("poll_interval", Integer, nullable=False),  # seconds; grows by 5 at each slow_down
    Column("last_polled", Timestamp, nullable=True),
    Column("status", String(16), nullable=False),  # pending, approved, denied, issued
    Column("user_id", String(36), ForeignKey("users.id", ondelete="CASCADE"), nullable=True),
    Column("trusted", Boolean, nullable=True),
    Column("decided", Timestamp, nullable=True),
    Column("device_id", String(36), ForeignKey("devices.id", ondelete="SET NULL"), nullable=True),
    UniqueConstraint("device_code_hash", name="uq_device_authorizations_device_code"),
    UniqueConstraint("user_code_hash", name="uq_device_authorizations_user_code"),
    Index("ix_device_authorizations_client_ip_created", "client_ip", "created"),
    Index("ix_device_authorizations_expires_at", "expires_at"),
)

#: a signed-in browser session of the device pages (short-lived; never an API credential)
web_sessions = Table(
    "web_sessions",
    metadata,
    Column("id", String(36), primary_key=True),
    Column("token_hash", String(64), nullable=False),
    Column("user_id", String(36), ForeignKey("users.id", ondelete="CASCADE"), nullable=False),
    Column("created", Timestamp, nullable=False),
    Column("expires_at", Timestamp, nullable=False),
    Column("client_ip", String(64), nullable=True),
    UniqueConstraint("token_hash", name="uq_web_sessions_token_hash"),
    Index("ix_web_sessions_expires_at", "expires_at"),
)

#: wrong user codes typed on the device pages, per account and per address, across replicas
user_code_failures = Table(
    "user_code_failures",
    metadata,
    Column("id", Serial, primary_key=True, autoincrement=True),
    Column("scope", String(8), nullable=False),  # "user" or "address"
    Column("subject", String(64), nullable=False),  # the account id, or the address
    Column("at", Timestamp, nullable=False),
    Index("ix_user_code_failures_subject_at", "scope", "subject", "at"),
)
