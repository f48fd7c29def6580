"""Sign-in, sign-out and "who am I"."""

from __future__ import annotations

from fastapi import APIRouter, Response

from keybroker.server.dependencies import ClientIP, Context, CurrentPrincipal
from keybroker.server.models import Identity, SessionIssued, SignInRequest
from keybroker.server.signin import identity, sign_in, sign_out

router = APIRouter(prefix="/auth", tags=["auth"])


@router.post("/sign-in", response_model=SessionIssued, summary="Sign in with a password")
def sign_in_route(
    body: SignInRequest, context: Context, address: ClientIP, response: Response
) -> SessionIssued:
    """Issue a session token. Wrong name or password: 401; too many failures: 429."""
    response.headers["Cache-Control"] = "no-store"
    return sign_in(context, body.username, body.password, address)


@router.post("/sign-out", status_code=204, summary="Revoke the token of this request")
def sign_out_route(principal: CurrentPrincipal, context: Context, address: ClientIP) -> Response:
    """The token stops working at once, on every replica."""
    sign_out(context, principal, address)
    return Response(status_code=204)


@router.get("/whoami", response_model=Identity, summary="The identity of this request's token")
async def whoami(principal: CurrentPrincipal) -> Identity:
    """Who the token belongs to and when it expires (no I/O: answered on the event loop)."""
    return identity(principal)
