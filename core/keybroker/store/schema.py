"""The embedded store's tables, shared by the store and its migrations."""

from __future__ import annotations

from sqlalchemy import (
    Boolean,
    Column,
    DateTime,
    Integer,
    LargeBinary,
    MetaData,
    String,
    Table,
    Text,
    UniqueConstraint,
)
from sqlalchemy.dialects import mysql

#: the Alembic revision the code expects; a test keeps it equal to the scripts' head
HEAD_REVISION = "0005_connector_name_order"

metadata = MetaData()

Timestamp = DateTime(timezone=True).with_variant(mysql.DATETIME(fsp=6), "mysql", "mariadb")
Blob = LargeBinary().with_variant(mysql.MEDIUMBLOB(), "mysql", "mariadb")

connectors = Table(
    "connectors",
    metadata,
    Column("id", String(36), primary_key=True),
    Column("name", String(128), nullable=False),
    Column("connector_type", String(64), nullable=False, index=True),
    Column("auth_method", String(64), nullable=False),
    Column("resource_type", String(64), nullable=True),
    Column("resource_id", String(512), nullable=True),
    Column("configuration", Text, nullable=False),
    Column("secrets", Blob, nullable=True),
    Column("secret_names", Text, nullable=False),
    Column("labels", Text, nullable=False),
    Column("description", Text, nullable=False),
    Column("owner", String(128), nullable=False),
    Column("shared", Boolean, nullable=False),
    Column("expiration_seconds", Integer, nullable=True),
    Column("expires_at", Timestamp, nullable=True),
    Column("created", Timestamp, nullable=False),
    Column("updated", Timestamp, nullable=False),
    Column("version", Integer, nullable=False, server_default="1"),
    # unique byte for byte on every backend (binary collation on MariaDB/MySQL)
    UniqueConstraint("name", name="uq_connectors_name"),
)

store_metadata = Table(
    "store_metadata",
    metadata,
    Column("name", String(64), primary_key=True),
    Column("value", Blob, nullable=False),
)

#: the ``store_metadata`` entry holding a value only the store's key opens
KEY_CHECK = "key_check"
