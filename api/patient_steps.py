"""The patient's steps, taken one way: the JSON API's routes and the patient's page both call
these functions, so a step is stored, sent and refused the same whoever asks.

Each stores what the patient wrote first (the journey's activities read it by id), then sends
the step; the journey's refusal (`WorkflowUpdateFailedError`) removes what was stored and is
raised for the caller to word, as a problem+json body or on the page.
"""

from collections.abc import Sequence

import asyncpg

from api.schemas import RehabCheckinBody, TravelBody
from api.step_access import Answer, JourneyStep, store_then_send
from api.uploads import Upload
from db.clinical import ClinicalRepository
from db.documents import DocumentRepository
from db.step_records import StepRecord
from domain.follow_up import FollowUpStatus
from domain.steps import (
    DocumentKind,
    DocumentsReceived,
    PlanDecision,
    RehabCheckin,
    RescheduleRequest,
    SlotBooking,
    TravelDetails,
    Withdrawal,
    WithdrawalReason,
)
from workflows.follow_up import FollowUp
from workflows.journey import PatientJourney


async def upload_documents(
    step: JourneyStep, uploads: Sequence[tuple[DocumentKind, Upload]]
) -> Answer:
    """Store the files, each under the kind it was sent as, then tell the journey once."""

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
                for kind, upload in uploads
            ]

    async def send(document_ids: list[str]) -> Answer:
        return await step.send(
            PatientJourney.documents_received,
            DocumentsReceived(actor=step.principal.actor, document_ids=tuple(document_ids)),
        )

    return await store_then_send(step.pool, StepRecord.DOCUMENT, store, send)


async def book_consult(step: JourneyStep, slot_id: str) -> Answer:
    return await step.send(
        PatientJourney.book_consult, SlotBooking(actor=step.principal.actor, slot_id=slot_id)
    )


async def reschedule_consult(step: JourneyStep) -> Answer:
    return await step.send(
        PatientJourney.reschedule_consult, RescheduleRequest(actor=step.principal.actor)
    )


async def decide_plan(step: JourneyStep, accept: bool) -> Answer:
    return await step.send(
        PatientJourney.plan_decision, PlanDecision(actor=step.principal.actor, accept=accept)
    )


async def send_travel(step: JourneyStep, body: TravelBody) -> Answer:
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


async def check_in(step: JourneyStep, body: RehabCheckinBody) -> FollowUpStatus:
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
        return await step.send_to_follow_up(
            FollowUp.rehab_checkin,
            RehabCheckin(actor=step.principal.actor, week=body.week, checkin_id=checkin_ids[0]),
        )

    return await store_then_send(step.pool, StepRecord.REHAB_CHECKIN, store, send)


async def withdraw(step: JourneyStep, reason: WithdrawalReason) -> Answer:
    return await step.send(
        PatientJourney.withdraw, Withdrawal(actor=step.principal.actor, reason=reason)
    )
