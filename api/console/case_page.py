"""The case page at `/staff/journeys/{journey_id}`, and its documents, each opening in the
browser. The reads are the JSON API's (api/reads/): the case, the timeline, the document."""

import asyncio
import dataclasses
import uuid
from datetime import UTC, datetime
from typing import Annotated

import asyncpg
from fastapi import APIRouter, Depends, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from temporalio.client import Client
from temporalio.service import RPCError

from api.audit_trail import note_refusal
from api.authorization import NOT_ASSIGNED, may_read_payloads
from api.claims import ClaimDesk
from api.console.actions import FORM_CHOICES, ActionOutcome, case_managers, offers, take_step
from api.console.case_charts import outcome_trends, rehab_weeks
from api.console.claim_panel import claim_panel
from api.console.guards import ConsoleRefusal, ViewerDep, console_gate
from api.console.rendering import render
from api.console.viewer import Viewer
from api.console.wording import Wording
from api.deps import PoolDep, SettingsDep, TemporalDep
from api.journey_access import follow_up_status
from api.patient_page.view import active
from api.reads.case import read_case, read_timeline
from api.reads.documents import document_response, open_document
from api.reads.errors import Forbidden, ReadRefused
from api.schemas import Timeline
from domain.clinic_hours import clinic_days_later
from domain.follow_up import ConsultPhase, FollowUpStatus
from domain.journey import JourneyStatus
from domain.policy import JourneyPolicy
from domain.readers import READS_DOCUMENTS
from domain.records import Booking, BookingKind
from domain.stages import Stage
from domain.step_declarations import StepName
from settings import Settings

# The policy the pages count the follow-up year's weeks and consults by, as the patient's
# page does.
POLICY = JourneyPolicy()
router = APIRouter(prefix="/staff", dependencies=[Depends(console_gate)], include_in_schema=False)


def read_refusal(request: Request, refused: ReadRefused) -> ConsoleRefusal:
    """The page for a refused read. No console row of its own: the request's row has the
    status and the refusal's code, and a document's read has written its row already."""
    note_refusal(request, refused.reason)
    role_refused = isinstance(refused, Forbidden) and refused.reason != NOT_ASSIGNED
    kind = "read_forbidden" if role_refused else refused.reason
    return ConsoleRefusal(refused.status, kind, None)


def clinic_visit(status: JourneyStatus | None) -> Booking | None:
    """The visit the clinic holds or is asked for: the newest not cancelled."""
    visits = [b for b in status.bookings if b.kind is BookingKind.CLINIC_VISIT] if status else []
    return next((b for b in reversed(visits) if not b.cancelled), None)


@dataclasses.dataclass(frozen=True)
class CaseRequest:
    """A console request about one journey's case: who sends it, and the servers its page is
    read from."""

    request: Request
    journey_id: str
    viewer: Viewer
    pool: asyncpg.Pool
    client: Client
    settings: Settings

    async def page(
        self, *, outcome: ActionOutcome, claim_refusal: str | None = None, status_code: int = 200
    ) -> HTMLResponse:
        return await case_response(
            self.request,
            self.journey_id,
            self.viewer,
            self.pool,
            self.client,
            self.settings,
            outcome=outcome,
            claim_refusal=claim_refusal,
            status_code=status_code,
        )


async def case_request(
    request: Request,
    journey_id: str,
    viewer: ViewerDep,
    pool: PoolDep,
    client: TemporalDep,
    settings: SettingsDep,
) -> CaseRequest:
    return CaseRequest(request, journey_id, viewer, pool, client, settings)


CaseDep = Annotated[CaseRequest, Depends(case_request)]


@router.get("/journeys/{journey_id}", response_class=HTMLResponse)
async def case_page(case: CaseDep, done: str | None = None) -> HTMLResponse:
    taken = StepName(done) if done and done in StepName._value2member_map_ else None
    return await case.page(outcome=ActionOutcome(done=taken))


@router.post("/journeys/{journey_id}/actions/{step}", response_class=HTMLResponse)
async def take_action(case: CaseDep, step: str) -> Response:
    """A step's form, sent: the journey's new state on success, or the case page again with
    the journey's refusal beside the form and what was typed kept."""
    outcome = await take_step(case.request, case.journey_id, step, case.viewer)
    if outcome.failed:
        return await case.page(outcome=outcome, status_code=outcome.status)
    return RedirectResponse(
        f"/staff/journeys/{case.journey_id}?done={outcome.step}#actions", status_code=303
    )


