"""Liveness and readiness."""

from fastapi import APIRouter
from fastapi.responses import JSONResponse
from pydantic import BaseModel

from api.deps import PoolDep, TemporalDep
from observability.readiness import api_readiness

router = APIRouter(tags=["health"])


class Health(BaseModel):
    status: str
    checks: dict[str, str] = {}


@router.get("/healthz", summary="The process answers")
async def healthz() -> Health:
    return Health(status="ok")


@router.get(
    "/readyz",
    summary="Ready only when PostgreSQL and Temporal answer",
    responses={503: {"model": Health, "description": "a dependency does not answer"}},
)
async def readyz(pool: PoolDep, client: TemporalDep) -> JSONResponse:
    checks = await api_readiness(pool, client)
    ok = all(c.ok for c in checks)
    return JSONResponse(
        Health(
            status="ok" if ok else "unavailable", checks={c.name: c.detail for c in checks}
        ).model_dump(),
        status_code=200 if ok else 503,
    )
