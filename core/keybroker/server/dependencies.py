"""FastAPI dependencies: the server context, the authenticated principal, admin checks."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Annotated

from fastapi import Depends, Request
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from starlette.concurrency import run_in_threadpool

from keybroker.errors import PermissionDeniedError, UnauthenticatedError
from keybroker.server.audit import Outcome
from keybroker.server.context import ServerContext
from keybroker.server.lanes import database_lane
from keybroker.server.principal import Principal

bearer = HTTPBearer(
    auto_error=False,
    description="A session token (/api/v1/auth/sign-in), a device token (the device flow) "
    "or a service account's API key (kbk_...)",
)


async def get_context(request: Request) -> ServerContext:
    """The process's server context."""
    context: ServerContext = request.app.state.context
    return context


async def client_ip(request: Request) -> str | None:
    """The caller's address (as uvicorn saw it, after trusted proxy headers)."""
    return request.client.host if request.client else None


Context = Annotated[ServerContext, Depends(get_context)]
ClientIP = Annotated[str | None, Depends(client_ip)]


@database_lane
def authenticated(
    context: Context,
    credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(bearer)],
    address: ClientIP,
) -> Principal:
    """The principal of the request's ``Authorization: Bearer`` token (checked in the database,
    on the database lane).

    Refused API keys are counted per address and audited (:mod:`keybroker.server.bearer`).
    """
    if credentials is None or credentials.scheme.lower() != "bearer":
        raise UnauthenticatedError(
            "this needs a bearer token (Authorization: Bearer ...); "
            "sign in with 'keybroker connect'"
        )
    from keybroker.server.bearer import authenticate_bearer

    return authenticate_bearer(context, credentials.credentials, address)


CurrentPrincipal = Annotated[Principal, Depends(authenticated)]


def require_admin(
    action: str, purpose: str = "manage users"
) -> Callable[..., Awaitable[Principal]]:
    """A dependency admitting admins only; a refused attempt is audited as ``action``.

    Light dependencies are ``async`` so that FastAPI does not hop to a worker thread
    for each of them; only the token lookup and the handler itself use threads.
    """

    async def admin(request: Request, context: Context, principal: CurrentPrincipal) -> Principal:
        if not principal.is_admin:
            name = request.path_params.get("name")
            await run_in_threadpool(
                context.audit.append,
                action,
                principal=principal,
                outcome=Outcome.DENIED,
                target=f"user:{name}" if name else None,
                client_ip=request.client.host if request.client else None,
            )
            raise PermissionDeniedError(f"only an admin may {purpose}")
        return principal

    return admin
