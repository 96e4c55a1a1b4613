"""One journey's case: its status, the patient, the records, the documents and the timeline."""

import asyncio
from datetime import timedelta

import asyncpg
from temporalio.client import Client, WorkflowQueryFailedError
from temporalio.service import RPCError

from api.authorization import authorize
from api.journey_access import journey_handle
from api.reads.errors import JourneyErased, JourneyNotFound, journey_key
from api.schemas import Timeline
from api.tokens import Principal
from audit.timeline import actor_names, disclosure_for, timeline_for
from db.case_file import CaseFileRepository, CaseFileRows
from db.erasure import ErasureRecord, ErasureRepository
from domain.case_file import CaseDocument, CaseFile, PatientFacts
from domain.journey import JourneyStatus
from domain.readers import READS_DOCUMENTS, SEES_PATIENT, STAFF
from integrations.temporal_ui import journey_page
from settings import Settings
from workflows.journey import PatientJourney

# A page waits this long for the journey's own answer before it shows what PostgreSQL knows.
STATUS_TIMEOUT = timedelta(seconds=5)


def temporal_ui_link(settings: Settings, journey_id: str) -> str:
    """The journey's page in the Temporal Web UI (`JOURNEYS_TEMPORAL_UI_URL`)."""
    return journey_page(settings.ui_url, settings.temporal_namespace, journey_id)


async def journey_status(client: Client, journey_id: str) -> JourneyStatus | None:
    """The journey's answer to its status query, or None when Temporal does not give one
    (down, slow, or the journey not started yet): the case is still worth reading."""
    try:
        status: JourneyStatus = await journey_handle(client, journey_id).query(
            PatientJourney.status, rpc_timeout=STATUS_TIMEOUT
        )
    except (RPCError, WorkflowQueryFailedError, RuntimeError):
        return None
    return status


async def read_case(
    pool: asyncpg.Pool,
    client: Client,
    settings: Settings,
    principal: Principal,
    journey_id: str,
) -> CaseFile:
    """The case as `principal` may read it: auditors get the journey without the patient's
    facts or the records written about them."""
    jid = journey_key(journey_id)
    await authorize(pool, principal, jid, STAFF)
    sees = principal.actor.role in SEES_PATIENT

    async def records() -> tuple[CaseFileRows | None, ErasureRecord | None]:
        async with pool.acquire() as conn:
            erased = await ErasureRepository(conn).tombstone(journey_id=jid)
            case = await CaseFileRepository(conn).case(
                journey_id=jid, with_patient=sees and erased is None
            )
            return case, erased

    # PostgreSQL and Temporal at once: the page waits for the slower, not for both in turn.
    (rows, erased), status = await asyncio.gather(records(), journey_status(client, jid))
    if rows is None:
        raise JourneyNotFound()
    return CaseFile(
        erased_on=erased.erased_at.date() if erased else None,
        journey=rows.journey,
        status=status,
        patient=rows.patient,
        records=rows.records,
        open_incidents=rows.incidents,
        temporal_ui_url=temporal_ui_link(settings, jid),
    )


async def read_patient(pool: asyncpg.Pool, principal: Principal, journey_id: str) -> PatientFacts:
    """The patient's facts and medical history; never for auditors."""
    jid = journey_key(journey_id)
    await authorize(pool, principal, jid, SEES_PATIENT)
    async with pool.acquire() as conn:
        erased = await ErasureRepository(conn).tombstone(journey_id=jid)
        patient = None if erased else await CaseFileRepository(conn).patient(journey_id=jid)
    if erased is not None:
        raise JourneyErased(f"{erased.erased_at:%Y-%m-%d}")
    if patient is None:
        raise JourneyNotFound()
    return patient


async def read_documents(
    pool: asyncpg.Pool, principal: Principal, journey_id: str
) -> list[CaseDocument]:
    jid = journey_key(journey_id)
    await authorize(pool, principal, jid, READS_DOCUMENTS)
    async with pool.acquire() as conn:
        return await CaseFileRepository(conn).documents(journey_id=jid)


async def read_timeline(
    pool: asyncpg.Pool, client: Client, principal: Principal, journey_id: str
) -> Timeline:
    """The journey's account from its histories, as `disclosure_for` gives it to the reader's
    role (auditors: who did what and when) and the journey (erased: nothing staff typed about
    the patient); names only for those who see patients. Raises the client's RPCError when
    Temporal does not answer."""
    jid = journey_key(journey_id)
    await authorize(pool, principal, jid, STAFF)
    async with pool.acquire() as conn:
        erased = await ErasureRepository(conn).tombstone(journey_id=jid)
    shown = disclosure_for(principal.actor.role, erased=erased is not None)
    entries = await timeline_for(client, jid, disclosure=shown)
    names: dict[str, str] = {}
    if principal.actor.role in SEES_PATIENT:
        async with pool.acquire() as conn:
            names = await actor_names(conn, jid, entries)
    return Timeline(journey_id=jid, names=names, shown=shown, entries=entries)
