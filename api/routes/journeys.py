"""Reading journeys: the staff list, one journey's status and timeline, slots and documents."""

import uuid
from datetime import UTC, datetime
from typing import Annotated, Any

from fastapi import APIRouter, Query, Request, Response

from api.auth import PrincipalDep, authorize
from api.deps import PoolDep, StageWatchDep, TemporalDep
from api.journey_access import (
    VERSIONED,
    ensure_journey,
    journey_handle,
    versioned_view,
)
from api.problems import Problem, ProblemError
from api.schemas import (
    DocumentInfo,
    JourneyListItem,
    JourneyPage,
    PatientSummary,
    PatientView,
    Timeline,
)
from audit.timeline import actor_names, timeline_for
from db.documents import DocumentRepository
from db.erasure import ErasureRepository
from db.journey_queries import JourneyFilter, JourneyQueries
from domain.actors import Role
from domain.journey import JourneyStatus
from domain.records import Slot
from domain.stages import Stage, WaitingOn
from i18n import SOURCE_LANGUAGE, negotiate
from workflows.journey import PatientJourney

router = APIRouter(prefix="/journeys", tags=["journeys"])

STAFF = {
    Role.COORDINATOR,
    Role.REVIEWER,
    Role.SPECIALIST,
    Role.CASE_MANAGER,
    Role.MEDICAL_LEAD,
    Role.AUDITOR,
}
# Who may see the patient's name and contact details next to the journey.
SEES_PATIENT = STAFF - {Role.AUDITOR}
# Below the usual proxy and load-balancer idle timeouts (60 s).
MAX_WAIT_SECONDS = 50
ERRORS: dict[int | str, dict[str, Any]] = {
    401: {"model": Problem, "description": "Missing or invalid token"},
    403: {"model": Problem, "description": "Wrong role, or another journey's link"},
    404: {"model": Problem, "description": "No such journey"},
    422: {"model": Problem, "description": "Invalid parameters"},
}


@router.get("", summary="List journeys (staff)", responses=ERRORS)
async def list_journeys(
    principal: PrincipalDep,
    pool: PoolDep,
    stage: Stage | None = None,
    waiting_on: WaitingOn | None = None,
    overdue: bool | None = None,
    case_manager: Annotated[str | None, Query(max_length=120)] = None,
    country: Annotated[str | None, Query(pattern=r"^[A-Za-z]{2}$")] = None,
    limit: Annotated[int, Query(ge=1, le=200)] = 50,
    offset: Annotated[int, Query(ge=0, le=1_000_000)] = 0,
) -> JourneyPage:
    if principal.actor.role not in STAFF:
        raise ProblemError(403, "Forbidden", "the journey list is for staff")
    now = datetime.now(UTC)
    async with pool.acquire() as conn:
        listings, total = await JourneyQueries(conn).page(
            filters=JourneyFilter(
                stage=stage.value if stage else None,
                waiting_on=waiting_on.value if waiting_on else None,
                overdue=overdue,
                case_manager=case_manager,
                country=country.upper() if country else None,
            ),
            now=now,
            limit=limit,
            offset=offset,
        )
    sees = principal.actor.role in SEES_PATIENT
    return JourneyPage(
        items=[
            JourneyListItem(
                journey_id=j.journey_id,
                stage=j.stage,
                waiting_on=j.waiting_on,
                next_deadline=j.next_deadline,
                overdue=bool(j.next_deadline and j.next_deadline < now),
                case_manager_id=j.case_manager_id,
                country=j.country,
                patient_name=j.patient_name if sees else None,
                created_at=j.created_at,
            )
            for j in listings
        ],
        total=total,
        limit=limit,
        offset=offset,
    )


