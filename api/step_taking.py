"""Taking a declared step: store what it records, send its update, answer with the journey.

The API's routes, the console's forms, the patient page's forms and the clinic's webhook all
take steps here, so a step is stored, sent and refused the same whoever asks. What a step is
comes from its declaration (`domain/step_declarations.py`): its update, the model of the
update's argument (filled from the body's fields of the same names), the record stored first
and the argument's field for its id. A few steps need more than that, and have a handler below.

A record is committed before the step is sent, because the journey's activities read it; only
the journey's refusal removes it (`store_then_send`).
"""

from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from typing import Any

import asyncpg
from pydantic import BaseModel
from temporalio.service import RPCError, RPCStatusCode

from api.journey_access import gone, versioned_view
from api.problems import ProblemError
from api.schemas import ContactDetails
from api.step_access import Answer, JourneyStep, StepNotTaken, store_then_send
from api.uploads import Upload
from db.bookings import BookingRepository
from db.clinical import ClinicalRepository
from db.documents import DocumentRepository
from db.erasure import Erased
from db.partner_confirmations import AlreadyConfirmed, LinkUsed, PartnerConfirmationRepository
from db.patients import PatientRepository
from db.staff import StaffRepository
from domain.claims import claim_kind_of
from domain.follow_up import FollowUpStatus
from domain.names import follow_up_workflow_id
from domain.policy import JourneyPolicy
from domain.records import BookingKind
from domain.refusals import Refusal, RefusalCode
from domain.step_bodies import (
    ConsultOutcomeBody,
    ContactBody,
    FollowUpOutcomeBody,
    PartnerConfirmationBody,
    RehabFollowUpBody,
)
from domain.step_declarations import STEPS, StepDeclaration, StepName, StepRecord, Workflow
from domain.steps import DocumentKind, IncidentResolution
from workflows.follow_up import FollowUp
from workflows.journey import PatientJourney

FOLLOW_UPS = len(JourneyPolicy().follow_up_offsets)
Store = Callable[[asyncpg.Connection, JourneyStep, Any], Awaitable[str]]
Handler = Callable[[JourneyStep, Any], Awaitable[Any]]


@dataclass(frozen=True)
class Documents:
    """What a documents step takes: the files, each with the kind it was sent as."""

    uploads: Sequence[tuple[DocumentKind, Upload]]


@dataclass(frozen=True)
class PartnerAnswer:
    """A partner's confirmation of one booking: the body, the booking it confirms, and the
    id of the link it came through (None when a coordinator records it)."""

    body: PartnerConfirmationBody
    booking_id: str
    token_id: str | None = None


@dataclass(frozen=True)
class Numbered:
    """A step on one follow-up consult: its number (from the route's path, or a form's
    field) and what the step takes."""

    number: int
    body: Any = None


async def take(name: StepName, step: JourneyStep, body: Any = None) -> Any:
    """Take the step `name` on `step`'s journey with `body`: the journey's status (or the
    follow-up year's) as its answer; a refusal is raised, having stored nothing."""
    declaration = STEPS[name]
    handler = HANDLERS.get(name)
    if handler is not None:
        answer = await handler(step, body)
    elif isinstance(body, Numbered):
        answer = await send_declared(
            declaration, step, body.body, consult_no=follow_up_number(body.number)
        )
    else:
        answer = await send_declared(declaration, step, body)
    kind = claim_kind_of(name)
    if step.claims is not None and kind is not None:
        await step.claims.step_taken(step.principal.actor, step.journey_id, kind)
    return answer


def follow_up_number(number: int) -> int:
    """The policy says how many follow-up consults there are; another number names none."""
    if not 1 <= number <= FOLLOW_UPS:
        raise ProblemError(404, "Not found", f"follow-up consults are numbered 1 to {FOLLOW_UPS}")
    return number