async def case_response(
    request: Request,
    journey_id: str,
    viewer: Viewer,
    pool: asyncpg.Pool,
    client: Client,
    settings: Settings,
    *,
    outcome: ActionOutcome,
    claim_refusal: str | None = None,
    status_code: int = 200,
) -> HTMLResponse:
    """The case page; `outcome` is what became of a step's form just sent, `claim_refusal`
    why a claim form just sent was refused."""
    principal = viewer.principal

    async def timeline_or_none() -> Timeline | None:
        try:
            return await read_timeline(pool, client, principal, journey_id)
        except (ReadRefused, RPCError, RuntimeError):
            # Temporal down or slow: the rest of the case is still worth reading, and the
            # page says the timeline could not be read. A refusal is the case's to show.
            return None

    # The histories are read while the case is: the page waits for the slower only.
    histories = asyncio.create_task(timeline_or_none())
    try:
        case = await read_case(pool, client, settings, principal, journey_id)
    except ReadRefused as refused:
        histories.cancel()
        raise read_refusal(request, refused) from None
    timeline = await histories
    status = case.status
    follow_up = await _follow_up(client, status, journey_id)
    journey = case.journey
    now = datetime.now(UTC)
    # Read only: the API's sweep ends and audits the claims that lapsed.
    jid = str(uuid.UUID(journey_id))
    claims = await ClaimDesk.of(request.app).live([jid])
    panel = claim_panel(
        principal.actor,
        claims.get(jid, []),
        stage=status.stage if status else journey.stage,
        incident_open=bool(case.open_incidents or (status and status.incident)),
        refusal=claim_refusal,
    )
    visit = clinic_visit(status)
    sentence = Wording(viewer.language).waiting_sentence(
        stage=status.stage if status else journey.stage,
        waiting_on=status.waiting_on if status else journey.waiting_on,
        task=status.task if status else None,
        deadline=status.deadline if status else journey.next_deadline,
        incident=(status.incident.kind if status.incident else None)
        if status
        else journey.incident,
        now=now,
        tz=viewer.time_zone,
    )
    return render(
        request,
        "case.html",
        {
            "case": case,
            "journey": journey,
            "status": status,
            "sentence": sentence,
            "timeline": timeline,
            "reads_documents": principal.actor.role in READS_DOCUMENTS,
            # The Temporal UI shows payloads decoded only for these, and the production proxy
            # serves it to them alone.
            "opens_temporal_ui": may_read_payloads(principal),
            "now": now,
            "offers": offers(status, principal.actor.role, follow_up) if status else [],
            "follow_up": follow_up,
            # The follow-up consult each of their steps' forms is for: the first that takes it.
            "follow_up_consult": {
                step: consult
                for consult in reversed(follow_up.consults)
                for step in consult.expects
            }
            if follow_up
            else {},
            "outcome": outcome,
            "claims": panel,
            "claim_lapse": settings.claim_lapse,
            "case_managers": await case_managers(pool) if status else [],
            # What a withdrawal would cancel: the bookings not cancelled nor over yet.
            "still_booked": (active(status) if status else [])
            + [
                c.booking
                for c in (follow_up.consults if follow_up else [])
                if c.booking is not None and c.phase is ConsultPhase.BOOKED
            ],
            "forms": FORM_CHOICES,
            # The visit on the clinic's clock, and on the reader's where it shows another time.
            "visit": visit,
            "visit_day2": clinic_days_later(visit.starts_at, 1, settings.clinic_time_zone)
            if visit
            else None,
            "clinic_tz": settings.clinic_time_zone,
            # The follow-up year's weeks and outcomes, each a chart with its table.
            "rehab": rehab_weeks(case.records, journey.follow_up_since, now, POLICY)
            if case.records
            else None,
            "outcomes": outcome_trends(case.records, POLICY, viewer.language)
            if case.records
            else ([], []),
        },
        viewer=viewer,
        status=status_code,
    )


async def _follow_up(
    client: Client, status: JourneyStatus | None, journey_id: str
) -> FollowUpStatus | None:
    """The follow-up year, for the steps of its consults; None outside it, or while Temporal
    does not answer (the rest of the case is still worth reading)."""
    if status is None or status.stage is not Stage.FOLLOW_UP:
        return None
    try:
        return await follow_up_status(client, journey_id)
    except RPCError:
        return None


@router.get("/journeys/{journey_id}/documents/{document_id}")
async def document(
    request: Request, journey_id: str, document_id: str, viewer: ViewerDep, pool: PoolDep
) -> Response:
    client = request.client
    try:
        opened = await open_document(
            pool,
            request.app.state.audit,
            viewer.principal,
            journey_id,
            document_id,
            source=client.host if client else None,
        )
    except ReadRefused as refused:
        raise read_refusal(request, refused) from None
    return document_response(opened)
