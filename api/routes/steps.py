"""The human steps of a journey: each endpoint sends one workflow update and answers the
new status. The actor comes from the token; a step the journey refuses is a 409."""

import uuid
from typing import Annotated, Any

import asyncpg
from fastapi import APIRouter, File, Form, Response, UploadFile
from temporalio.client import Client
from temporalio.service import RPCError, RPCStatusCode

from api.auth import PrincipalDep, authorize
from api.deps import PoolDep, TemporalDep
from api.journey_access import (
    VERSIONED,
    ensure_journey,
    journey_handle,
    store_then_send,
    versioned_view,
)
from api.problems import Problem, ProblemError
from api.schemas import (
    CaseManagerBody,
    ClinicConfirmationBody,
    ConsultOutcomeBody,
    FollowUpOutcomeBody,
    PatientView,
    PlanDecisionBody,
    RehabCheckinBody,
    ReviewBody,
    SlotChoiceBody,
    TravelBody,
    WithdrawalBody,
)
from api.tokens import Principal
from db.clinical import ClinicalRepository
from db.documents import DocumentRepository
from domain.actors import Role
from domain.follow_up import FollowUpStatus
from domain.journey import JourneyStatus
from domain.names import follow_up_workflow_id
from domain.steps import (
    CaseManagerAssignment,
    ClinicConfirmation,
    ConsultOutcome,
    DocumentKind,
    DocumentsReceived,
    FollowUpOutcome,
    NoShow,
    PlanDecision,
    RehabCheckin,
    RescheduleRequest,
    ReviewDecision,
    SlotBooking,
    TravelDetails,
    Withdrawal,
)
from workflows.follow_up import FollowUp
from workflows.journey import PatientJourney

router = APIRouter(prefix="/journeys/{journey_id}", tags=["steps"])

PATIENT_SIDE = {Role.PATIENT, Role.COORDINATOR}
ALLOWED_UPLOADS = {
    "application/pdf",
    "image/jpeg",
    "image/png",
    "application/dicom",
    "application/zip",
}
STEP_ERRORS: dict[int | str, dict[str, Any]] = {
    401: {"model": Problem, "description": "Missing or invalid token"},
    403: {"model": Problem, "description": "Wrong role, or another journey's link"},
    404: {"model": Problem, "description": "No such journey"},
    409: {"model": Problem, "description": "The journey refuses this step now"},
    413: {"model": Problem, "description": "Body too large"},
    422: {"model": Problem, "description": "Invalid data, each field named"},
}
# The journey's own steps answer with its status and its Journey-Version.
VERSIONED_STEP = {**STEP_ERRORS, **VERSIONED}
Answer = JourneyStatus | PatientView


async def _prepare(
    pool: asyncpg.Pool, principal: Principal, journey_id: uuid.UUID, roles: set[Role]
) -> str:
    jid = str(journey_id)
    authorize(principal, jid, roles)
    await ensure_journey(pool, jid)
    return jid


async def _update(
    client: Client, response: Response, principal: Principal, jid: str, update: Any, step: Any
) -> Answer:
    """Send a step; the answer carries the journey's `Journey-Version`, as a status read does,
    so the client can wait from there for the journey's next move."""
    status = await journey_handle(client, jid).execute_update(update, step)
    return versioned_view(principal, status, response)


@router.post("/review", summary="Review a case (reviewer)", responses=VERSIONED_STEP)
async def review(
    journey_id: uuid.UUID,
    body: ReviewBody,
    principal: PrincipalDep,
    pool: PoolDep,
    client: TemporalDep,
    response: Response,
) -> Answer:
    jid = await _prepare(pool, principal, journey_id, {Role.REVIEWER, Role.MEDICAL_LEAD})
    step = ReviewDecision(
        actor=principal.actor,
        outcome=body.outcome,
        reason=body.reason,
        documents=tuple(body.documents),
    )
    return await _update(client, response, principal, jid, PatientJourney.review, step)


@router.post(
    "/documents", summary="Upload documents (patient link, coordinator)", responses=VERSIONED_STEP
)
async def upload_documents(
    journey_id: uuid.UUID,
    principal: PrincipalDep,
    pool: PoolDep,
    client: TemporalDep,
    response: Response,
    kind: Annotated[DocumentKind, Form()],
    files: Annotated[list[UploadFile], File(description="PDF, JPEG, PNG, DICOM or ZIP")],
) -> Answer:
    jid = await _prepare(pool, principal, journey_id, PATIENT_SIDE)
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
    stored: list[str] = []
    async with pool.acquire() as conn:
        for filename, content_type, data in contents:
            stored.append(
                await DocumentRepository(conn).add(
                    journey_id=jid,
                    kind=kind.value,
                    filename=filename[:200],
                    content_type=content_type,
                    content=data,
                    uploaded_by=principal.actor.id,
                )
            )
    try:
        return await _update(
            client,
            response,
            principal,
            jid,
            PatientJourney.documents_received,
            DocumentsReceived(actor=principal.actor, document_ids=tuple(stored)),
        )
    except BaseException:
        async with pool.acquire() as conn:
            for document_id in stored:
                await DocumentRepository(conn).remove(document_id)
        raise


