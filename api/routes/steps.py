"""The human steps of a journey: each endpoint sends one workflow update and answers the
new status. The actor comes from the token; a step the journey refuses is a 409."""

from typing import Annotated, Any

import asyncpg
from fastapi import APIRouter, File, Form, UploadFile

from api import patient_steps
from api.journey_access import VERSIONED
from api.problems import Problem, ProblemError
from api.schemas import (
    CaseManagerBody,
    ClinicConfirmationBody,
    ConsultOutcomeBody,
    PlanDecisionBody,
    ReviewBody,
    SlotChoiceBody,
    TravelBody,
    WithdrawalBody,
)
from api.step_access import Answer, JourneyStep, JourneyStepDep, store_then_send
from api.uploads import read_uploads
from db.clinical import ClinicalRepository
from db.staff import StaffRepository
from db.step_records import StepRecord
from domain.step_roles import StepName
from domain.steps import (
    CaseManagerAssignment,
    ClinicConfirmation,
    ConsultOutcome,
    DocumentKind,
    NoShow,
    ReviewDecision,
)
from workflows.journey import PatientJourney

router = APIRouter(prefix="/journeys/{journey_id}", tags=["steps"])

STEP_ERRORS: dict[int | str, dict[str, Any]] = {
    401: {"model": Problem, "description": "Missing or invalid token"},
    403: {"model": Problem, "description": "Wrong role, or another journey's link"},
    404: {"model": Problem, "description": "No such journey"},
    409: {"model": Problem, "description": "The journey refuses this step now"},
    413: {"model": Problem, "description": "Body too large"},
    422: {"model": Problem, "description": "Invalid data, each field named"},
    503: {"model": Problem, "description": "Temporal did not answer: read the status, retry"},
    504: {"model": Problem, "description": "The journey did not answer in time: read its status"},
}
# The journey's own steps answer with its status and its Journey-Version.
VERSIONED_STEP = {**STEP_ERRORS, **VERSIONED}


@router.post("/review", summary="Review a case (reviewer)", responses=VERSIONED_STEP)
async def review(
    body: ReviewBody, step: Annotated[JourneyStep, JourneyStepDep(StepName.REVIEW)]
) -> Answer:
    return await step.send(
        PatientJourney.review,
        ReviewDecision(
            actor=step.principal.actor,
            outcome=body.outcome,
            reason=body.reason,
            documents=tuple(body.documents),
        ),
    )


@router.post(
    "/documents", summary="Upload documents (patient link, coordinator)", responses=VERSIONED_STEP
)
async def upload_documents(
    step: Annotated[JourneyStep, JourneyStepDep(StepName.DOCUMENTS)],
    kind: Annotated[DocumentKind, Form()],
    files: Annotated[list[UploadFile], File(description="PDF, JPEG, PNG, DICOM or ZIP")],
) -> Answer:
    """The files' types are read from their content; a declared type must agree with it."""
    uploads = await read_uploads(files, max_bytes=step.upload_bytes)
    return await patient_steps.upload_documents(step, [(kind, u) for u in uploads])


@router.post(
    "/case-manager",
    summary="Assign or reassign the case manager (coordinator)",
    responses=VERSIONED_STEP,
)
async def case_manager(
    body: CaseManagerBody, step: Annotated[JourneyStep, JourneyStepDep(StepName.CASE_MANAGER)]
) -> Answer:
    async with step.pool.acquire() as conn:
        known = await StaffRepository(conn).is_active(
            staff_id=body.case_manager_id, role="case_manager"
        )
    if not known:
        raise ProblemError(
            422,
            "The request has invalid fields",
            f"case_manager_id: {body.case_manager_id} is not an active case manager",
        )
    return await step.send(
        PatientJourney.assign_case_manager,
        CaseManagerAssignment(actor=step.principal.actor, case_manager_id=body.case_manager_id),
    )


