"""The credential model in-process on SQLite: every kind of token resolves through one lookup,
and each refusal rule (expiry, deactivation, locked device, inactive key) holds."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path

import pytest

from keybroker.errors import UnauthenticatedError
from keybroker.server.context import ServerContext
from keybroker.server.database import utcnow
from keybroker.server.principal import AccountKind
from keybroker.server.settings import ServerSettings
from keybroker.server.tokens import CredentialKind, new_token

PASSWORD = "credential-test-password"


@pytest.fixture
def context(tmp_path: Path) -> Iterator[ServerContext]:
    created = ServerContext.create(ServerSettings(data_dir=tmp_path, admin_password=PASSWORD))
    created.prepare()
    try:
        yield created
    finally:
        created.close()


def _insert(context: ServerContext, table: str, **values: object) -> None:
    from sqlalchemy import insert

    from keybroker.server import schema

    with context.engine.begin() as connection:
        connection.execute(insert(getattr(schema, table)).values(**values))


def _account(context: ServerContext, kind: AccountKind) -> str:
    account_id = str(uuid.uuid4())
    now = utcnow()
    _insert(
        context,
        "users",
        id=account_id,
        name=f"{kind.value}-{account_id[:6]}",
        kind=kind.value,
        password_hash=None,
        is_admin=False,
        active=True,
        description="",
        owner_id=None,
        created=now,
        updated=now,
    )
    return account_id


def _credential(
    context: ServerContext,
    kind: CredentialKind,
    user_id: str,
    expires_in: timedelta | None,
    **links: str,
) -> str:
    token = new_token(kind)
    now = utcnow()
    _insert(
        context,
        "credentials",
        id=str(uuid.uuid4()),
        kind=kind.value,
        token_hash=context.credentials._hasher.hash(token),
        user_id=user_id,
        device_id=links.get("device_id"),
        api_key_id=links.get("api_key_id"),
        created=now,
        expires_at=now + expires_in if expires_in else None,
        last_used=None,
        client_ip=None,
    )
    return token


def _set(context: ServerContext, table: str, row_id: str, **values: object) -> None:
    from sqlalchemy import update

    from keybroker.server import schema

    target = getattr(schema, table)
    with context.engine.begin() as connection:
        connection.execute(update(target).where(target.c.id == row_id).values(**values))


def test_a_device_token_stops_when_the_device_is_locked(context: ServerContext) -> None:
    user_id = _account(context, AccountKind.USER)
    device_id = str(uuid.uuid4())
    now = utcnow()
    _insert(
        context,
        "devices",
        id=device_id,
        user_id=user_id,
        hostname="laptop",
        os="Linux",
        client_version="0.1.0",
        ip_address="127.0.0.1",
        trusted=True,
        locked=False,
        created=now,
        updated=now,
        last_used=None,
    )
    token = _credential(
        context, CredentialKind.DEVICE, user_id, timedelta(days=30), device_id=device_id
    )
    principal = context.credentials.authenticate(token)
    assert principal.credential_kind is CredentialKind.DEVICE
    assert token.startswith("kbd_")
    _set(context, "devices", device_id, locked=True)
    with pytest.raises(UnauthenticatedError, match="this device has been locked"):
        context.credentials.authenticate(token)


def test_an_api_key_stops_when_deactivated_and_rotation_keeps_the_old_one_a_while(
    context: ServerContext,
) -> None:
    account_id = _account(context, AccountKind.SERVICE_ACCOUNT)
    key_id = str(uuid.uuid4())
    now = utcnow()
    _insert(
        context,
        "api_keys",
        id=key_id,
        user_id=account_id,
        name="ci",
        description="",
        active=True,
        created=now,
        updated=now,
        rotated=None,
        last_used=None,
    )
    old = _credential(context, CredentialKind.API_KEY, account_id, None, api_key_id=key_id)
    principal = context.credentials.authenticate(old)
    assert principal.is_service_account
    assert principal.expires_at is None
    # a rotation with retention: a new value, the old one expiring soon
    new = _credential(context, CredentialKind.API_KEY, account_id, None, api_key_id=key_id)
    from sqlalchemy import update

    from keybroker.server.schema import credentials

    with context.engine.begin() as connection:
        connection.execute(
            update(credentials)
            .where(credentials.c.token_hash == context.credentials._hasher.hash(old))
            .values(expires_at=now - timedelta(seconds=1))
        )
    with pytest.raises(UnauthenticatedError, match="retention has ended"):
        context.credentials.authenticate(old)
    assert context.credentials.authenticate(new).name == principal.name
    _set(context, "api_keys", key_id, active=False)
    with pytest.raises(UnauthenticatedError, match="API key is deactivated"):
        context.credentials.authenticate(new)


def test_tokens_are_stored_only_as_keyed_hashes(context: ServerContext) -> None:
    from sqlalchemy import select

    from keybroker.server.schema import credentials
    from keybroker.server.signin import sign_in

    issued = sign_in(context, "admin", PASSWORD, "127.0.0.1")
    with context.engine.connect() as connection:
        stored = [row.token_hash for row in connection.execute(select(credentials))]
    assert issued.token not in stored
    assert len(stored) == 1
    assert len(stored[0]) == 64


def test_lookalike_and_oversized_tokens_are_refused_cheaply(context: ServerContext) -> None:
    for token in ("", "kbs_", "x" * 5000, "kbs_" + "é" * 43, "kbq_" + "a" * 43):
        with pytest.raises(UnauthenticatedError):
            context.credentials.authenticate(token)


def test_connector_events_are_written_with_the_caller_as_actor(context: ServerContext) -> None:
    from keybroker.events import AuditEvent
    from keybroker.server.audit import AuditQuery
    from keybroker.server.signin import sign_in

    principal = context.credentials.authenticate(
        sign_in(context, "admin", PASSWORD, "127.0.0.1").token
    )
    sink = context.audit.sink(principal, "10.1.2.3")
    sink(
        AuditEvent(
            action="issue",
            connector_id=uuid.uuid4(),
            connector_name="aws-prod",
            connector_type="aws",
            resource_type="s3-bucket",
            resource_id="s3://reports",
            actor="the-owner",
        )
    )
    [entry], _ = context.audit.query(AuditQuery(connector="aws-prod"), 10)
    assert entry.actor == "admin"
    assert entry.action == "connector.issue"
    assert entry.resource_id == "s3://reports"
    assert entry.client_ip == "10.1.2.3"
