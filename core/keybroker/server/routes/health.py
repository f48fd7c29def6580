"""Liveness and readiness probes (no authentication)."""

from __future__ import annotations

from fastapi import APIRouter
from fastapi.responses import JSONResponse

from keybroker.server.dependencies import Context
from keybroker.server.errors import error_body
from keybroker.server.models import ErrorResponse, Health

router = APIRouter(tags=["health"])


@router.get("/health", response_model=Health, summary="Liveness: the process answers")
async def health() -> Health:
    """Answers without touching the database."""
    return Health(status="ok")


@router.get(
    "/ready",
    response_model=Health,
    summary="Readiness: the database answers",
    responses={503: {"model": ErrorResponse, "description": "database unreachable"}},
)
def ready(context: Context) -> Health | JSONResponse:
    """Runs one trivial query on the database."""
    from keybroker.server.database import ping

    try:
        ping(context.engine)
    except Exception:
        return JSONResponse(
            error_body("not_ready", "the database does not answer"), status_code=503
        )
    return Health(status="ready")
