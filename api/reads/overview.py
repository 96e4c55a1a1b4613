"""The overview of all journeys: counts and durations, no journey and no patient named."""

from datetime import datetime

import asyncpg

from api.authorization import authorize_role
from api.tokens import Principal
from db.overview import OverviewRepository
from domain.overview import Overview
from domain.readers import SEES_OVERVIEW


async def read_overview(
    pool: asyncpg.Pool, principal: Principal, *, now: datetime, time_zone: str
) -> Overview:
    """Every figure of the overview as of `now`, weeks beginning on Monday in `time_zone`."""
    authorize_role(principal, SEES_OVERVIEW)
    async with pool.acquire() as conn:
        return await OverviewRepository(conn).overview(now=now, time_zone=time_zone)
