"""Password sign-in and sign-out: rate limits, the KDF check, sessions, the audit trail."""

from __future__ import annotations

from typing import TYPE_CHECKING

from keybroker.errors import UnauthenticatedError, UsageError
from keybroker.server.audit import Outcome
from keybroker.server.models import Identity, SessionIssued
from keybroker.server.passwords import hash_password, needs_rehash, verify_password
from keybroker.server.principal import Principal
from keybroker.server.tokens import CredentialKind

if TYPE_CHECKING:
    from keybroker.server.context import ServerContext
    from keybroker.server.users import SignInAccount

WRONG_CREDENTIALS = "wrong user name or password"


def identity(principal: Principal) -> Identity:
    """The public view of a principal."""
    return Identity(
        name=principal.name,
        kind=principal.kind.value,
        is_admin=principal.is_admin,
        credential_kind=principal.credential_kind.value,
        expires_at=principal.expires_at,
        device_id=principal.device_id,
    )


def sign_in(
    context: ServerContext, username: str, password: str, client_ip: str | None
) -> SessionIssued:
    """Check a user name and password and issue a session token.

    An unknown user and a wrong password answer the same, in the same time (a
    dummy hash is verified); failures count toward the per-user and per-address
    limits, checked before any hashing.
    """
    account = check_password(context, username, password, client_ip)
    token, expires = context.credentials.issue_session(account.id, client_ip)
    principal = context.credentials.authenticate(token)
    context.audit.append(
        "auth.sign_in", principal=principal, expires_at=expires, client_ip=client_ip
    )
    return SessionIssued(token=token, expires_at=expires, identity=identity(principal))


def check_password(
    context: ServerContext,
    username: str,
    password: str,
    client_ip: str | None,
    action: str = "auth.sign_in",
) -> SignInAccount:
    """The account of a right user name and password, under the sign-in rules.

    The rate limits are checked first, an unknown user costs what a wrong password
    does, failures are counted and audited as ``action``, and a success clears the
    user name's count. The caller issues whatever the sign-in is for and audits it.
    """
    context.limiter.check(username, client_ip)
    account = context.users.for_sign_in(username)
    matched = verify_password(password, account.password_hash if account else None)
    if account is None or not matched:
        context.limiter.record_failure(username, client_ip)
        context.audit.append(
            action,
            principal=None,
            actor=account.name if account else None,
            outcome=Outcome.FAILED,
            client_ip=client_ip,
            detail="wrong password" if account else "unknown user name",
        )
        raise UnauthenticatedError(WRONG_CREDENTIALS)
    if not account.active:
        context.audit.append(
            action,
            principal=None,
            actor=account.name,
            outcome=Outcome.DENIED,
            client_ip=client_ip,
            detail="account deactivated",
        )
        raise UnauthenticatedError(f"the account '{account.name}' is deactivated; ask an admin")
    if account.password_hash and needs_rehash(account.password_hash):
        context.users.set_password_hash(account.id, hash_password(password))
    context.limiter.forget_user(username)
    return account


def sign_out(context: ServerContext, principal: Principal, client_ip: str | None) -> None:
    """Revoke the session or device token the request came with (and forget the device)."""
    if principal.credential_kind is CredentialKind.API_KEY:
        raise UsageError(
            "an API key is not signed out; deactivate or rotate it instead",
            parameter="authorization",
        )
    if principal.device_id is not None:  # a device signing out is done with: forget it
        context.devices.forget(principal.device_id)
    else:
        context.credentials.revoke(principal.credential_id)
    context.audit.append("auth.sign_out", principal=principal, client_ip=client_ip)
