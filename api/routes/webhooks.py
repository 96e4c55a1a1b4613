"""`POST /api/v1/webhooks/clinic`: clinic events, verified by HMAC, applied once each.

The clinic signs `<timestamp>.<raw body>` with HMAC-SHA256 and the shared secret, and sends
`X-Clinic-Signature: t=<unix seconds>,v1=<hex digest>`. A signature older or newer than the
tolerance window is refused, so a captured request cannot be replayed later. Within the window
the event id answers for it: an event taken before is acknowledged and changes nothing, and an
event the journey refused is refused again, whoever sends it.
"""

import hashlib
import hmac
import re
import time
from typing import Annotated

from fastapi import APIRouter, Header, Request
from fastapi.exceptions import RequestValidationError
from pydantic import ValidationError
from temporalio.client import WorkflowUpdateFailedError

from api.clinic_events import record_clinic_event
from api.deps import PoolDep, SettingsDep
from api.journey_access import ensure_journey
from api.problems import Problem, ProblemError, problems, step_refusal
from api.schemas import ClinicEvent, ClinicEventAccepted
from api.tokens import Principal
from db.clinical import ClinicalRepository
from domain.actors import Actor, Role
from domain.refusals import Refusal, RefusalParams

router = APIRouter(prefix="/webhooks", tags=["webhooks"])
CLINIC = Actor(id="clinic-gateway", role=Role.CLINIC)
CLINIC_PRINCIPAL = Principal(actor=CLINIC, name="clinic")


def sign(secret: str, timestamp: int, body: bytes) -> str:
    """The signature header value for `body` at `timestamp` (what the clinic computes)."""
    digest = hmac.new(secret.encode(), f"{timestamp}.".encode() + body, hashlib.sha256)
    return f"t={timestamp},v1={digest.hexdigest()}"


# `t=<unix seconds>` and `v1=<hex digest>`, in ASCII: anything else is no signature of ours
# (and non-ASCII text would make `hmac.compare_digest` raise rather than answer).
TIMESTAMP = re.compile(r"[0-9]{1,12}")
DIGEST = re.compile(r"[0-9a-fA-F]{64}")


def verify(secret: str, header: str | None, body: bytes, tolerance: int) -> None:
    if not header:
        raise ProblemError(401, "Authentication required", "X-Clinic-Signature is missing")
    parts = dict(p.split("=", 1) for p in header.split(",") if "=" in p)
    sent_at, digest = parts.get("t", "").strip(), parts.get("v1", "").strip()
    if not (TIMESTAMP.fullmatch(sent_at) and DIGEST.fullmatch(digest)):
        raise ProblemError(401, "Authentication required", "the signature is malformed")
    timestamp = int(sent_at)
    if abs(time.time() - timestamp) > tolerance:
        raise ProblemError(
            401,
            "Authentication required",
            "the signature's timestamp is outside the accepted window",
        )
    expected = sign(secret, timestamp, body).split("v1=", 1)[1]
    if not hmac.compare_digest(expected, digest.lower()):
        raise ProblemError(401, "Authentication required", "the signature does not match")


@router.post(
    "/clinic",
    summary="Clinic events: admission, procedure, discharge, adverse event",
    responses=problems(
        {
            401: "Missing, forged or expired signature",
            404: "No such journey",
            409: "The journey refuses this event now",
            422: "Invalid event",
        }
    ),
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
    # From here the clinic is who calls: the audit row names it, and the journey its event
    # is for (api/audit_trail.py).
    request.state.principal = CLINIC_PRINCIPAL
    try:
        event = ClinicEvent.model_validate_json(body)
    except ValidationError as err:
        raise RequestValidationError(err.errors()) from None
    request.state.journey_id = event.journey_id
    await ensure_journey(pool, event.journey_id)
    async with pool.acquire() as conn:
        repo = ClinicalRepository(conn)
        claimed = await repo.claim_clinic_event(
            event_id=event.event_id, journey_id=event.journey_id, kind=event.type
        )
        refusal = None if claimed else await repo.clinic_event_refusal(event_id=event.event_id)
    if not claimed:
        if refusal is not None:
            said = Problem.model_validate(refusal)
            raise ProblemError(
                said.status,
                said.title,
                said.detail,
                type_=said.type,
                refusal=Refusal(code=said.code, params=said.params or RefusalParams())
                if said.code
                else None,
            )
        return ClinicEventAccepted(event_id=event.event_id, duplicate=True)
    try:
        await record_clinic_event(request, CLINIC_PRINCIPAL, event)
    except BaseException as err:
        refused = _refusal(err)
        async with pool.acquire() as conn:
            repo = ClinicalRepository(conn)
            if refused is not None:
                # The journey said no: the event's id stays spent with that answer, so the
                # same signed request sent again within its window cannot be taken later,
                # once the journey would take such an event. The clinic sends a new event.
                await repo.refuse_clinic_event(
                    event_id=event.event_id,
                    refusal=refused.model_dump(mode="json", exclude_none=True),
                )
            else:
                # Not known to have arrived (a timeout, Temporal unavailable): forget the
                # delivery so the clinic can send it again; a second delivery of an event the
                # journey has is refused by the journey as a repeat.
                await repo.forget_clinic_event(event_id=event.event_id)
        raise
    return ClinicEventAccepted(event_id=event.event_id, duplicate=False)


def _refusal(err: BaseException) -> Problem | None:
    """The answer to an event its journey certainly did not take; None when the event may
    have reached it."""
    if isinstance(err, WorkflowUpdateFailedError):
        return step_refusal(err)
    if isinstance(err, ProblemError) and 400 <= err.status < 500:
        return Problem(
            type=err.type_,
            title=err.title,
            status=err.status,
            detail=err.detail,
            code=err.refusal.code if err.refusal else None,
            params=err.refusal.params if err.refusal else None,
        )
    return None
