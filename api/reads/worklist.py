"""The journey list: the console's worklist and `GET /api/v1/journeys`, one read."""

from datetime import datetime

import asyncpg

from api.authorization import authorize_role, reach_of
from api.tokens import Principal
from db.worklist import WorklistRepository
from domain.readers import SEES_PATIENT, STAFF
from domain.worklist import WorklistFilter, WorklistPage, priority_for


async def read_worklist(
    pool: asyncpg.Pool,
    principal: Principal,
    filters: WorklistFilter,
    *,
    now: datetime,
    limit: int,
    offset: int,
) -> WorklistPage:
    """A page of the journeys `principal` reaches: those waiting on them or their role first,
    overdue first; patients' names only for those who may see them."""
    authorize_role(principal, STAFF)
    reach = reach_of(principal)
    assert reach is not None, "every staff role has a scope"
    async with pool.acquire() as conn:
        return await WorklistRepository(conn).page(
            filters=filters,
            reach=reach,
            priority=priority_for(principal.actor),
            now=now,
            limit=limit,
            offset=offset,
            with_names=principal.actor.role in SEES_PATIENT,
        )
