"""Privacy routes: consent withdrawal, erasure requests and erasure, legal holds, the
patient's own copy of their data, and who accessed it (GDPR Art. 7, 15, 17, 20)."""

import inspect
import uuid
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Query, Request, Response
from fastapi.responses import JSONResponse

from api.auth import PrincipalDep
from api.authorization import authorize, authorize_role
from api.deps import PoolDep, SettingsDep
from api.privacy_schemas import (
    AccessesQuery,
    ConsentView,
    ErasureBody,
    ErasureRequestsQuery,
    ExportQuery,
    PrivacyRecord,
    ReasonBody,
)
from api.problems import ProblemError, problems
from api.query import TAKES_NO_QUERY
from api.step_access import JourneyStep, open_step
from db.accesses import Access, AccessRepository
from db.consents import ConsentRepository
from db.erasure import ErasureRecord, ErasureRepository
from db.legal_holds import ErasureRequest, LegalHoldRepository
from domain.actors import Role
from domain.readers import SEES_ERASURE_REQUESTS, SEES_PRIVACY_RECORD
from domain.step_declarations import StepName
from privacy import erasure
from privacy.consent import withdraw_consent
from privacy.export import collect, subject_document
from privacy.fhir_export import FHIR_JSON, subject_bundle

router = APIRouter(tags=["privacy"])

ERRORS = problems(
    {
        401: "Missing or invalid token",
        403: "Wrong role, or another journey's link",
        404: "No such journey (or request)",
        409: "Not now, and why: erased, held, withdrawn already",
        422: "Invalid fields, each named",
    }
)
STEP_ERRORS = ERRORS | problems(
    {
        503: "Temporal did not answer: read the status, retry",
        504: "Still under way: read the privacy record later",
    }
)


def PrivacyStepDep(name: StepName) -> Any:
    """A dependency giving the route a `JourneyStep` for a caller allowed to take `name`; an
    erasure tells a coordinator where to ask for one instead."""

    async def privacy_step(
        journey_id: uuid.UUID, principal: PrincipalDep, request: Request, response: Response
    ) -> JourneyStep:
        jid = str(journey_id)
        if name is StepName.ERASE and principal.actor.role is Role.COORDINATOR:
            raise ProblemError(
                403,
                "Forbidden",
                "a privacy officer carries out erasures; coordinators ask for one with "
                f"POST /api/v1/journeys/{jid}/erasure-requests",
            )
        return await open_step(
            name, principal=principal, journey_id=jid, request=request, response=response
        )

    return Depends(privacy_step)


@router.post(
    "/journeys/{journey_id}/consent/withdrawal",
    summary="Withdraw consent to the processing of health data: the journey ends WITHDRAWN "
    "(patient link, coordinator for the patient)",
    responses=STEP_ERRORS,
    dependencies=[TAKES_NO_QUERY],
)
async def consent_withdrawal(
    step: Annotated[JourneyStep, PrivacyStepDep(StepName.WITHDRAW_CONSENT)],
) -> ConsentView:
    consent = await withdraw_consent(
        step.pool,
        step.client,
        step.journey_id,
        actor=step.principal.actor,
        within=step.answer_within,
    )
    return ConsentView.of(consent)


@router.post(
    "/journeys/{journey_id}/erasure",
    summary="Erase the journey's personal data now, withdrawing it first if it runs "
    "(privacy officer)",
    responses=STEP_ERRORS,
    dependencies=[TAKES_NO_QUERY],
)
async def erase(
    body: ErasureBody,
    step: Annotated[JourneyStep, PrivacyStepDep(StepName.ERASE)],
    settings: SettingsDep,
) -> ErasureRecord:
    return await erasure.erase(
        step.pool,
        step.client,
        step.journey_id,
        actor=step.principal.actor,
        reason=body.reason,
        request_id=str(body.request_id) if body.request_id else None,
        task_queue=settings.task_queue,
        within=step.answer_within,
    )


@dataclass(frozen=True)
class ReasonStep:
    """A privacy step that takes only a reason: its route, and the change it makes."""

    path: str
    step: StepName
    summary: str
    change: Callable[..., Awaitable[Any]]
    status_code: int | None = None


