"""The device flow's tables: pending device authorizations, browser sessions, user-code failures.

Revision ID: 0004_device_flow
Revises: 0003_server_accounts
"""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import mysql

revision = "0004_device_flow"
down_revision = "0003_server_accounts"
branch_labels = None
depends_on = None

_timestamp = sa.DateTime(timezone=True).with_variant(mysql.DATETIME(fsp=6), "mysql", "mariadb")
_serial = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def _table_options() -> dict[str, Any]:
    """The binary, no-pad collation of 0003's tables on MariaDB/MySQL."""
    bind = op.get_bind()
    if bind.dialect.name not in ("mysql", "mariadb"):
        return {}
    collation = (
        "utf8mb4_nopad_bin" if getattr(bind.dialect, "is_mariadb", False) else "utf8mb4_0900_bin"
    )
    return {"mysql_charset": "utf8mb4", "mysql_collate": collation}


def upgrade() -> None:
    """Create the device flow's tables."""
    _utf8 = _table_options()
    op.create_table(
        "device_authorizations",
        sa.Column("id", sa.String(36), primary_key=True),
        sa.Column("device_code_hash", sa.String(64), nullable=False),
        sa.Column("user_code_hash", sa.String(64), nullable=False),
        sa.Column("client_id", sa.String(64), nullable=False),
        sa.Column("hostname", sa.String(255), nullable=False),
        sa.Column("os", sa.String(255), nullable=False),
        sa.Column("client_version", sa.String(64), nullable=False),
        sa.Column("client_ip", sa.String(64), nullable=True),
        sa.Column("created", _timestamp, nullable=False),
        sa.Column("expires_at", _timestamp, nullable=False),
        sa.Column("poll_interval", sa.Integer, nullable=False),
        sa.Column("last_polled", _timestamp, nullable=True),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column(
            "user_id", sa.String(36), sa.ForeignKey("users.id", ondelete="CASCADE"), nullable=True
        ),
        sa.Column("trusted", sa.Boolean, nullable=True),
        sa.Column("decided", _timestamp, nullable=True),
        sa.Column(
            "device_id",
            sa.String(36),
            sa.ForeignKey("devices.id", ondelete="SET NULL"),
            nullable=True,
        ),
        sa.UniqueConstraint("device_code_hash", name="uq_device_authorizations_device_code"),
        sa.UniqueConstraint("user_code_hash", name="uq_device_authorizations_user_code"),
        **_utf8,
    )
    op.create_index(
        "ix_device_authorizations_client_ip_created",
        "device_authorizations",
        ["client_ip", "created"],
    )
    op.create_index("ix_device_authorizations_expires_at", "device_authorizations", ["expires_at"])
    op.create_table(
        "web_sessions",
        sa.Column("id", sa.String(36), primary_key=True),
        sa.Column("token_hash", sa.String(64), nullable=False),
        sa.Column(
            "user_id", sa.String(36), sa.ForeignKey("users.id", ondelete="CASCADE"), nullable=False
        ),
        sa.Column("created", _timestamp, nullable=False),
        sa.Column("expires_at", _timestamp, nullable=False),
        sa.Column("client_ip", sa.String(64), nullable=True),
        sa.UniqueConstraint("token_hash", name="uq_web_sessions_token_hash"),
        **_utf8,
    )
    op.create_index("ix_web_sessions_expires_at", "web_sessions", ["expires_at"])
    op.create_table(
        "user_code_failures",
        sa.Column("id", _serial, primary_key=True, autoincrement=True),
        sa.Column("scope", sa.String(8), nullable=False),
        sa.Column("subject", sa.String(64), nullable=False),
        sa.Column("at", _timestamp, nullable=False),
        **_utf8,
    )
    op.create_index(
        "ix_user_code_failures_subject_at", "user_code_failures", ["scope", "subject", "at"]
    )


def downgrade() -> None:
    """Drop the device flow's tables."""
    for table in ("user_code_failures", "web_sessions", "device_authorizations"):
        op.drop_table(table)
