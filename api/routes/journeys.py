"""Reading journeys: the staff list, one journey's status, case and timeline, the patient,
slots and documents. Each read is the function the staff console calls too (api/reads/)."""

import uuid
from datetime import UTC, datetime
from typing import Annotated

from fastapi import APIRouter, Query, Request, Response
from pydantic import Field

from api.auth import PrincipalDep
from api.authorization import authorize
from api.deps import PoolDep, SettingsDep, StageWatchDep, TemporalDep
from api.journey_access import VERSIONED, follow_up_status, journey_handle, versioned_view
from api.problems import ProblemError, problems
from api.query import TAKES_NO_QUERY, QueryParameters
from api.reads.case import read_case, read_documents, read_patient, read_timeline
from api.reads.documents import document_response, open_document
from api.reads.worklist import read_worklist
from api.schemas import PatientView, Timeline
from api.uploads import ALLOWED_UPLOADS
from domain.actors import Role
from domain.case_file import CaseDocument, CaseFile, PatientFacts
from domain.follow_up import FollowUpStatus
from domain.incidents import IncidentKind
from domain.journey import JourneyStatus
from domain.readers import STAFF
from domain.records import Slot
from domain.stages import Stage, WaitingOn
from domain.worklist import IncidentPresence, WorklistFilter, WorklistPage
from i18n import SOURCE_LANGUAGE, negotiate
from workflows.journey import PatientJourney

router = APIRouter(prefix="/journeys", tags=["journeys"])

# Below the usual proxy and load-balancer idle timeouts (60 s).
MAX_WAIT_SECONDS = 50
ERRORS = problems(
    {
        401: "Missing or invalid token",
        403: "Wrong role, another journey's link, or a journey not assigned to you",
        404: "No such journey",
        422: "Invalid parameters",
    }
)


class JourneyListQuery(QueryParameters):
    """The staff list's filters and page."""

    stage: Stage | None = None
    waiting_on: WaitingOn | None = None
    overdue: bool | None = None
    case_manager: Annotated[str | None, Field(max_length=120)] = None
    country: Annotated[str | None, Field(pattern=r"^[A-Za-z]{2}$")] = None
    incident: Annotated[
        IncidentPresence | IncidentKind | None,
        Field(description="`any` open incident, `none`, or one incident kind"),
    ] = None
    reassign: Annotated[
        bool | None,
        Field(
            description="journeys whose case manager or specialist was deactivated, waiting "
            "for a coordinator to reassign them (`false`: the others)"
        ),
    ] = None
    limit: Annotated[int, Field(ge=1, le=200)] = 50
    offset: Annotated[int, Field(ge=0, le=1_000_000)] = 0


@router.get(
    "",
    summary="List journeys (staff): those waiting on you or your role first, overdue first",
    responses=ERRORS,
)
async def list_journeys(
    principal: PrincipalDep,
    pool: PoolDep,
    settings: SettingsDep,
    query: Annotated[JourneyListQuery, Query()],
) -> WorklistPage:
    """Only the journeys the caller reaches (case managers: those assigned to them;
    specialists: those booked with them; reviewers: the cases in VALIDATION and those they
    decided; everyone else on staff: all). The journeys that wait on the caller come first
    (reviewers and medical leads: on a reviewer; specialists: on them; case managers: theirs;
    coordinators: on a coordinator, with an open incident, or whose case manager or specialist
    was deactivated), overdue first, but for work someone else has claimed; then by deadline,
    newest first. Each journey names who holds a live claim on its review or its incident
    (`claims`). Served from PostgreSQL, as the staff console's worklist is."""
    return await read_worklist(
        pool,
        principal,
        WorklistFilter(
            stage=query.stage,
            waiting_on=query.waiting_on,
            overdue=query.overdue,
            case_manager=query.case_manager,
            country=query.country.upper() if query.country else None,
            incident=query.incident,
            reassign=query.reassign,
        ),
        now=datetime.now(UTC),
        limit=query.limit,
        offset=query.offset,
        claim_lapse=settings.claim_lapse,
    )


class StatusQuery(QueryParameters):
    """What a client waiting for the journey to move has seen, and how long it waits."""

    after: Annotated[
        int | None,
        Field(
            ge=0,
            le=100_000,
            description="The `Journey-Version` you have; with `wait`, answer once it is passed",
        ),
    ] = None
    wait: Annotated[
        float,
        Field(ge=0, le=MAX_WAIT_SECONDS, description="Seconds to wait for the journey to move"),
    ] = 0


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
    query: Annotated[StatusQuery, Query()],
) -> JourneyStatus | PatientView:
    """The `Journey-Version` header counts the journey's stage changes. A client waiting for
    the journey to move sends it back as `after` with `wait`, and is answered as soon as the
    journey moves past it, or after `wait` seconds with the status unchanged."""
    jid = str(journey_id)
    await authorize(pool, principal, jid, STAFF | {Role.PATIENT})
    after, wait = query.after, query.wait
    if wait and after is None:
        raise ProblemError(
            422, "The request has invalid fields", "wait needs after: the version you have"
        )
    if wait and after is not None:
        await watch.wait(pool, jid, after=after, at_most=wait)
        # The move waited for may take the journey out of the caller's reach (a case leaving
        # VALIDATION, decided by another reviewer).
        await authorize(pool, principal, jid, STAFF | {Role.PATIENT})
    status = await journey_handle(client, jid).query(PatientJourney.status)
    # The patient's plain words come in the language the client asks for.
    language = negotiate(request.headers.get("accept-language")) or SOURCE_LANGUAGE
    return versioned_view(principal, status, response, language)


