"""Bearer authentication of a request: session and device tokens, and API keys.

API keys get two more rules than the other tokens: refused attempts are counted
per client address in the database (past the limit: 429 with ``Retry-After``,
before any lookup), and every refused attempt is in the audit log as
``auth.api_key``. An unknown, malformed or deleted key gets one and the same
answer.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from keybroker.server.audit import Outcome
from keybroker.server.credentials import CredentialRefused
from keybroker.server.tokens import is_api_key_attempt

if TYPE_CHECKING:
    from keybroker.server.context import ServerContext
    from keybroker.server.principal import Principal


def authenticate_bearer(context: ServerContext, token: str, client_ip: str | None) -> Principal:
    """The principal of a bearer ``token`` presented from ``client_ip``."""
    if not is_api_key_attempt(token):
        return context.credentials.authenticate(token)
    context.api_key_limiter.check(client_ip)
    try:
        return context.credentials.authenticate(token)
    except CredentialRefused as refused:
        context.api_key_limiter.record_failure(client_ip)
        context.audit.append(
            "auth.api_key",
            principal=None,
            actor=refused.account,
            outcome=Outcome.FAILED if refused.account is None else Outcome.DENIED,
            client_ip=client_ip,
            detail=refused.reason or None,
        )
        raise
