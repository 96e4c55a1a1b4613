"""Journey records the workflow's activities read and write."""

from collections.abc import Sequence

from db.repository import Repository
from db.staff import StaffRepository
from domain.records import InquiryFacts, StageChange

# Recording a stage change notifies this channel with the journey id (no patient data), so
# the API can answer the requests waiting for that journey to move (api/journey_watch.py).
STAGE_CHANNEL = "journey_stage"


class JourneyRepository(Repository):
    """Owns the SQL of journey records."""

    async def mark_inquiry_recorded(
        self, *, journey_id: str, inquiry_id: str
    ) -> InquiryFacts | None:
        """Mark the inquiry as taken over by its journey; returns the patient's country and
        language, or None when the journey has no such inquiry.

        Idempotent: the first time wins and later calls read the same row.
        """
        row = await self._conn.fetchrow(
            """UPDATE inquiries i SET recorded_at = COALESCE(i.recorded_at, now())
                 FROM patients p
                WHERE i.inquiry_id = $1 AND i.journey_id = $2 AND p.patient_id = i.patient_id
            RETURNING p.country, p.preferred_language""",
            inquiry_id,
            journey_id,
        )
        if row is None:
            return None
        # char(2): a shorter value comes back padded with blanks.
        return InquiryFacts(country=row["country"].strip(), language=row["preferred_language"])

    async def record_stage(self, *, change: StageChange) -> bool:
        """Append a stage change and project it on the journey; False if it was recorded."""
        async with self._conn.transaction():
            inserted = await self._conn.fetchval(
                """INSERT INTO stage_changes (journey_id, seq, stage, waiting_on, next_deadline,
                                              actor_id, actor_role, changed_at, reason)
                   VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)
                   ON CONFLICT DO NOTHING RETURNING seq""",
                change.journey_id,
                change.seq,
                change.stage.value,
                change.waiting_on.value,
                change.deadline,
                change.actor_id,
                change.actor_role,
                change.changed_at,
                change.reason,
            )
            if inserted is None:
                return False
            # Only a newer change moves the projection, so a late retry cannot move it back.
            # A change without a reviewer (one before the decision) keeps the one recorded.
            await self._conn.execute(
                """UPDATE journeys SET stage = $2, waiting_on = $3, next_deadline = $4,
                                       reviewer_id = coalesce($6, reviewer_id),
                                       updated_at = now()
                    WHERE journey_id = $1
                      AND NOT EXISTS (SELECT 1 FROM stage_changes
                                       WHERE journey_id = $1 AND seq > $5)""",
                change.journey_id,
                change.stage.value,
                change.waiting_on.value,
                change.deadline,
                change.seq,
                change.reviewer_id,
            )
            # Delivered when the transaction commits, never for a change rolled back.
            await self._conn.execute(
                "SELECT pg_notify($1, $2::uuid::text)", STAGE_CHANNEL, change.journey_id
            )
            return True

    async def recorded_changes(self, *, journey_id: str) -> int:
        """How many stage changes of the journey are recorded (the last one's number)."""
        count: int = await self._conn.fetchval(
            "SELECT coalesce(max(seq), 0) FROM stage_changes WHERE journey_id = $1", journey_id
        )
        return count

    async def assign_case_manager(self, *, journey_id: str, languages: Sequence[str]) -> str | None:
        """The journey's case manager: kept if already set (a retry), else the least loaded
        active case manager speaking the first of `languages` that one speaks, recorded on
        the journey; None when there is none.

        The journey's row is locked first, so two attempts at once choose once.
        """
        async with self._conn.transaction():
            current: str | None = await self._conn.fetchval(
                "SELECT case_manager_id FROM journeys WHERE journey_id = $1 FOR UPDATE",
                journey_id,
            )
            if current:
                return current
            chosen = await StaffRepository(self._conn).least_loaded_case_manager(
                languages=languages
            )
            if chosen is not None:
                await self.set_case_manager(journey_id=journey_id, staff_id=chosen)
            return chosen

    async def set_case_manager(self, *, journey_id: str, staff_id: str) -> None:
        await self._conn.execute(
            "UPDATE journeys SET case_manager_id = $2 WHERE journey_id = $1",
            journey_id,
            staff_id,
        )

    async def set_specialist(self, *, journey_id: str, staff_id: str) -> None:
        """The specialist whose consult slots the journey was offered."""
        await self._conn.execute(
            "UPDATE journeys SET specialist_id = $2 WHERE journey_id = $1",
            journey_id,
            staff_id,
        )