@router.post(
    "/case-manager",
    summary="Assign or reassign the case manager (coordinator)",
    responses=VERSIONED_STEP,
)
async def case_manager(
    journey_id: uuid.UUID,
    body: CaseManagerBody,
    principal: PrincipalDep,
    pool: PoolDep,
    client: TemporalDep,
    response: Response,
) -> Answer:
    jid = await _prepare(pool, principal, journey_id, {Role.COORDINATOR})
    async with pool.acquire() as conn:
        known = await conn.fetchval(
            """SELECT EXISTS (SELECT 1 FROM staff WHERE staff_id = $1
                                 AND role = 'case_manager' AND active)""",
            body.case_manager_id,
        )
    if not known:
        raise ProblemError(
            422,
            "The request has invalid fields",
            f"case_manager_id: {body.case_manager_id} is not an active case manager",
        )
    step = CaseManagerAssignment(actor=principal.actor, case_manager_id=body.case_manager_id)
    return await _update(client, response, principal, jid, PatientJourney.assign_case_manager, step)


@router.post(
    "/consult/booking", summary="Book an offered consultation slot", responses=VERSIONED_STEP
)
async def book_consult(
    journey_id: uuid.UUID,
    body: SlotChoiceBody,
    principal: PrincipalDep,
    pool: PoolDep,
    client: TemporalDep,
    response: Response,
) -> Answer:
    jid = await _prepare(pool, principal, journey_id, PATIENT_SIDE)
    return await _update(
        client,
        response,
        principal,
        jid,
        PatientJourney.book_consult,
        SlotBooking(actor=principal.actor, slot_id=body.slot_id),
    )


@router.post(
    "/consult/reschedule", summary="Ask for another consultation time", responses=VERSIONED_STEP
)
async def reschedule(
    journey_id: uuid.UUID,
    principal: PrincipalDep,
    pool: PoolDep,
    client: TemporalDep,
    response: Response,
) -> Answer:
    jid = await _prepare(pool, principal, journey_id, PATIENT_SIDE)
    return await _update(
        client,
        response,
        principal,
        jid,
        PatientJourney.reschedule_consult,
        RescheduleRequest(actor=principal.actor),
    )


@router.post(
    "/consult/outcome",
    summary="Record the consultation outcome and plan (specialist)",
    responses=VERSIONED_STEP,
)
async def consult_outcome(
    journey_id: uuid.UUID,
    body: ConsultOutcomeBody,
    principal: PrincipalDep,
    pool: PoolDep,
    client: TemporalDep,
    response: Response,
) -> Answer:
    jid = await _prepare(pool, principal, journey_id, {Role.SPECIALIST})
    if not body.eligible or body.plan is None:
        return await _update(
            client,
            response,
            principal,
            jid,
            PatientJourney.consult_outcome,
            ConsultOutcome(actor=principal.actor, eligible=False, reason=body.reason),
        )
    plan = body.plan

    async def store(conn: asyncpg.Connection) -> str:
        return await ClinicalRepository(conn).add_plan(
            journey_id=jid,
            specialist_id=principal.actor.id,
            price=plan.price,
            currency=plan.currency,
            cells_target=plan.cells_target,
            notes=plan.notes,
        )

    async def send(plan_id: str) -> Answer:
        return await _update(
            client,
            response,
            principal,
            jid,
            PatientJourney.consult_outcome,
            ConsultOutcome(actor=principal.actor, eligible=True, plan_id=plan_id),
        )

    return await store_then_send(pool, store, "treatment_plans", "plan_id", send)


@router.post(
    "/consult/no-show", summary="The patient did not attend (specialist)", responses=VERSIONED_STEP
)
async def no_show(
    journey_id: uuid.UUID,
    principal: PrincipalDep,
    pool: PoolDep,
    client: TemporalDep,
    response: Response,
) -> Answer:
    jid = await _prepare(pool, principal, journey_id, {Role.SPECIALIST})
    return await _update(
        client,
        response,
        principal,
        jid,
        PatientJourney.consult_no_show,
        NoShow(actor=principal.actor),
    )


@router.post(
    "/plan/decision", summary="Accept or decline the plan (patient link)", responses=VERSIONED_STEP
)
async def plan_decision(
    journey_id: uuid.UUID,
    body: PlanDecisionBody,
    principal: PrincipalDep,
    pool: PoolDep,
    client: TemporalDep,
    response: Response,
) -> Answer:
    jid = await _prepare(pool, principal, journey_id, {Role.PATIENT})
    return await _update(
        client,
        response,
        principal,
        jid,
        PatientJourney.plan_decision,
        PlanDecision(actor=principal.actor, accept=body.accept),
    )


