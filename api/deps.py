"""Typed dependencies: the pool, the Temporal client and the settings, opened in the lifespan."""

from typing import Annotated

import asyncpg
from fastapi import Depends, Request
from temporalio.client import Client

from settings import Settings


def get_pool(request: Request) -> asyncpg.Pool:
    pool: asyncpg.Pool = request.app.state.pool
    return pool


def get_temporal(request: Request) -> Client:
    client: Client = request.app.state.temporal
    return client


def get_app_settings(request: Request) -> Settings:
    settings: Settings = request.app.state.settings
    return settings


PoolDep = Annotated[asyncpg.Pool, Depends(get_pool)]
TemporalDep = Annotated[Client, Depends(get_temporal)]
SettingsDep = Annotated[Settings, Depends(get_app_settings)]