@router.get(
    "/{journey_id}/patient",
    summary="The patient behind a journey, with the injury and medical history (clinical "
    "staff and case managers; never auditors)",
    responses=ERRORS,
    dependencies=[TAKES_NO_QUERY],
)
async def patient_facts(
    journey_id: uuid.UUID, principal: PrincipalDep, pool: PoolDep
) -> PatientFacts:
    return await read_patient(pool, principal, str(journey_id))


@router.get(
    "/{journey_id}/case",
    summary="The case: the journey's status and people, the patient, documents, plan and "
    "quote, travel, the clinic's reports, follow-up outcomes and check-ins (staff; auditors "
    "get the journey without the patient or the records)",
    responses=ERRORS,
    dependencies=[TAKES_NO_QUERY],
)
async def case_file(
    journey_id: uuid.UUID,
    principal: PrincipalDep,
    pool: PoolDep,
    client: TemporalDep,
    settings: SettingsDep,
) -> CaseFile:
    return await read_case(pool, client, settings, principal, str(journey_id))


@router.get(
    "/{journey_id}/timeline",
    summary="The journey's account from its histories: stages, steps and actors, emails, "
    "bookings, timers and escalations, oldest first (staff; names for clinical staff only)",
    responses=ERRORS,
    dependencies=[TAKES_NO_QUERY],
)
async def timeline(
    journey_id: uuid.UUID, principal: PrincipalDep, pool: PoolDep, client: TemporalDep
) -> Timeline:
    return await read_timeline(pool, client, principal, str(journey_id))


@router.get(
    "/{journey_id}/consult/slots",
    summary="The consultation slots offered now",
    responses=ERRORS,
    dependencies=[TAKES_NO_QUERY],
)
async def read_slots(
    journey_id: uuid.UUID, principal: PrincipalDep, pool: PoolDep, client: TemporalDep
) -> list[Slot]:
    jid = str(journey_id)
    await authorize(pool, principal, jid, {Role.PATIENT, Role.COORDINATOR})
    status = await journey_handle(client, jid).query(PatientJourney.status)
    return status.offered_slots


@router.get(
    "/{journey_id}/follow-ups",
    summary="The follow-up year: its consults' times offered and bookings, outcomes recorded "
    "and check-ins received (patient link, coordinator, specialist, case manager)",
    responses=ERRORS | problems({404: "No such journey, or its follow-up year has not started"}),
    dependencies=[TAKES_NO_QUERY],
)
async def read_follow_ups(
    journey_id: uuid.UUID, principal: PrincipalDep, pool: PoolDep, client: TemporalDep
) -> FollowUpStatus:
    jid = str(journey_id)
    await authorize(
        pool, principal, jid, {Role.PATIENT, Role.COORDINATOR, Role.SPECIALIST, Role.CASE_MANAGER}
    )
    status = await follow_up_status(client, jid)
    if status is None:
        raise ProblemError(404, "Not found", "the journey's follow-up year has not started")
    return status


@router.get(
    "/{journey_id}/documents",
    summary="Documents uploaded for a journey (patient link, clinical staff)",
    responses=ERRORS,
    dependencies=[TAKES_NO_QUERY],
)
async def documents(
    journey_id: uuid.UUID, principal: PrincipalDep, pool: PoolDep
) -> list[CaseDocument]:
    return await read_documents(pool, principal, str(journey_id))


@router.get(
    "/{journey_id}/documents/{document_id}",
    summary="One document's file, to open in the browser (patient link, clinical staff); "
    "every read, and every attempt at a document of another journey, is a row in the audit log",
    response_class=Response,
    responses={
        **ERRORS,
        200: {
            "description": "The file as uploaded, with its media type",
            "content": {
                media_type: {"schema": {"type": "string", "format": "binary"}}
                for media_type in sorted(ALLOWED_UPLOADS)
            },
        },
        **problems({404: "No such journey, or no such document in it"}),
    },
    dependencies=[TAKES_NO_QUERY],
)
async def document_file(
    request: Request,
    journey_id: uuid.UUID,
    document_id: uuid.UUID,
    principal: PrincipalDep,
    pool: PoolDep,
) -> Response:
    client = request.client
    document = await open_document(
        pool,
        request.app.state.audit,
        principal,
        str(journey_id),
        str(document_id),
        source=client.host if client else None,
    )
    return document_response(document)