@router.post("/travel", summary="Send the travel details", responses=VERSIONED_STEP)
async def travel(
    journey_id: uuid.UUID,
    body: TravelBody,
    principal: PrincipalDep,
    pool: PoolDep,
    client: TemporalDep,
    response: Response,
) -> Answer:
    jid = await _prepare(pool, principal, journey_id, PATIENT_SIDE)

    async def store(conn: asyncpg.Connection) -> str:
        return await ClinicalRepository(conn).add_travel_record(
            journey_id=jid,
            arrival_date=body.arrival_date,
            departure_date=body.departure_date,
            arrival_flight=body.arrival_flight,
            departure_flight=body.departure_flight,
            companions=body.companions,
            needs_visa=body.needs_visa,
            notes=body.notes,
            submitted_by=principal.actor.id,
        )

    async def send(record_id: str) -> Answer:
        return await _update(
            client,
            response,
            principal,
            jid,
            PatientJourney.travel_details,
            TravelDetails(
                actor=principal.actor,
                arrival_date=body.arrival_date,
                departure_date=body.departure_date,
                needs_visa=body.needs_visa,
                travel_record_id=record_id,
            ),
        )

    return await store_then_send(pool, store, "travel_records", "travel_record_id", send)


async def _follow_up(client: Client, jid: str, update: Any, step: Any) -> FollowUpStatus:
    handle = client.get_workflow_handle_for(FollowUp.run, follow_up_workflow_id(jid))
    try:
        result: FollowUpStatus = await handle.execute_update(update, step)
    except RPCError as err:
        if err.status == RPCStatusCode.NOT_FOUND:
            raise ProblemError(
                409, "The journey refused this step", "the follow-up year has not started"
            ) from None
        raise
    return result


@router.post(
    "/clinic/confirmation",
    summary="Record the clinic's answer to a visit request sent by email (coordinator)",
    responses=VERSIONED_STEP,
)
async def clinic_confirmation(
    journey_id: uuid.UUID,
    body: ClinicConfirmationBody,
    principal: PrincipalDep,
    pool: PoolDep,
    client: TemporalDep,
    response: Response,
) -> Answer:
    jid = await _prepare(pool, principal, journey_id, {Role.COORDINATOR})
    step = ClinicConfirmation(
        actor=principal.actor, confirmed=body.confirmed, clinic_reference=body.clinic_reference
    )
    return await _update(client, response, principal, jid, PatientJourney.clinic_confirmation, step)


@router.post(
    "/follow-ups/{number}/outcome",
    summary="Record a follow-up consult (specialist)",
    responses=STEP_ERRORS,
)
async def follow_up_outcome(
    journey_id: uuid.UUID,
    number: int,
    body: FollowUpOutcomeBody,
    principal: PrincipalDep,
    pool: PoolDep,
    client: TemporalDep,
) -> FollowUpStatus:
    jid = await _prepare(pool, principal, journey_id, {Role.SPECIALIST})
    if not 1 <= number <= 5:
        raise ProblemError(404, "Not found", "follow-up consults are numbered 1 to 5")
    scores = body.model_dump(exclude={"notes", "postural_hypotension"}, exclude_none=True)

    async def store(conn: asyncpg.Connection) -> str:
        return await ClinicalRepository(conn).add_follow_up_outcome(
            journey_id=jid,
            consult_no=number,
            scores=scores,
            notes=body.notes,
            postural_hypotension=body.postural_hypotension,
        )

    async def send(outcome_id: str) -> FollowUpStatus:
        return await _follow_up(
            client,
            jid,
            FollowUp.record_outcome,
            FollowUpOutcome(actor=principal.actor, consult_no=number, outcome_id=outcome_id),
        )

    return await store_then_send(pool, store, "follow_up_outcomes", "outcome_id", send)


@router.post(
    "/rehab-checkins",
    summary="Weekly rehabilitation check-in (patient link)",
    responses=STEP_ERRORS,
)
async def rehab_checkin(
    journey_id: uuid.UUID,
    body: RehabCheckinBody,
    principal: PrincipalDep,
    pool: PoolDep,
    client: TemporalDep,
) -> FollowUpStatus:
    jid = await _prepare(pool, principal, journey_id, {Role.PATIENT})

    async def store(conn: asyncpg.Connection) -> str:
        return await ClinicalRepository(conn).add_rehab_checkin(
            journey_id=jid,
            week=body.week,
            walking_hours_per_day=body.walking_hours_per_day,
            days_per_week=body.days_per_week,
            notes=body.notes,
        )

    async def send(checkin_id: str) -> FollowUpStatus:
        return await _follow_up(
            client,
            jid,
            FollowUp.rehab_checkin,
            RehabCheckin(actor=principal.actor, week=body.week, checkin_id=checkin_id),
        )

    return await store_then_send(pool, store, "rehab_checkins", "checkin_id", send)


@router.post(
    "/withdrawal",
    summary="Withdraw from the journey (patient link, coordinator)",
    responses=VERSIONED_STEP,
)
async def withdraw(
    journey_id: uuid.UUID,
    principal: PrincipalDep,
    pool: PoolDep,
    client: TemporalDep,
    response: Response,
    body: WithdrawalBody | None = None,
) -> Answer:
    jid = await _prepare(pool, principal, journey_id, PATIENT_SIDE)
    reason = body.reason if body else WithdrawalBody().reason
    return await _update(
        client,
        response,
        principal,
        jid,
        PatientJourney.withdraw,
        Withdrawal(actor=principal.actor, reason=reason),
    )
