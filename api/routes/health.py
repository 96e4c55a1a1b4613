"""Liveness and readiness."""

from datetime import timedelta

from fastapi import APIRouter
from fastapi.responses import JSONResponse
from pydantic import BaseModel

from api.deps import PoolDep, TemporalDep

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
    checks: dict[str, str] = {}
    try:
        await pool.fetchval("SELECT 1", timeout=2)
        checks["postgres"] = "ok"
    except Exception as err:
        checks["postgres"] = f"unavailable: {type(err).__name__}"
    try:
        await client.service_client.check_health(timeout=timedelta(seconds=2))
        checks["temporal"] = "ok"
    except Exception as err:
        checks["temporal"] = f"unavailable: {type(err).__name__}"
    ok = all(v == "ok" for v in checks.values())
    return JSONResponse(
        Health(status="ok" if ok else "unavailable", checks=checks).model_dump(),
        status_code=200 if ok else 503,
    )
