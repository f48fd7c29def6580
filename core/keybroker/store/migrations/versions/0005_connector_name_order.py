"""PostgreSQL: an index on connector names in code-point order, for keyset pages.

Connector lists page by name compared by code point (``COLLATE "C"``) on every
database. SQLite and MariaDB/MySQL (binary collation) already order the unique
index on ``name`` that way; PostgreSQL's unique index follows the database's
locale, so without this index each page sorted the whole table.

Revision ID: 0005_connector_name_order
Revises: 0004_device_flow
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0005_connector_name_order"
down_revision = "0004_device_flow"
branch_labels = None
depends_on = None

INDEX = "ix_connectors_name_code_point"


def upgrade() -> None:
    """Add the code-point index of connector names on PostgreSQL."""
    if op.get_bind().dialect.name == "postgresql":
        op.create_index(INDEX, "connectors", [sa.text('name COLLATE "C"')])


def downgrade() -> None:
    """Drop the index again."""
    if op.get_bind().dialect.name == "postgresql":
        op.drop_index(INDEX, table_name="connectors")
