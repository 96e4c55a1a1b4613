"""Typed dependencies: the pool, the Temporal client and the settings, opened in the lifespan."""

from typing import Annotated

import asyncpg
from fastapi import Depends, Request
from fastapi.dependencies.models import Dependant
from fastapi.exceptions import RequestValidationError
from fastapi.routing import APIRoute
from temporalio.client import Client

from api.journey_watch import StageWatch
from settings import Settings


async def get_pool(request: Request) -> asyncpg.Pool:
    pool: asyncpg.Pool = request.app.state.pool
    return pool


async def get_temporal(request: Request) -> Client:
    client: Client = request.app.state.temporal
    return client


async def get_app_settings(request: Request) -> Settings:
    settings: Settings = request.app.state.settings
    return settings


async def get_stage_watch(request: Request) -> StageWatch:
    watch: StageWatch = request.app.state.stage_watch
    return watch


PoolDep = Annotated[asyncpg.Pool, Depends(get_pool)]
TemporalDep = Annotated[Client, Depends(get_temporal)]
StageWatchDep = Annotated[StageWatch, Depends(get_stage_watch)]
SettingsDep = Annotated[Settings, Depends(get_app_settings)]


def _query_names(dependant: Dependant) -> set[str]:
    """The query parameters a route and its dependencies take (plain ones: the API declares
    no query models)."""
    names = {field.alias for field in dependant.query_params}
    for sub in dependant.dependencies:
        names |= _query_names(sub)
    return names


# A patient link's token may come as `?token=` instead of a bearer header (api/auth.py).
LINK_TOKEN = "token"


async def refuse_unknown_query(request: Request) -> None:
    """A query parameter the route does not take is refused, as unknown body fields are: a
    misspelt filter (`?stgae=VALIDATION`) would otherwise list every journey."""
    route = request.scope.get("route")
    if not isinstance(route, APIRoute):
        return
    declared: frozenset[str] | None = getattr(route, "_declared_query", None)
    if declared is None:
        declared = frozenset(_query_names(route.dependant) | {LINK_TOKEN})
        route._declared_query = declared  # type: ignore[attr-defined]
    unknown = sorted(set(request.query_params) - declared)
    if unknown:
        raise RequestValidationError(
            [
                {"loc": ("query", name), "msg": "unknown query parameter", "type": "extra"}
                for name in unknown
            ]
        )
