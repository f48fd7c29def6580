"""The connectors table.

Revision ID: 0001_connectors
Revises:
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import mysql

revision = "0001_connectors"
down_revision = None
branch_labels = None
depends_on = None

_timestamp = sa.DateTime(timezone=True).with_variant(mysql.DATETIME(fsp=6), "mysql", "mariadb")


def upgrade() -> None:
    """Create the connectors table."""
    op.create_table(
        "connectors",
        sa.Column("id", sa.String(36), primary_key=True),
        sa.Column("name", sa.String(128), nullable=False),
        sa.Column("connector_type", sa.String(64), nullable=False),
        sa.Column("auth_method", sa.String(64), nullable=False),
        sa.Column("resource_type", sa.String(64), nullable=True),
        sa.Column("resource_id", sa.String(512), nullable=True),
        sa.Column("configuration", sa.Text, nullable=False),
        sa.Column(
            "secrets",
            sa.LargeBinary().with_variant(mysql.MEDIUMBLOB(), "mysql", "mariadb"),
            nullable=True,
        ),
        sa.Column("secret_names", sa.Text, nullable=False),
        sa.Column("labels", sa.Text, nullable=False),
        sa.Column("description", sa.Text, nullable=False),
        sa.Column("owner", sa.String(128), nullable=False),
        sa.Column("shared", sa.Boolean, nullable=False),
        sa.Column("expiration_seconds", sa.Integer, nullable=True),
        sa.Column("expires_at", _timestamp, nullable=True),
        sa.Column("created", _timestamp, nullable=False),
        sa.Column("updated", _timestamp, nullable=False),
        sa.UniqueConstraint("name", name="uq_connectors_name"),
    )
    op.create_index("ix_connectors_connector_type", "connectors", ["connector_type"])


def downgrade() -> None:
    """Drop the connectors table."""
    op.drop_index("ix_connectors_connector_type", table_name="connectors")
    op.drop_table("connectors")
