"""Steps of the follow-up year, sent to the journey's `FollowUp` child workflow."""

from typing import Annotated, Any

import asyncpg
from fastapi import APIRouter
from temporalio.service import RPCError, RPCStatusCode

from api.problems import ProblemError
from api.routes.steps import STEP_ERRORS
from api.schemas import FollowUpOutcomeBody, RehabCheckinBody
from api.step_access import JourneyStep, JourneyStepDep, store_then_send
from db.clinical import ClinicalRepository
from db.step_records import StepRecord
from domain.follow_up import FollowUpStatus
from domain.names import follow_up_workflow_id
from domain.policy import JourneyPolicy
from domain.step_roles import StepName
from domain.steps import FollowUpOutcome, RehabCheckin
from workflows.follow_up import FollowUp

router = APIRouter(prefix="/journeys/{journey_id}", tags=["follow-up"])

FOLLOW_UPS = len(JourneyPolicy().follow_up_offsets)


async def send_to_follow_up(step: JourneyStep, update: Any, body: Any) -> FollowUpStatus:
    handle = step.client.get_workflow_handle_for(
        FollowUp.run, follow_up_workflow_id(step.journey_id)
    )
    try:
        result: FollowUpStatus = await step.send_to(handle, update, body)
    except RPCError as err:
        if err.status == RPCStatusCode.NOT_FOUND:
            raise ProblemError(
                409, "The journey refused this step", "the follow-up year has not started"
            ) from None
        raise
    return result


@router.post(
    "/follow-ups/{number}/outcome",
    summary="Record a follow-up consult (specialist)",
    responses=STEP_ERRORS,
)
async def follow_up_outcome(
    number: int,
    body: FollowUpOutcomeBody,
    step: Annotated[JourneyStep, JourneyStepDep(StepName.FOLLOW_UP_OUTCOME)],
) -> FollowUpStatus:
    if not 1 <= number <= FOLLOW_UPS:
        raise ProblemError(404, "Not found", f"follow-up consults are numbered 1 to {FOLLOW_UPS}")
    scores = body.model_dump(exclude={"notes", "postural_hypotension"}, exclude_none=True)

    async def store(conn: asyncpg.Connection) -> list[str]:
        outcome_id = await ClinicalRepository(conn).add_follow_up_outcome(
            journey_id=step.journey_id,
            consult_no=number,
            scores=scores,
            notes=body.notes,
            postural_hypotension=body.postural_hypotension,
        )
        return [outcome_id]

    async def send(outcome_ids: list[str]) -> FollowUpStatus:
        return await send_to_follow_up(
            step,
            FollowUp.record_outcome,
            FollowUpOutcome(
                actor=step.principal.actor, consult_no=number, outcome_id=outcome_ids[0]
            ),
        )

    return await store_then_send(step.pool, StepRecord.FOLLOW_UP_OUTCOME, store, send)


@router.post(
    "/rehab-checkins",
    summary="Weekly rehabilitation check-in (patient link; a case manager for the patient)",
    responses=STEP_ERRORS,
)
async def rehab_checkin(
    body: RehabCheckinBody,
    step: Annotated[JourneyStep, JourneyStepDep(StepName.REHAB_CHECKIN)],
) -> FollowUpStatus:
    async def store(conn: asyncpg.Connection) -> list[str]:
        checkin_id = await ClinicalRepository(conn).add_rehab_checkin(
            journey_id=step.journey_id,
            week=body.week,
            walking_hours_per_day=body.walking_hours_per_day,
            days_per_week=body.days_per_week,
            notes=body.notes,
        )
        return [checkin_id]

    async def send(checkin_ids: list[str]) -> FollowUpStatus:
        return await send_to_follow_up(
            step,
            FollowUp.rehab_checkin,
            RehabCheckin(actor=step.principal.actor, week=body.week, checkin_id=checkin_ids[0]),
        )

    return await store_then_send(step.pool, StepRecord.REHAB_CHECKIN, store, send)