async def send_declared(
    declaration: StepDeclaration,
    step: JourneyStep,
    body: Any,
    *,
    stored: bool = True,
    **fields: Any,
) -> Any:
    """Store the declared record (if any, and `stored`), then send the declared update with an
    argument of the body's fields, `fields` and the record's id."""
    assert declaration.update is not None and declaration.argument is not None
    update, model = declaration.update, declaration.argument
    given = _fields(model, body) | fields

    async def send(record_ids: list[str]) -> Any:
        if record_ids and declaration.record_field is not None:
            given[declaration.record_field] = record_ids[0]
        argument = model(actor=step.principal.actor, **given)
        if declaration.workflow is Workflow.FOLLOW_UP:
            return await step.send_to_follow_up(update, argument)
        return await step.send(update, argument, declaration.name)

    if declaration.record is None or not stored:
        return await send([])
    store = STORES[declaration.record]

    async def record(conn: asyncpg.Connection) -> list[str]:
        return [await store(conn, step, body)]

    return await store_then_send(step.pool, declaration.record, record, send)


def _fields(model: type[BaseModel], body: Any) -> dict[str, Any]:
    """The body's fields that the update's argument has too (never the actor)."""
    if not isinstance(body, BaseModel):
        return {}
    wanted = set(model.model_fields) - {"actor"}
    return {k: getattr(body, k) for k in type(body).model_fields if k in wanted}


# What each kind of record stores, from the step's body.


def _body_store(add: Callable[..., Awaitable[str]], *, by_field: str | None = None) -> Store:
    """A store of the body's own fields, each the argument of that name of the repository's
    `add`, for the step's journey; `by_field` names the argument that takes who sent it."""

    async def store(conn: asyncpg.Connection, step: JourneyStep, body: BaseModel) -> str:
        sent_by = {by_field: step.principal.actor.id} if by_field else {}
        return await add(
            ClinicalRepository(conn), journey_id=step.journey_id, **dict(body), **sent_by
        )

    return store


async def _partner_confirmation(
    conn: asyncpg.Connection, step: JourneyStep, answer: PartnerAnswer
) -> str:
    try:
        return await PartnerConfirmationRepository(conn).add(
            journey_id=step.journey_id,
            booking_id=answer.booking_id,
            reference=answer.body.reference,
            confirmed_by=answer.body.confirmed_by,
            recorded_by=step.principal.actor.id,
            token_id=answer.token_id,
        )
    except LinkUsed:
        raise _not_taken(RefusalCode.PARTNER_LINK_USED) from None
    except AlreadyConfirmed:
        raise _not_taken(RefusalCode.PARTNER_CONFIRMED) from None


def _not_taken(code: RefusalCode) -> StepNotTaken:
    refusal = Refusal.of(code, step=StepName.PARTNER_CONFIRMATION)
    return StepNotTaken(409, "The journey refused this step", refusal.english, refusal=refusal)


async def _plan(conn: asyncpg.Connection, step: JourneyStep, body: ConsultOutcomeBody) -> str:
    plan = body.plan
    assert plan is not None
    return await ClinicalRepository(conn).add_plan(
        journey_id=step.journey_id,
        specialist_id=step.principal.actor.id,
        price=plan.price,
        currency=plan.currency,
        cells_target=plan.cells_target,
        notes=plan.notes,
    )


async def _follow_up_outcome(conn: asyncpg.Connection, step: JourneyStep, outcome: Numbered) -> str:
    body: FollowUpOutcomeBody = outcome.body
    return await ClinicalRepository(conn).add_follow_up_outcome(
        journey_id=step.journey_id,
        consult_no=outcome.number,
        scores=body.record(),
        notes=body.notes,
        postural_hypotension=body.postural_hypotension,
        recorded_by=step.principal.actor.id,
    )


async def _rehab_follow_up_note(
    conn: asyncpg.Connection, step: JourneyStep, body: RehabFollowUpBody
) -> str:
    return await ClinicalRepository(conn).add_rehab_follow_up_note(
        journey_id=step.journey_id,
        follow_up_no=body.follow_up_no,
        outcome=body.outcome.value,
        note=body.note,
        recorded_by=step.principal.actor.id,
    )


STORES: dict[StepRecord, Store] = {
    StepRecord.TRAVEL: _body_store(ClinicalRepository.add_travel_record, by_field="submitted_by"),
    StepRecord.TRAVEL_CHANGE: _body_store(
        ClinicalRepository.add_travel_change, by_field="submitted_by"
    ),
    StepRecord.PARTNER_CONFIRMATION: _partner_confirmation,
    StepRecord.PROCEDURE_REPORT: _body_store(ClinicalRepository.add_procedure_report),
    StepRecord.ADVERSE_EVENT: _body_store(ClinicalRepository.add_adverse_event),
    StepRecord.REHAB_CHECKIN: _body_store(ClinicalRepository.add_rehab_checkin),
    StepRecord.PLAN: _plan,
    StepRecord.FOLLOW_UP_OUTCOME: _follow_up_outcome,
    StepRecord.REHAB_FOLLOW_UP: _rehab_follow_up_note,
}