@router.get(
    "/{journey_id}",
    summary="One journey's status (staff, or the patient's own link in plain words)",
    responses={**ERRORS, **VERSIONED},
)
async def read_journey(
    journey_id: uuid.UUID,
    principal: PrincipalDep,
    pool: PoolDep,
    client: TemporalDep,
    watch: StageWatchDep,
    request: Request,
    response: Response,
    after: Annotated[
        int | None,
        Query(
            ge=0,
            le=100_000,
            description="The `Journey-Version` you have; with `wait`, answer once it is passed",
        ),
    ] = None,
    wait: Annotated[
        float,
        Query(ge=0, le=MAX_WAIT_SECONDS, description="Seconds to wait for the journey to move"),
    ] = 0,
) -> JourneyStatus | PatientView:
    """The `Journey-Version` header counts the journey's stage changes. A client waiting for
    the journey to move sends it back as `after` with `wait`, and is answered as soon as the
    journey moves past it, or after `wait` seconds with the status unchanged."""
    jid = str(journey_id)
    authorize(principal, jid, STAFF | {Role.PATIENT})
    if wait and after is None:
        raise ProblemError(
            422, "The request has invalid fields", "wait needs after: the version you have"
        )
    await ensure_journey(pool, jid)
    if wait and after is not None:
        await watch.wait(pool, jid, after=after, at_most=wait)
    status = await journey_handle(client, jid).query(PatientJourney.status)
    # The patient's plain words come in the language the client asks for.
    language = negotiate(request.headers.get("accept-language")) or SOURCE_LANGUAGE
    return versioned_view(principal, status, response, language)


@router.get("/{journey_id}/patient", summary="The patient behind a journey", responses=ERRORS)
async def read_patient(
    journey_id: uuid.UUID, principal: PrincipalDep, pool: PoolDep
) -> PatientSummary:
    jid = str(journey_id)
    authorize(principal, jid, SEES_PATIENT)
    async with pool.acquire() as conn:
        patient = await JourneyQueries(conn).patient(journey_id=jid)
        erased = None if patient else await ErasureRepository(conn).tombstone(journey_id=jid)
    if erased is not None:
        raise ProblemError(
            410, "Gone", f"the patient's data was erased on {erased.erased_at:%Y-%m-%d}"
        )
    if patient is None:
        raise ProblemError(404, "Not found", "no such journey")
    return PatientSummary(
        full_name=patient.full_name,
        email=patient.email,
        phone=patient.phone,
        country=patient.country,
        preferred_language=patient.preferred_language,
        injury_level=patient.injury_level,
        injury_completeness=patient.injury_completeness,
    )


@router.get(
    "/{journey_id}/timeline",
    summary="The journey's account from its histories: stages, steps and actors, emails, "
    "bookings, timers and escalations, oldest first (staff; names for clinical staff only)",
    responses=ERRORS,
)
async def read_timeline(
    journey_id: uuid.UUID, principal: PrincipalDep, pool: PoolDep, client: TemporalDep
) -> Timeline:
    jid = str(journey_id)
    authorize(principal, jid, STAFF)
    await ensure_journey(pool, jid)
    entries = await timeline_for(client, jid)
    names: dict[str, str] = {}
    if principal.actor.role in SEES_PATIENT:
        async with pool.acquire() as conn:
            names = await actor_names(conn, jid, entries)
    return Timeline(journey_id=jid, names=names, entries=entries)


@router.get(
    "/{journey_id}/consult/slots",
    summary="The consultation slots offered now",
    responses=ERRORS,
)
async def read_slots(
    journey_id: uuid.UUID, principal: PrincipalDep, pool: PoolDep, client: TemporalDep
) -> list[Slot]:
    jid = str(journey_id)
    authorize(principal, jid, {Role.PATIENT, Role.COORDINATOR})
    await ensure_journey(pool, jid)
    status = await journey_handle(client, jid).query(PatientJourney.status)
    return status.offered_slots


@router.get("/{journey_id}/documents", summary="Documents uploaded for a journey", responses=ERRORS)
async def list_documents(
    journey_id: uuid.UUID, principal: PrincipalDep, pool: PoolDep
) -> list[DocumentInfo]:
    jid = str(journey_id)
    authorize(
        principal,
        jid,
        {
            Role.PATIENT,
            Role.COORDINATOR,
            Role.REVIEWER,
            Role.MEDICAL_LEAD,
            Role.SPECIALIST,
            Role.CASE_MANAGER,
        },
    )
    await ensure_journey(pool, jid)
    async with pool.acquire() as conn:
        documents = await DocumentRepository(conn).list(journey_id=jid)
    return [
        DocumentInfo(
            document_id=d.document_id,
            kind=d.kind,
            filename=d.filename,
            content_type=d.content_type,
            size_bytes=d.size_bytes,
            sha256=d.sha256,
            uploaded_at=d.uploaded_at,
        )
        for d in documents
    ]
