"""Row versions, the key check, and names compared byte for byte on every backend.

Revision ID: 0002_row_integrity
Revises: 0001_connectors

- ``connectors.version``: the revision of a row, for optimistic concurrency.
- ``store_metadata``: small values about the store itself, such as the key
  check that tells a wrong encryption key at open.
- On MariaDB and MySQL the connectors table moves to a binary, no-pad
  collation, so that names (and every other text) compare exactly as on
  SQLite and PostgreSQL: "Web" and "web" are two names, "web" and "web " too.

Rows stored before this revision carry secrets bound to their id only; they
are not re-sealed here (a migration has no key, and re-sealing would bless
whatever was changed in them): the store reports them as unreadable.
"""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import mysql

revision = "0002_row_integrity"
down_revision = "0001_connectors"
branch_labels = None
depends_on = None


def _binary_collation() -> str | None:
    """The exact (binary, no-pad) utf8mb4 collation of this MariaDB or MySQL server."""
    bind = op.get_bind()
    if bind.dialect.name not in ("mysql", "mariadb"):
        return None
    if getattr(bind.dialect, "is_mariadb", False):
        return "utf8mb4_nopad_bin"
    return "utf8mb4_0900_bin"


def upgrade() -> None:
    """Add the version column and the metadata table; exact collation on MariaDB/MySQL."""
    with op.batch_alter_table("connectors") as batch:
        batch.add_column(sa.Column("version", sa.Integer, nullable=False, server_default="1"))
    collation = _binary_collation()
    table_options: dict[str, Any] = {}
    if collation is not None:
        op.execute(f"ALTER TABLE connectors CONVERT TO CHARACTER SET utf8mb4 COLLATE {collation}")
        table_options = {"mysql_charset": "utf8mb4", "mysql_collate": collation}
    op.create_table(
        "store_metadata",
        sa.Column("name", sa.String(64), primary_key=True),
        sa.Column(
            "value",
            sa.LargeBinary().with_variant(mysql.MEDIUMBLOB(), "mysql", "mariadb"),
            nullable=False,
        ),
        **table_options,
    )


def downgrade() -> None:
    """Drop the metadata table and the version column (the collation stays)."""
    op.drop_table("store_metadata")
    with op.batch_alter_table("connectors") as batch:
        batch.drop_column("version")