# Declared in the order of their routes, with the function each route is named after.
REASON_STEPS = (
    ReasonStep(
        "/journeys/{journey_id}/erasure-requests",
        StepName.REQUEST_ERASURE,
        "Ask a privacy officer to erase the journey's personal data (coordinator)",
        erasure.request_erasure,
        status_code=201,
    ),
    ReasonStep(
        "/journeys/{journey_id}/legal-hold",
        StepName.LEGAL_HOLD,
        "Place a legal hold: the journey's records are not erased until it is lifted "
        "(privacy officer)",
        erasure.place_hold,
        status_code=201,
    ),
    ReasonStep(
        "/journeys/{journey_id}/legal-hold/lift",
        StepName.LEGAL_HOLD,
        "Lift the journey's legal hold (privacy officer)",
        erasure.lift_hold,
    ),
)


def _reason_route(declared: ReasonStep) -> None:
    async def endpoint(
        body: ReasonBody, step: Annotated[JourneyStep, PrivacyStepDep(declared.step)]
    ) -> Any:
        return await declared.change(
            step.pool, step.journey_id, actor=step.principal.actor, reason=body.reason
        )

    answer = inspect.signature(declared.change).return_annotation
    router.add_api_route(
        declared.path,
        endpoint,
        methods=["POST"],
        name=declared.change.__name__,
        status_code=declared.status_code,
        summary=declared.summary,
        response_model=answer,
        responses=ERRORS,
        dependencies=[TAKES_NO_QUERY],
    )


for _declared in REASON_STEPS:
    _reason_route(_declared)


@router.get(
    "/journeys/{journey_id}/privacy",
    summary="The journey's consents, legal holds, erasure requests and erasure "
    "(privacy officer, coordinator)",
    responses=ERRORS,
    dependencies=[TAKES_NO_QUERY],
)
async def privacy_record(
    journey_id: uuid.UUID, principal: PrincipalDep, pool: PoolDep
) -> PrivacyRecord:
    jid = str(journey_id)
    await authorize(pool, principal, jid, SEES_PRIVACY_RECORD)
    async with pool.acquire() as conn:
        holds = LegalHoldRepository(conn)
        return PrivacyRecord(
            journey_id=jid,
            consents=[
                ConsentView.of(c) for c in await ConsentRepository(conn).for_journey(journey_id=jid)
            ],
            legal_holds=await holds.holds(journey_id=jid),
            erasure_requests=await holds.erasure_requests(journey_id=jid),
            erasure=await ErasureRepository(conn).tombstone(journey_id=jid),
        )


@router.get(
    "/journeys/{journey_id}/export",
    summary="Everything held about the patient, as one JSON file (the patient's link, "
    "privacy officer); `format=fhir` gives a FHIR R4 Bundle",
    responses={
        **ERRORS,
        200: {
            "description": "The patient's data",
            "content": {"application/json": {}, FHIR_JSON: {}},
        },
    },
    response_class=JSONResponse,
)
async def export(
    step: Annotated[JourneyStep, PrivacyStepDep(StepName.EXPORT)],
    query: Annotated[ExportQuery, Query()],
) -> JSONResponse:
    now = datetime.now(UTC)
    found = await collect(step.pool, step.journey_id, generated_at=now)
    if found is None:
        raise ProblemError(404, "Not found", "no such journey")
    records, accesses = found
    stamp = f"{now:%Y%m%dT%H%M%SZ}"
    if query.format == "fhir":
        body, media, name = subject_bundle(records, generated_at=now), FHIR_JSON, "fhir.json"
    else:
        body, media, name = subject_document(records, accesses, generated_at=now), None, "json"
    return JSONResponse(
        body,
        media_type=media,
        headers={
            "Content-Disposition": (
                f'attachment; filename="journey-{step.journey_id}-{stamp}.{name}"'
            ),
            "Cache-Control": "no-store",
        },
    )


@router.get(
    "/journeys/{journey_id}/accesses",
    summary="Who accessed the patient's data: who, in which role, what, when "
    "(privacy officer, auditor)",
    responses=ERRORS,
)
async def accesses(
    step: Annotated[JourneyStep, PrivacyStepDep(StepName.READ_ACCESSES)],
    query: Annotated[AccessesQuery, Query()],
) -> list[Access]:
    async with step.pool.acquire() as conn:
        return await AccessRepository(conn).for_journey(
            journey_id=step.journey_id, limit=query.limit
        )


@router.get(
    "/erasure-requests",
    summary="Erasure requests waiting for a privacy officer (privacy officer)",
    responses=ERRORS,
)
async def open_erasure_requests(
    principal: PrincipalDep,
    pool: PoolDep,
    query: Annotated[ErasureRequestsQuery, Query()],
) -> list[ErasureRequest]:
    authorize_role(principal, SEES_ERASURE_REQUESTS)
    async with pool.acquire() as conn:
        return await LegalHoldRepository(conn).erasure_requests(open_only=True, limit=query.limit)
