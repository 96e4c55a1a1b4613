"""The human steps of a journey: each endpoint sends one workflow update and answers the
new status. The actor comes from the token; a step the journey refuses is a 409."""

from typing import Annotated, Any

import asyncpg
from fastapi import APIRouter, File, Form, UploadFile

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
from db.clinical import ClinicalRepository
from db.documents import DocumentRepository
from db.staff import StaffRepository
from db.step_records import StepRecord
from domain.step_roles import StepName
from domain.steps import (
    DOCUMENT_MEDIA_TYPES,
    CaseManagerAssignment,
    ClinicConfirmation,
    ConsultOutcome,
    DocumentKind,
    DocumentsReceived,
    NoShow,
    PlanDecision,
    RescheduleRequest,
    ReviewDecision,
    SlotBooking,
    TravelDetails,
    Withdrawal,
)
from workflows.journey import PatientJourney

router = APIRouter(prefix="/journeys/{journey_id}", tags=["steps"])

ALLOWED_UPLOADS = DOCUMENT_MEDIA_TYPES
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
    if not 1 <= len(files) <= 10:
        raise ProblemError(422, "The request has invalid fields", "send 1 to 10 files")
    contents = []
    for upload in files:
        content_type = (upload.content_type or "").split(";")[0]
        if content_type not in ALLOWED_UPLOADS:
            raise ProblemError(
                415,
                "Unsupported media type",
                f"{upload.filename}: send PDF, JPEG, PNG, DICOM or ZIP",
            )
        data = await upload.read()
        if not data:
            raise ProblemError(422, "The request has invalid fields", f"{upload.filename} is empty")
        contents.append((upload.filename or "document", content_type, data))

    async def store(conn: asyncpg.Connection) -> list[str]:
        repo = DocumentRepository(conn)
        return [
            await repo.add(
                journey_id=step.journey_id,
                kind=kind.value,
                filename=filename[:200],
                content_type=content_type,
                content=data,
                uploaded_by=step.principal.actor.id,
            )
            for filename, content_type, data in contents
        ]

    async def send(document_ids: list[str]) -> Answer:
        return await step.send(
            PatientJourney.documents_received,
            DocumentsReceived(actor=step.principal.actor, document_ids=tuple(document_ids)),
        )

    return await store_then_send(step.pool, StepRecord.DOCUMENT, store, send)


@router.post(
    "/case-manager",
    summary="Assign or reassign the case manager (coordinator)",
    responses=VERSIONED_STEP,
)
async def case_manager(
    body: CaseManagerBody, step: Annotated[JourneyStep, JourneyStepDep(StepName.CASE_MANAGER)]
) -> Answer:
    async with step.pool.acquire() as conn:
        known = await StaffRepository(conn).is_active(body.case_manager_id, "case_manager")
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
    return await step.send(
        PatientJourney.book_consult, SlotBooking(actor=step.principal.actor, slot_id=body.slot_id)
    )


@router.post(
    "/consult/reschedule", summary="Ask for another consultation time", responses=VERSIONED_STEP
)
async def reschedule(
    step: Annotated[JourneyStep, JourneyStepDep(StepName.RESCHEDULE_CONSULT)],
) -> Answer:
    return await step.send(
        PatientJourney.reschedule_consult, RescheduleRequest(actor=step.principal.actor)
    )


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
    return await step.send(
        PatientJourney.plan_decision, PlanDecision(actor=step.principal.actor, accept=body.accept)
    )


@router.post("/travel", summary="Send the travel details", responses=VERSIONED_STEP)
async def travel(
    body: TravelBody, step: Annotated[JourneyStep, JourneyStepDep(StepName.TRAVEL)]
) -> Answer:
    async def store(conn: asyncpg.Connection) -> list[str]:
        record_id = await ClinicalRepository(conn).add_travel_record(
            journey_id=step.journey_id,
            arrival_date=body.arrival_date,
            departure_date=body.departure_date,
            arrival_flight=body.arrival_flight,
            departure_flight=body.departure_flight,
            companions=body.companions,
            needs_visa=body.needs_visa,
            notes=body.notes,
            submitted_by=step.principal.actor.id,
        )
        return [record_id]

    async def send(record_ids: list[str]) -> Answer:
        return await step.send(
            PatientJourney.travel_details,
            TravelDetails(
                actor=step.principal.actor,
                arrival_date=body.arrival_date,
                departure_date=body.departure_date,
                needs_visa=body.needs_visa,
                travel_record_id=record_ids[0],
            ),
        )

    return await store_then_send(step.pool, StepRecord.TRAVEL, store, send)


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
    return await step.send(
        PatientJourney.withdraw, Withdrawal(actor=step.principal.actor, reason=reason)
    )
