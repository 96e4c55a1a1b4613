"""Journey records in PostgreSQL: what the workflow decided, projected for people to query."""

import asyncpg
from temporalio import activity
from temporalio.exceptions import ApplicationError

from db.journeys import JourneyRepository
from domain.records import InquiryFacts, RecordInquiry, StageChange


class RecordsActivities:
    """Reads and writes journey records; every write is idempotent by journey and step."""

    def __init__(self, pool: asyncpg.Pool) -> None:
        self._pool = pool

    @activity.defn(name="record_inquiry")
    async def record_inquiry(self, request: RecordInquiry) -> InquiryFacts:
        async with self._pool.acquire() as conn:
            row = await JourneyRepository(conn).mark_inquiry_recorded(
                journey_id=request.journey_id, inquiry_id=request.inquiry_id
            )
        if row is None:
            raise ApplicationError(
                f"no inquiry {request.inquiry_id} for journey {request.journey_id}",
                type="InquiryNotFound",
                non_retryable=True,
            )
        return InquiryFacts(country=row["country"].strip(), language=row["preferred_language"])

    @activity.defn(name="record_stage")
    async def record_stage(self, change: StageChange) -> None:
        async with self._pool.acquire() as conn:
            await JourneyRepository(conn).record_stage(change)