@router.post(
    "/consult/booking", summary="Book an offered consultation slot", responses=VERSIONED_STEP
)
async def book_consult(
    body: SlotChoiceBody, step: Annotated[JourneyStep, JourneyStepDep(StepName.BOOK_CONSULT)]
) -> Answer:
    return await patient_steps.book_consult(step, body.slot_id)


@router.post(
    "/consult/reschedule", summary="Ask for another consultation time", responses=VERSIONED_STEP
)
async def reschedule(
    step: Annotated[JourneyStep, JourneyStepDep(StepName.RESCHEDULE_CONSULT)],
) -> Answer:
    return await patient_steps.reschedule_consult(step)


@router.post(
    "/consult/outcome",
    summary="Record the consultation outcome and plan (specialist)",
    responses=VERSIONED_STEP,
)
async def consult_outcome(
    body: ConsultOutcomeBody,
    step: Annotated[JourneyStep, JourneyStepDep(StepName.CONSULT_OUTCOME)],
) -> Answer:
    actor = step.principal.actor
    plan = body.plan
    if not body.eligible or plan is None:
        return await step.send(
            PatientJourney.consult_outcome,
            ConsultOutcome(actor=actor, eligible=False, reason=body.reason),
        )

    async def store(conn: asyncpg.Connection) -> list[str]:
        plan_id = await ClinicalRepository(conn).add_plan(
            journey_id=step.journey_id,
            specialist_id=actor.id,
            price=plan.price,
            currency=plan.currency,
            cells_target=plan.cells_target,
            notes=plan.notes,
        )
        return [plan_id]

    async def send(plan_ids: list[str]) -> Answer:
        return await step.send(
            PatientJourney.consult_outcome,
            ConsultOutcome(actor=actor, eligible=True, plan_id=plan_ids[0]),
        )

    return await store_then_send(step.pool, StepRecord.PLAN, store, send)


@router.post(
    "/consult/no-show", summary="The patient did not attend (specialist)", responses=VERSIONED_STEP
)
async def no_show(step: Annotated[JourneyStep, JourneyStepDep(StepName.NO_SHOW)]) -> Answer:
    return await step.send(PatientJourney.consult_no_show, NoShow(actor=step.principal.actor))


@router.post(
    "/plan/decision", summary="Accept or decline the plan (patient link)", responses=VERSIONED_STEP
)
async def plan_decision(
    body: PlanDecisionBody,
    step: Annotated[JourneyStep, JourneyStepDep(StepName.PLAN_DECISION)],
) -> Answer:
    return await patient_steps.decide_plan(step, body.accept)


@router.post("/travel", summary="Send the travel details", responses=VERSIONED_STEP)
async def travel(
    body: TravelBody, step: Annotated[JourneyStep, JourneyStepDep(StepName.TRAVEL)]
) -> Answer:
    return await patient_steps.send_travel(step, body)


@router.post(
    "/clinic/confirmation",
    summary="Record the clinic's answer to a visit request sent by email (coordinator)",
    responses=VERSIONED_STEP,
)
async def clinic_confirmation(
    body: ClinicConfirmationBody,
    step: Annotated[JourneyStep, JourneyStepDep(StepName.CLINIC_CONFIRMATION)],
) -> Answer:
    return await step.send(
        PatientJourney.clinic_confirmation,
        ClinicConfirmation(
            actor=step.principal.actor,
            confirmed=body.confirmed,
            clinic_reference=body.clinic_reference,
        ),
    )


@router.post(
    "/withdrawal",
    summary="Withdraw from the journey (patient link, coordinator)",
    responses=VERSIONED_STEP,
)
async def withdraw(
    step: Annotated[JourneyStep, JourneyStepDep(StepName.WITHDRAW)],
    body: WithdrawalBody | None = None,
) -> Answer:
    reason = body.reason if body else WithdrawalBody().reason
    return await patient_steps.withdraw(step, reason)