# The steps that need more than their declaration.


async def _documents(step: JourneyStep, documents: Documents) -> Answer:
    """Each file stored under the kind it was sent as, then the journey told once."""

    async def store(conn: asyncpg.Connection) -> list[str]:
        repo = DocumentRepository(conn)
        async with conn.transaction():
            return [
                await repo.add(
                    journey_id=step.journey_id,
                    kind=kind.value,
                    filename=upload.filename,
                    content_type=upload.content_type,
                    content=upload.data,
                    uploaded_by=step.principal.actor.id,
                )
                for kind, upload in documents.uploads
            ]

    declaration = STEPS[StepName.DOCUMENTS]
    assert declaration.update is not None and declaration.argument is not None
    update, model = declaration.update, declaration.argument

    async def send(document_ids: list[str]) -> Answer:
        return await step.send(
            update, model(actor=step.principal.actor, document_ids=tuple(document_ids))
        )

    assert declaration.record is not None
    return await store_then_send(step.pool, declaration.record, store, send)


async def _case_manager(step: JourneyStep, body: Any) -> Answer:
    """Only an active case manager can be assigned; the journey checks the rest."""
    async with step.pool.acquire() as conn:
        known = await StaffRepository(conn).is_active(
            staff_id=body.case_manager_id, role="case_manager"
        )
    if not known:
        refusal = Refusal.of(
            RefusalCode.CASE_MANAGER_INACTIVE, case_manager_id=body.case_manager_id
        )
        raise ProblemError(422, "The request has invalid fields", refusal.english, refusal=refusal)
    return await send_declared(STEPS[StepName.CASE_MANAGER], step, body)


async def _book_consult(step: JourneyStep, body: Any) -> Answer:
    """A slot of a specialist who was deactivated since it was offered is not booked; the
    journey checks the rest (that it was offered, and is still to come)."""
    async with step.pool.acquire() as conn:
        specialist = await BookingRepository(conn).slot_specialist(
            journey_id=step.journey_id, slot_id=body.slot_id
        )
        active = specialist is None or await StaffRepository(conn).is_active(
            staff_id=specialist, role="specialist"
        )
    if not active:
        refusal = Refusal.of(RefusalCode.SPECIALIST_INACTIVE)
        raise ProblemError(422, "The slot cannot be booked", refusal.english, refusal=refusal)
    return await send_declared(STEPS[StepName.BOOK_CONSULT], step, body)


async def _consult_outcome(step: JourneyStep, body: ConsultOutcomeBody) -> Answer:
    """An eligible outcome stores its treatment plan first; a not-eligible one stores nothing."""
    eligible = body.eligible and body.plan is not None
    return await send_declared(STEPS[StepName.CONSULT_OUTCOME], step, body, stored=eligible)


async def _partner_confirmed(step: JourneyStep, given: Any) -> Answer:
    """A partner's confirmation: from its link, of the booking the link names; from a
    coordinator, of the hotel or transfer request of that kind that awaits its answer (the
    newest, after a change of dates). Nothing is stored for a booking already confirmed, nor
    through a link used before."""
    if isinstance(given, PartnerAnswer):
        answer = given
    else:
        assert isinstance(given, PartnerConfirmationBody)
        status = await step.handle.query(PatientJourney.status)
        kind = BookingKind(given.booking)
        awaiting = [
            b
            for b in status.bookings
            if b.kind is kind and not (b.cancelled or b.completed or b.confirmed)
        ]
        if not awaiting:
            confirmed = any(
                b.kind is kind and b.confirmed and not b.cancelled for b in status.bookings
            )
            raise _not_taken(
                RefusalCode.PARTNER_CONFIRMED if confirmed else RefusalCode.NO_PARTNER_REQUEST
            )
        answer = PartnerAnswer(given, awaiting[-1].booking_id)
    return await send_declared(
        STEPS[StepName.PARTNER_CONFIRMATION], step, answer, booking_id=answer.booking_id
    )


