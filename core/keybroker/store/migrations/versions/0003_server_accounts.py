"""The team server's tables: users, devices, API keys, credentials, sign-in failures, audit log.

Revision ID: 0003_server_accounts
Revises: 0002_row_integrity
"""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import mysql

revision = "0003_server_accounts"
down_revision = "0002_row_integrity"
branch_labels = None
depends_on = None

_timestamp = sa.DateTime(timezone=True).with_variant(mysql.DATETIME(fsp=6), "mysql", "mariadb")
_serial = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def _name(length: int = 128) -> sa.types.TypeEngine[str]:
    """A name column; the table's collation makes it compare byte for byte."""
    return sa.String(length)


def _table_options() -> dict[str, Any]:
    """Binary, no-pad collation on MariaDB/MySQL (as 0002 gives the connectors table).

    Names then compare exactly as on SQLite and PostgreSQL: "alice" and "Alice" are
    two accounts, and so are "alice" and "alice ".
    """
    bind = op.get_bind()
    if bind.dialect.name not in ("mysql", "mariadb"):
        return {}
    collation = (
        "utf8mb4_nopad_bin" if getattr(bind.dialect, "is_mariadb", False) else ("utf8mb4_0900_bin")
    )
    return {"mysql_charset": "utf8mb4", "mysql_collate": collation}


def upgrade() -> None:
    """Create the server's tables."""
    _utf8 = _table_options()
    op.create_table(
        "users",
        sa.Column("id", sa.String(36), primary_key=True),
        sa.Column("name", _name(), nullable=False),
        sa.Column("kind", sa.String(16), nullable=False),
        sa.Column("password_hash", sa.String(255), nullable=True),
        sa.Column("is_admin", sa.Boolean, nullable=False),
        sa.Column("active", sa.Boolean, nullable=False),
        sa.Column("description", sa.Text, nullable=False),
        sa.Column(
            "owner_id", sa.String(36), sa.ForeignKey("users.id", ondelete="SET NULL"), nullable=True
        ),
        sa.Column("created", _timestamp, nullable=False),
        sa.Column("updated", _timestamp, nullable=False),
        sa.UniqueConstraint("name", name="uq_users_name"),
        **_utf8,
    )
    op.create_table(
        "devices",
        sa.Column("id", sa.String(36), primary_key=True),
        sa.Column(
            "user_id", sa.String(36), sa.ForeignKey("users.id", ondelete="CASCADE"), nullable=False
        ),
        sa.Column("hostname", sa.String(255), nullable=False),
        sa.Column("os", sa.String(255), nullable=False),
        sa.Column("client_version", sa.String(64), nullable=False),
        sa.Column("ip_address", sa.String(64), nullable=True),
        sa.Column("trusted", sa.Boolean, nullable=False),
        sa.Column("locked", sa.Boolean, nullable=False),
        sa.Column("created", _timestamp, nullable=False),
        sa.Column("updated", _timestamp, nullable=False),
        sa.Column("last_used", _timestamp, nullable=True),
        **_utf8,
    )
    op.create_index("ix_devices_user_id", "devices", ["user_id"])
    op.create_table(
        "api_keys",
        sa.Column("id", sa.String(36), primary_key=True),
        sa.Column(
            "user_id", sa.String(36), sa.ForeignKey("users.id", ondelete="CASCADE"), nullable=False
        ),
        sa.Column("name", _name(), nullable=False),
        sa.Column("description", sa.Text, nullable=False),
        sa.Column("active", sa.Boolean, nullable=False),
        sa.Column("created", _timestamp, nullable=False),
        sa.Column("updated", _timestamp, nullable=False),
        sa.Column("rotated", _timestamp, nullable=True),
        sa.Column("last_used", _timestamp, nullable=True),
        sa.UniqueConstraint("user_id", "name", name="uq_api_keys_user_name"),
        **_utf8,
    )
    op.create_table(
        "credentials",
        sa.Column("id", sa.String(36), primary_key=True),
        sa.Column("kind", sa.String(16), nullable=False),
        sa.Column("token_hash", sa.String(64), nullable=False),
        sa.Column(
            "user_id", sa.String(36), sa.ForeignKey("users.id", ondelete="CASCADE"), nullable=False
        ),
        sa.Column(
            "device_id",
            sa.String(36),
            sa.ForeignKey("devices.id", ondelete="CASCADE"),
            nullable=True,
        ),
        sa.Column(
            "api_key_id",
            sa.String(36),
            sa.ForeignKey("api_keys.id", ondelete="CASCADE"),
            nullable=True,
        ),
        sa.Column("created", _timestamp, nullable=False),
        sa.Column("expires_at", _timestamp, nullable=True),
        sa.Column("last_used", _timestamp, nullable=True),
        sa.Column("client_ip", sa.String(64), nullable=True),
        sa.UniqueConstraint("token_hash", name="uq_credentials_token_hash"),
        **_utf8,
    )
    op.create_index("ix_credentials_user_id", "credentials", ["user_id"])
    op.create_table(
        "sign_in_failures",
        sa.Column("id", _serial, primary_key=True, autoincrement=True),
        sa.Column("scope", sa.String(8), nullable=False),
        sa.Column("subject", sa.String(64), nullable=False),
        sa.Column("at", _timestamp, nullable=False),
        **_utf8,
    )
    op.create_index(
        "ix_sign_in_failures_subject_at", "sign_in_failures", ["scope", "subject", "at"]
    )
    op.create_table(
        "audit_log",
        sa.Column("id", _serial, primary_key=True, autoincrement=True),
        sa.Column("at", _timestamp, nullable=False),
        sa.Column("actor", _name(), nullable=False),
        sa.Column("actor_kind", sa.String(16), nullable=False),
        sa.Column("credential_kind", sa.String(16), nullable=True),
        sa.Column("action", sa.String(64), nullable=False),
        sa.Column("outcome", sa.String(16), nullable=False),
        sa.Column("connector_id", sa.String(36), nullable=True),
        sa.Column("connector_name", _name(), nullable=True),
        sa.Column("resource_type", sa.String(64), nullable=True),
        sa.Column("resource_id", sa.String(512), nullable=True),
        sa.Column("target", sa.String(255), nullable=True),
        sa.Column("expires_at", _timestamp, nullable=True),
        sa.Column("client_ip", sa.String(64), nullable=True),
        sa.Column("detail", sa.Text, nullable=True),
        **_utf8,
    )
    op.create_index("ix_audit_log_actor_id", "audit_log", ["actor", "id"])
    op.create_index("ix_audit_log_connector_id", "audit_log", ["connector_name", "id"])
    op.create_index("ix_audit_log_action_id", "audit_log", ["action", "id"])
    op.create_index("ix_audit_log_at", "audit_log", ["at"])


def downgrade() -> None:
    """Drop the server's tables."""
    for table in (
        "audit_log",
        "sign_in_failures",
        "credentials",
        "api_keys",
        "devices",
        "users",
    ):
        op.drop_table(table)
