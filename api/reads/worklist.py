"""The journey list: the console's worklist and `GET /api/v1/journeys`, one read."""

from datetime import datetime, timedelta

import asyncpg

from api.authorization import authorize_role, reach_of
from api.tokens import Principal
from db.claims import ClaimRepository
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
    claim_lapse: timedelta,
) -> WorklistPage:
    """A page of the journeys `principal` reaches: those waiting on them or their role first,
    overdue first, each with its live claims (api/claims.py; they lapse `claim_lapse` after
    their last action); patients' names only for those who may see them."""
    authorize_role(principal, STAFF)
    reach = reach_of(principal)
    assert reach is not None, "every staff role has a scope"
    async with pool.acquire() as conn:
        page = await WorklistRepository(conn).page(
            filters=filters,
            reach=reach,
            priority=priority_for(principal.actor),
            now=now,
            limit=limit,
            offset=offset,
            with_names=principal.actor.role in SEES_PATIENT,
            claim_lapse=claim_lapse,
        )
        ids = [item.journey_id for item in page.items]
        claims = await ClaimRepository(conn).live(journey_ids=ids, lapse=claim_lapse) if ids else {}
    for item in page.items:
        item.claims = claims.get(item.journey_id, [])
    return page
