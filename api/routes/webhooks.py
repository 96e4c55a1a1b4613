"""`POST /api/v1/webhooks/clinic`: clinic events, verified by HMAC, applied once each.

The clinic signs `<timestamp>.<raw body>` with HMAC-SHA256 and the shared secret, and sends
`X-Clinic-Signature: t=<unix seconds>,v1=<hex digest>`. A signature older or newer than the
tolerance window is refused, so a captured request cannot be replayed later; an event id seen
before is acknowledged and changes nothing.
"""

import hashlib
import hmac
import time
from typing import Annotated

from fastapi import APIRouter, Header, Request
from fastapi.exceptions import RequestValidationError
from pydantic import ValidationError

from api.clinic_events import record_clinic_event
from api.deps import PoolDep, SettingsDep
from api.journey_access import ensure_journey
from api.problems import Problem, ProblemError
from api.schemas import ClinicEvent, ClinicEventAccepted
from api.tokens import Principal
from db.clinical import ClinicalRepository
from domain.actors import Actor, Role

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
        claimed = await ClinicalRepository(conn).claim_clinic_event(
            event_id=event.event_id, journey_id=event.journey_id, kind=event.type
        )
    if not claimed:
        return ClinicEventAccepted(event_id=event.event_id, duplicate=True)
    try:
        await record_clinic_event(request, Principal(actor=CLINIC, name="clinic"), event)
    except BaseException:
        # Refused, or not known to have arrived: forget the delivery so the clinic can send
        # it again (a second delivery of an event the journey has is refused as a repeat).
        async with pool.acquire() as conn:
            await ClinicalRepository(conn).forget_clinic_event(event_id=event.event_id)
        raise
    return ClinicEventAccepted(event_id=event.event_id, duplicate=False)
