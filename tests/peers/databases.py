"""Fresh databases on the machine's PostgreSQL (127.0.0.1:5432) and MariaDB (127.0.0.1:3306)."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from contextlib import contextmanager

import pytest

ADMIN_URLS = {
    "postgresql": "postgresql+psycopg://postgres@127.0.0.1:5432/postgres",
    "mariadb": "mysql+pymysql://root@127.0.0.1:3306/",
}
DATABASE_URLS = {
    "postgresql": "postgresql+psycopg://postgres@127.0.0.1:5432/{name}",
    "mariadb": "mysql+pymysql://root@127.0.0.1:3306/{name}",
}


@contextmanager
def server_database(kind: str) -> Iterator[str]:
    """Create an empty database on ``kind`` ("postgresql" or "mariadb"); drop it afterwards.

    Yields its SQLAlchemy URL. Fails the test when the server does not answer.
    """
    from sqlalchemy import create_engine, text

    name = f"kb_test_{uuid.uuid4().hex[:10]}"
    admin = create_engine(ADMIN_URLS[kind], isolation_level="AUTOCOMMIT")
    try:
        with admin.connect() as connection:
            connection.execute(text(f"CREATE DATABASE {name}"))
    except Exception as exc:
        admin.dispose()
        pytest.fail(f"{kind} on 127.0.0.1 is needed for this test and did not answer: {exc}")
    try:
        yield DATABASE_URLS[kind].format(name=name)
    finally:
        with admin.connect() as connection:
            if kind == "postgresql":
                connection.execute(text(f"DROP DATABASE {name} WITH (FORCE)"))
            else:
                connection.execute(text(f"DROP DATABASE {name}"))
        admin.dispose()
