"""The clinic's events (admission, procedure, discharge, adverse event), as the clinic's
signed webhook and a coordinator both record them: one path, the journey's checks on both
(a dose below the protocol minimum and any adverse event are escalated by the journey)."""

from typing import Literal

import asyncpg
from temporalio.client import Client

from api.journey_access import journey_handle
from api.metrics import StepMetrics
from api.schemas import ClinicAdverseEvent, ClinicProcedure
from api.step_access import send_update, store_then_send
from db.clinical import ClinicalRepository
from db.step_records import StepRecord
from domain.actors import Actor
from domain.journey import JourneyStatus
from domain.steps import Admission, AdverseEventReported, Discharge, ProcedureReported
from workflows.journey import PatientJourney

ClinicEventKind = Literal["admission", "procedure", "discharge", "adverse_event"]


async def record_clinic_event(
    *,
    pool: asyncpg.Pool,
    client: Client,
    journey_id: str,
    actor: Actor,
    kind: ClinicEventKind,
    procedure: ClinicProcedure | None = None,
    adverse_event: ClinicAdverseEvent | None = None,
    within: float,
    metrics: StepMetrics | None = None,
) -> JourneyStatus:
    """Store what the event reports, then send it to the journey; a refusal stores nothing."""
    handle = journey_handle(client, journey_id)
    if kind == "admission":
        return await send_update(
            handle,
            PatientJourney.clinic_admission,
            Admission(actor=actor),
            within=within,
            metrics=metrics,
        )
    if kind == "discharge":
        return await send_update(
            handle,
            PatientJourney.clinic_discharge,
            Discharge(actor=actor),
            within=within,
            metrics=metrics,
        )
    if kind == "procedure":
        assert procedure is not None
        p = procedure

        async def store_report(conn: asyncpg.Connection) -> list[str]:
            report_id = await ClinicalRepository(conn).add_procedure_report(
                journey_id=journey_id,
                cells_given=p.cells_given,
                route=p.route,
                minutes=p.minutes,
                lot=p.lot,
                notes=p.notes,
            )
            return [report_id]

        async def send_report(ids: list[str]) -> JourneyStatus:
            return await send_update(
                handle,
                PatientJourney.procedure_report,
                ProcedureReported(actor=actor, report_id=ids[0]),
                within=within,
                metrics=metrics,
            )

        return await store_then_send(pool, StepRecord.PROCEDURE_REPORT, store_report, send_report)
    assert adverse_event is not None
    a = adverse_event

    async def store_event(conn: asyncpg.Connection) -> list[str]:
        event_id = await ClinicalRepository(conn).add_adverse_event(
            journey_id=journey_id, severity=a.severity, description=a.description
        )
        return [event_id]

    async def send_event(ids: list[str]) -> JourneyStatus:
        return await send_update(
            handle,
            PatientJourney.adverse_event,
            AdverseEventReported(actor=actor, event_id=ids[0]),
            within=within,
            metrics=metrics,
        )

    return await store_then_send(pool, StepRecord.ADVERSE_EVENT, store_event, send_event)
