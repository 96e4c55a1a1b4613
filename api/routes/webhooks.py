"""`POST /api/v1/webhooks/clinic`: clinic events, verified by HMAC, applied once each.

The clinic signs `<timestamp>.<raw body>` with HMAC-SHA256 and the shared secret, and sends
`X-Clinic-Signature: t=<unix seconds>,v1=<hex digest>`. A signature older or newer than the
tolerance window is refused, so a captured request cannot be replayed later; an event id seen
before is acknowledged and changes nothing.
"""

import hashlib
import hmac
import time
from typing import Annotated, Any

from fastapi import APIRouter, Header, Request
from fastapi.exceptions import RequestValidationError
from pydantic import ValidationError

from api.deps import PoolDep, SettingsDep, TemporalDep
from api.journey_access import ensure_journey, journey_handle
from api.problems import Problem, ProblemError
from api.schemas import ClinicEvent, ClinicEventAccepted
from db.clinical import ClinicalRepository
from domain.actors import Actor, Role
from domain.steps import Admission, AdverseEventReported, Discharge, ProcedureReported
from workflows.journey import PatientJourney

router = APIRouter(prefix="/webhooks", tags=["webhooks"])
CLINIC = Actor(id="clinic-gateway", role=Role.CLINIC)


def sign(secret: str, timestamp: int, body: bytes) -> str:
    """The signature header value for `body` at `timestamp` (what the clinic computes)."""
    digest = hmac.new(secret.encode(), f"{timestamp}.".encode() + body, hashlib.sha256)
    return f"t={timestamp},v1={digest.hexdigest()}"


def verify(secret: str, header: str | None, body: bytes, tolerance: int) -> None:
    if not header:
        raise ProblemError(401, "Authentication required", "X-Clinic-Signature is missing")
    parts = dict(p.split("=", 1) for p in header.split(",") if "=" in p)
    try:
        timestamp = int(parts.get("t", ""))
    except ValueError:
        raise ProblemError(401, "Authentication required", "the signature is malformed") from None
    if abs(time.time() - timestamp) > tolerance:
        raise ProblemError(
            401,
            "Authentication required",
            "the signature's timestamp is outside the accepted window",
        )
    expected = sign(secret, timestamp, body).split("v1=", 1)[1]
    if not hmac.compare_digest(expected, parts.get("v1", "")):
        raise ProblemError(401, "Authentication required", "the signature does not match")


@router.post(
    "/clinic",
    summary="Clinic events: admission, procedure, discharge, adverse event",
    responses={
        401: {"model": Problem, "description": "Missing, forged or expired signature"},
        404: {"model": Problem, "description": "No such journey"},
        409: {"model": Problem, "description": "The journey refuses this event now"},
        422: {"model": Problem, "description": "Invalid event"},
    },
    openapi_extra={
        "requestBody": {
            "required": True,
            "content": {
                "application/json": {"schema": {"$ref": "#/components/schemas/ClinicEvent"}}
            },
        }
    },
)
async def clinic_event(
    request: Request,
    pool: PoolDep,
    client: TemporalDep,
    settings: SettingsDep,
    signature: Annotated[str | None, Header(alias="X-Clinic-Signature")] = None,
) -> ClinicEventAccepted:
    body = await request.body()
    verify(
        settings.clinic_webhook_secret.get_secret_value(),
        signature,
        body,
        settings.webhook_tolerance_seconds,
    )
    try:
        event = ClinicEvent.model_validate_json(body)
    except ValidationError as err:
        raise RequestValidationError(err.errors()) from None
    await ensure_journey(pool, event.journey_id)
    async with pool.acquire() as conn:
        repo = ClinicalRepository(conn)
        if not await repo.claim_clinic_event(
            event_id=event.event_id, journey_id=event.journey_id, kind=event.type
        ):
            return ClinicEventAccepted(event_id=event.event_id, duplicate=True)
        record_table, record_id = None, None
        step: Any
        update: Any
        try:
            if event.type == "admission":
                update, step = PatientJourney.clinic_admission, Admission(actor=CLINIC)
            elif event.type == "discharge":
                update, step = PatientJourney.clinic_discharge, Discharge(actor=CLINIC)
            elif event.type == "procedure" and event.procedure is not None:
                p = event.procedure
                record_table = ("procedure_reports", "report_id")
                record_id = await repo.add_procedure_report(
                    journey_id=event.journey_id,
                    cells_given=p.cells_given,
                    route=p.route,
                    minutes=p.minutes,
                    lot=p.lot,
                    notes=p.notes,
                )
                update = PatientJourney.procedure_report
                step = ProcedureReported(actor=CLINIC, report_id=record_id)
            else:
                assert event.adverse_event is not None
                a = event.adverse_event
                record_table = ("adverse_events", "event_id")
                record_id = await repo.add_adverse_event(
                    journey_id=event.journey_id, severity=a.severity, description=a.description
                )
                update = PatientJourney.adverse_event
                step = AdverseEventReported(actor=CLINIC, event_id=record_id)
            await journey_handle(client, event.journey_id).execute_update(update, step)
        except BaseException:
            # Refused or failed: forget the delivery so the clinic can send it again.
            if record_table and record_id:
                await conn.execute(
                    f"DELETE FROM {record_table[0]} WHERE {record_table[1]} = $1", record_id
                )
            await conn.execute("DELETE FROM clinic_events WHERE event_id = $1", event.event_id)
            raise
    return ClinicEventAccepted(event_id=event.event_id, duplicate=False)
