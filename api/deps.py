"""Typed dependencies: the pool, the Temporal client and the settings, opened in the lifespan."""

from typing import Annotated

import asyncpg
from fastapi import Depends, Request
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
