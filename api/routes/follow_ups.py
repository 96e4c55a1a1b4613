"""Steps of the follow-up year, sent to the journey's `FollowUp` child workflow."""

from typing import Annotated

import asyncpg
from fastapi import APIRouter

from api import patient_steps
from api.problems import ProblemError
from api.routes.steps import STEP_ERRORS
from api.schemas import FollowUpOutcomeBody, RehabCheckinBody
from api.step_access import JourneyStep, JourneyStepDep, store_then_send
from db.clinical import ClinicalRepository
from db.step_records import StepRecord
from domain.follow_up import FollowUpStatus
from domain.policy import JourneyPolicy
from domain.step_roles import StepName
from domain.steps import FollowUpOutcome
from workflows.follow_up import FollowUp

router = APIRouter(prefix="/journeys/{journey_id}", tags=["follow-up"])

FOLLOW_UPS = len(JourneyPolicy().follow_up_offsets)


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
        return await step.send_to_follow_up(
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
    return await patient_steps.check_in(step, body)
