"""Journey records in PostgreSQL: what the workflow decided, projected for people to query."""

import logging
from collections.abc import Awaitable, Callable
from typing import TypeVar

import asyncpg
from temporalio import activity

from activities.failures import final, found
from db.clinical import ClinicalRepository
from db.incidents import IncidentRepository
from db.journeys import JourneyRepository
from db.staff import StaffRepository
from domain.errors import ActivityFailure
from domain.records import (
    AssessCheckin,
    AssessProcedure,
    CaseManagerAssigned,
    CaseManagerRequest,
    IncidentRecord,
    InquiryFacts,
    ProcedureAssessment,
    RecordInquiry,
    RehabFollowUpRecord,
    SetCaseManager,
    StageChange,
    TravelChangeOutcome,
)
from domain.rehab import CheckinAssessment, judge_week
from observability.activity_metrics import incident_opened

log = logging.getLogger(__name__)
T = TypeVar("T")


class RecordsActivities:
    """Reads and writes journey records; every write is idempotent by journey and step."""

    def __init__(self, pool: asyncpg.Pool) -> None:
        self._pool = pool

    async def _stored(
        self,
        read: Callable[[ClinicalRepository], Awaitable[T | None]],
        failure: ActivityFailure,
        message: str,
    ) -> T:
        """A clinical record the step stored before it was sent: a final failure without it."""
        async with self._pool.acquire() as conn:
            return found(await read(ClinicalRepository(conn)), failure, message)

    @activity.defn(name="record_inquiry")
    async def record_inquiry(self, request: RecordInquiry) -> InquiryFacts:
        async with self._pool.acquire() as conn:
            facts = await JourneyRepository(conn).mark_inquiry_recorded(
                journey_id=request.journey_id, inquiry_id=request.inquiry_id
            )
        return found(
            facts,
            ActivityFailure.INQUIRY_NOT_FOUND,
            f"no inquiry {request.inquiry_id} for journey {request.journey_id}",
        )

    @activity.defn(name="record_stage")
    async def record_stage(self, change: StageChange) -> None:
        async with self._pool.acquire() as conn:
            recorded = await JourneyRepository(conn).record_stage(change=change)
        if recorded:
            # One line per stage change, the journey's ids beside it (observability/logs.py).
            log.info("stage %s, waiting on %s", change.stage.value, change.waiting_on.value)

    @activity.defn(name="record_travel_change")
    async def record_travel_change(self, outcome: TravelChangeOutcome) -> None:
        """Whether a change's dates stood; setting it again is a no-op."""
        async with self._pool.acquire() as conn:
            await ClinicalRepository(conn).set_travel_change(
                journey_id=outcome.journey_id,
                travel_record_id=outcome.travel_record_id,
                status=outcome.status.value,
            )

    @activity.defn(name="record_incident")
    async def record_incident(self, record: IncidentRecord) -> None:
        async with self._pool.acquire() as conn:
            opened = await IncidentRepository(conn).record(record=record)
        if opened:
            incident_opened(record.incident.kind.value)

    @activity.defn(name="assign_case_manager")
    async def assign_case_manager(self, request: CaseManagerRequest) -> CaseManagerAssigned:
        """The journey's case manager: kept if already set (a retry), else the least loaded
        active case manager speaking the patient's language, then English."""
        languages = list(dict.fromkeys([request.language, "en"]))
        async with self._pool.acquire() as conn:
            chosen = await JourneyRepository(conn).assign_case_manager(
                journey_id=request.journey_id, languages=languages
            )
        return CaseManagerAssigned(case_manager_id=chosen)

    @activity.defn(name="set_case_manager")
    async def set_case_manager(self, request: SetCaseManager) -> None:
        async with self._pool.acquire() as conn:
            if not await StaffRepository(conn).is_active(
                staff_id=request.case_manager_id, role="case_manager"
            ):
                raise final(
                    ActivityFailure.UNKNOWN_CASE_MANAGER,
                    f"{request.case_manager_id} is not an active case manager",
                )
            await JourneyRepository(conn).set_case_manager(
                journey_id=request.journey_id, staff_id=request.case_manager_id
            )

    @activity.defn(name="assess_checkin")
    async def assess_checkin(self, request: AssessCheckin) -> CheckinAssessment:
        """The check-in against the rule of six, as it was stored: the journey gets the verdict,
        never the hours."""
        week = await self._stored(
            lambda r: r.checkin_week(journey_id=request.journey_id, checkin_id=request.checkin_id),
            ActivityFailure.CHECKIN_NOT_FOUND,
            f"no check-in {request.checkin_id} for this journey",
        )
        return CheckinAssessment(result=judge_week(*week))

    @activity.defn(name="record_rehab_follow_up")
    async def record_rehab_follow_up(self, record: RehabFollowUpRecord) -> None:
        follow_up = record.follow_up
        async with self._pool.acquire() as conn:
            await ClinicalRepository(conn).record_rehab_follow_up(
                journey_id=record.journey_id,
                number=follow_up.number,
                reason=follow_up.reason.value,
                weeks=follow_up.weeks,
                opened_at=follow_up.since,
                due_at=follow_up.due,
                closed_at=record.closed_at,
                closed_by=record.closed_by,
                record_id=record.record_id,
            )

    @activity.defn(name="assess_procedure")
    async def assess_procedure(self, request: AssessProcedure) -> ProcedureAssessment:
        cells = await self._stored(
            lambda r: r.cells_given(journey_id=request.journey_id, report_id=request.report_id),
            ActivityFailure.REPORT_NOT_FOUND,
            f"no procedure report {request.report_id} for this journey",
        )
        return ProcedureAssessment(below_minimum=cells < request.min_cells)