async def _resolve_incident(step: JourneyStep, body: Any) -> Answer:
    """The journey's incident, or else the follow-up year's, answered with the journey."""
    resolution = IncidentResolution(
        actor=step.principal.actor, action=body.action, incident_number=body.incident_number
    )
    declaration = STEPS[StepName.RESOLVE_INCIDENT]
    assert declaration.update is not None
    status = await step.handle.query(PatientJourney.status)
    if status.incident is None and await _follow_up_incident(step):
        await step.send_to_follow_up(declaration.update, resolution)
        status = await step.handle.query(PatientJourney.status)
        return versioned_view(step.principal, status, step.response)
    return await step.send(declaration.update, resolution)


async def _follow_up_incident(step: JourneyStep) -> bool:
    handle = step.client.get_workflow_handle_for(
        FollowUp.run, follow_up_workflow_id(step.journey_id)
    )
    try:
        follow_up: FollowUpStatus = await handle.query(FollowUp.status)
    except RPCError as err:
        if err.status == RPCStatusCode.NOT_FOUND:
            return False
        raise
    return follow_up.incident is not None


async def _correct_contact(step: JourneyStep, body: ContactBody) -> ContactDetails:
    """Stored in PostgreSQL only; the request's audit row says who changed it and when. The
    next email (a retried incident's, say) goes to the corrected address."""
    try:
        async with step.pool.acquire() as conn:
            updated = await PatientRepository(conn).correct_contact(
                journey_id=step.journey_id, email=body.email, phone=body.phone
            )
    except Erased as erased:
        raise gone(erased) from None
    if updated is None:
        raise ProblemError(404, "Not found", "no such journey")
    return ContactDetails(email=updated.email, phone=updated.phone)


async def _follow_up_outcome_step(step: JourneyStep, outcome: Numbered) -> FollowUpStatus:
    """The outcome's record is stored with its consult's number."""
    declared: FollowUpStatus = await send_declared(
        STEPS[StepName.FOLLOW_UP_OUTCOME],
        step,
        outcome,
        consult_no=follow_up_number(outcome.number),
    )
    return declared


async def _book_follow_up(step: JourneyStep, chosen: Numbered) -> FollowUpStatus:
    """A time of a specialist deactivated since it was offered, or taken meanwhile by another
    patient's booking, is not booked; the year checks the rest (that it was offered for this
    consult, is still to come, and nothing is booked yet)."""
    number, body = follow_up_number(chosen.number), chosen.body
    async with step.pool.acquire() as conn:
        bookings = BookingRepository(conn)
        specialist = await bookings.slot_specialist(
            journey_id=step.journey_id, slot_id=body.slot_id
        )
        active = specialist is None or await StaffRepository(conn).is_active(
            staff_id=specialist, role="specialist"
        )
        taken = specialist is not None and await bookings.taken_by_another(
            journey_id=step.journey_id, slot_id=body.slot_id
        )
    if not active:
        refusal = Refusal.of(RefusalCode.SPECIALIST_INACTIVE)
        raise ProblemError(422, "The slot cannot be booked", refusal.english, refusal=refusal)
    if taken:
        refusal = Refusal.of(RefusalCode.SLOT_GONE)
        raise ProblemError(409, "The slot cannot be booked", refusal.english, refusal=refusal)
    declared: FollowUpStatus = await send_declared(
        STEPS[StepName.BOOK_FOLLOW_UP], step, body, consult_no=number
    )
    return declared


HANDLERS: dict[StepName, Handler] = {
    StepName.DOCUMENTS: _documents,
    StepName.CASE_MANAGER: _case_manager,
    StepName.BOOK_CONSULT: _book_consult,
    StepName.CONSULT_OUTCOME: _consult_outcome,
    StepName.PARTNER_CONFIRMATION: _partner_confirmed,
    StepName.RESOLVE_INCIDENT: _resolve_incident,
    StepName.CORRECT_CONTACT: _correct_contact,
    StepName.FOLLOW_UP_OUTCOME: _follow_up_outcome_step,
    StepName.BOOK_FOLLOW_UP: _book_follow_up,
}
