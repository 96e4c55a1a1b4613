"""Drives journeys in the time-skipping environment as the people would, step by step."""

import heapq
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from email.message import EmailMessage
from pathlib import Path
from typing import Any, TypeVar

import asyncpg
from temporalio.api.enums.v1 import EventType
from temporalio.client import Client, WorkflowHandle, WorkflowUpdateFailedError
from temporalio.testing import WorkflowEnvironment
from temporalio.workflow import UpdateMethodMultiParam

from api.intake import start_journey
from db.clinical import ClinicalRepository
from db.partner_confirmations import PartnerConfirmationRepository
from db.staff import StaffRepository
from db.step_records import remove_refused
from domain.actors import Actor, Role
from domain.follow_up import BookedFollowUp, FollowUpInput, FollowUpStatus
from domain.incidents import Incident
from domain.journey import JourneyOutcome, JourneyStatus
from domain.names import follow_up_workflow_id, journey_workflow_id
from domain.policy import JourneyPolicy
from domain.records import Booking, BookingKind
from domain.stages import Stage, WaitingOn
from domain.step_declarations import StepName, StepRecord
from domain.steps import (
    Admission,
    ClinicConfirmation,
    ConsultOutcome,
    Discharge,
    DocumentKind,
    FollowUpBooking,
    FollowUpOutcome,
    PartnerConfirmation,
    PlanDecision,
    ProcedureReported,
    RehabCheckin,
    RejectionReason,
    ReviewDecision,
    ReviewOutcome,
    SlotBooking,
    TravelChange,
    TravelDetails,
)
from settings import Settings
from tests.helpers import eventually, exam, read_mailbox
from tests.journey_rows import store_inquiry
from tests.phi_search import assert_no_phi, journey_runs
from worker import build_worker, smtp_sender
from workflows.follow_up import FollowUp
from workflows.journey import PatientJourney

# The argument of a follow-up year's step.
S = TypeVar("S")

REVIEWER = Actor(id="rev-1", role=Role.REVIEWER)
COORDINATOR = Actor(id="coord-1", role=Role.COORDINATOR)
SPECIALIST = Actor(id="spec-1", role=Role.SPECIALIST)
CLINIC = Actor(id="clinic-gw", role=Role.CLINIC)


async def add_staff(
    pool: asyncpg.Pool, staff_id: str, full_name: str, email: str, role: str, **more: Any
) -> None:
    """One member of staff, as `StaffRepository.add` writes them (unchecked), on a connection of
    its own; `more` is the rest of its arguments (`languages`, `time_zone`)."""
    async with pool.acquire() as conn:
        await StaffRepository(conn).add(
            staff_id=staff_id, full_name=full_name, email=email, role=role, **more
        )


async def add_specialist(repo: StaffRepository) -> None:
    """Dr. Elena Vidal (spec-1, in Madrid), whose times the journeys' consultations offer."""
    await repo.add(
        staff_id="spec-1",
        full_name="Dr. Elena Vidal",
        email="vidal@clinic.test",
        role="specialist",
        time_zone="Europe/Madrid",
    )


async def seed_staff(pool: asyncpg.Pool) -> None:
    async with pool.acquire() as conn:
        repo = StaffRepository(conn)
        await repo.add(
            staff_id="cm-es",
            full_name="Lucía Romero",
            email="lucia@clinic.test",
            role="case_manager",
            languages=["es", "en"],
        )
        await repo.add(
            staff_id="cm-en",
            full_name="John Baker",
            email="john@clinic.test",
            role="case_manager",
            languages=["en"],
        )
        await add_specialist(repo)
        await repo.add(
            staff_id="lead-1",
            full_name="Dr. Marta Gil",
            email="lead@clinic.test",
            role="medical_lead",
        )


@asynccontextmanager
async def worker_on_own_queue(
    env: WorkflowEnvironment, pool: asyncpg.Pool, settings: Settings, name: str
) -> AsyncIterator[str]:
    """The project's worker on a task queue of its own (`name-…`, which this yields), for a
    server that outlives the test."""
    task_queue = f"{name}-{uuid.uuid4().hex[:8]}"
    async with build_worker(
        env.client,
        settings=settings,
        pool=pool,
        sender=smtp_sender(settings),
        task_queue=task_queue,
    ):
        yield task_queue


class JourneyDriver:
    """One journey: started like the API starts it, then moved on by its people."""

    def __init__(
        self,
        env: WorkflowEnvironment,
        pool: asyncpg.Pool,
        task_queue: str,
        mail_dir: Path,
        policy: JourneyPolicy | None = None,
    ) -> None:
        self.env, self.client, self.pool = env, env.client, pool
        self.task_queue, self.mail_dir = task_queue, mail_dir
        self.policy = policy or JourneyPolicy()
        self.journey_id = ""
        self.patient = Actor(id="patient", role=Role.PATIENT)

    async def start(self, **form: Any) -> "JourneyDriver":
        async with self.pool.acquire() as conn:
            stored = await store_inquiry(conn, **form)
        self.journey_id = stored.journey_id
        self.patient = Actor(id=stored.patient_id, role=Role.PATIENT)
        await start_journey(
            self.client, stored=stored, task_queue=self.task_queue, policy=self.policy
        )
        return self

    @property
    def handle(self) -> WorkflowHandle[PatientJourney, JourneyOutcome]:
        return self.client.get_workflow_handle_for(
            PatientJourney.run, journey_workflow_id(self.journey_id)
        )

    @property
    def follow_up(self) -> WorkflowHandle[FollowUp, Any]:
        return self.client.get_workflow_handle_for(
            FollowUp.run, follow_up_workflow_id(self.journey_id)
        )

    async def status(self) -> JourneyStatus:
        return await self.handle.query(PatientJourney.status)

    async def reach(self, stage: Stage, waiting_on: WaitingOn | None = None) -> JourneyStatus:
        return await eventually(
            self.status,
            until=lambda s: s.stage is stage and (waiting_on is None or s.waiting_on is waiting_on),
            what=f"{stage.value}/{waiting_on.value if waiting_on else '*'}",
        )

    async def idle(self) -> int:
        """Wait until the journey has nothing in flight; returns its history length."""
        seen: list[int] = []

        async def length() -> int:
            described = await self.handle.describe()
            history = await self.handle.fetch_history()
            pending = len(described.raw_description.pending_activities)
            seen.append(len(history.events) if pending == 0 else -len(seen) - 1)
            return seen[-1]

        await eventually(
            length, until=lambda n: len(seen) > 1 and n > 0 and seen[-2] == n, what="journey idle"
        )
        return seen[-1]

    async def decisions(self) -> list[str]:
        """The kinds of the journey's history events, but for its workflow tasks: what it
        decided, which a refused step must leave as it was."""
        history = await self.handle.fetch_history()
        return [
            EventType.Name(e.event_type)
            for e in history.events
            if not EventType.Name(e.event_type).startswith("EVENT_TYPE_WORKFLOW_TASK_")
        ]

    async def now(self) -> datetime:
        return await self.env.get_current_time()

    async def sleep(self, duration: timedelta) -> None:
        await self.env.sleep(duration)

    async def emailed(self, step: str) -> EmailMessage:
        """The journey's email of `step` (its Message-ID names it), once it has arrived."""

        async def find() -> EmailMessage | None:
            wanted = f"<{self.journey_id}.{step}@"
            return next((m for m in read_mailbox(self.mail_dir) if wanted in m["Message-ID"]), None)

        found = await eventually(find, what=f"the {step} email")
        assert found is not None
        return found

    def mail_kinds(self) -> list[str]:
        """Every email of this journey, as `<step>` from its Message-ID, in sending order."""
        steps = []
        for message in read_mailbox(self.mail_dir):
            mid = message["Message-ID"].strip().strip("<>")
            jid, _, rest = mid.partition(".")
            if jid == self.journey_id:
                steps.append(rest.rpartition("@")[0])
        return steps

    async def bookings(self) -> dict[str, str]:
        rows = await self.pool.fetch(
            "SELECT step, status FROM bookings WHERE journey_id = $1 ORDER BY booked_at",
            self.journey_id,
        )
        return {r["step"]: r["status"] for r in rows}

    async def incident(self) -> Incident:
        """The incident the journey opens, once it is open."""
        status = await eventually(
            self.status, until=lambda s: s.incident is not None, what="incident"
        )
        assert status.incident is not None
        return status.incident

    async def approve(self) -> None:
        await self.reach(Stage.VALIDATION, WaitingOn.REVIEWER)
        await self.handle.execute_update(
            PatientJourney.review, ReviewDecision(actor=REVIEWER, outcome=ReviewOutcome.APPROVE)
        )

    async def request_documents(self, *documents: DocumentKind) -> None:
        """The reviewer asks for `documents`; returns once the journey waits on the patient."""
        await self.reach(Stage.VALIDATION, WaitingOn.REVIEWER)
        await self.handle.execute_update(
            PatientJourney.review,
            ReviewDecision(
                actor=REVIEWER, outcome=ReviewOutcome.REQUEST_DOCUMENTS, documents=documents
            ),
        )
        await self.reach(Stage.VALIDATION, WaitingOn.PATIENT)

    async def reject(self, reason: RejectionReason) -> None:
        await self.reach(Stage.VALIDATION, WaitingOn.REVIEWER)
        await self.handle.execute_update(
            PatientJourney.review,
            ReviewDecision(actor=REVIEWER, outcome=ReviewOutcome.REJECT, reason=reason),
        )

    async def book_first_slot(self) -> datetime:
        status = await self.reach(Stage.TELECONSULT, WaitingOn.PATIENT)
        slot = status.offered_slots[0]
        await self.handle.execute_update(
            PatientJourney.book_consult, SlotBooking(actor=self.patient, slot_id=slot.slot_id)
        )
        await self.reach(Stage.TELECONSULT, WaitingOn.SPECIALIST)
        return slot.starts_at

    async def hold_consult(self, eligible: bool = True, notes: str = "") -> None:
        await self.consult_held(await self.book_first_slot(), eligible, notes)

    async def consult_held(
        self, starts_at: datetime, eligible: bool = True, notes: str = ""
    ) -> None:
        """The booked consult takes place, and the specialist records its outcome."""
        await self.sleep(starts_at - await self.now() + timedelta(minutes=5))
        plan_id = None
        if eligible:
            async with self.pool.acquire() as conn:
                plan_id = await ClinicalRepository(conn).add_plan(
                    journey_id=self.journey_id,
                    specialist_id="spec-1",
                    price=Decimal("24500.00"),
                    currency="EUR",
                    notes=notes,
                )
        await self.handle.execute_update(
            PatientJourney.consult_outcome,
            ConsultOutcome(
                actor=SPECIALIST,
                eligible=eligible,
                plan_id=plan_id,
                reason=None if eligible else RejectionReason.CONTRAINDICATION,
            ),
        )

    async def accept_plan(self) -> None:
        await self.reach(Stage.PLAN, WaitingOn.PATIENT)
        await self.handle.execute_update(
            PatientJourney.plan_decision, PlanDecision(actor=self.patient, accept=True)
        )

    async def travel_details(
        self, arrival_in: timedelta = timedelta(days=30), needs_visa: bool = True
    ) -> TravelDetails:
        arrival = (await self.now() + arrival_in).date()
        return TravelDetails(
            actor=self.patient,
            arrival_date=arrival,
            departure_date=arrival + timedelta(days=4),
            needs_visa=needs_visa,
        )

    async def confirm_visit_if_asked(self) -> None:
        """A clinic that confirms by hand: the coordinator records its yes."""
        status = await eventually(
            self.status,
            until=lambda s: (
                s.stage is Stage.TRAVEL
                and (s.waiting_on in (WaitingOn.PATIENT, WaitingOn.COORDINATOR))
            ),
        )
        if status.waiting_on is WaitingOn.COORDINATOR and status.incident is None:
            await self.handle.execute_update(
                PatientJourney.clinic_confirmation,
                ClinicConfirmation(actor=COORDINATOR, confirmed=True, clinic_reference="C-1"),
            )

    async def send_travel(
        self, arrival_in: timedelta = timedelta(days=30), needs_visa: bool = True
    ) -> TravelDetails:
        await self.reach(Stage.TRAVEL, WaitingOn.PATIENT)
        details = await self.travel_details(arrival_in, needs_visa)
        await self.handle.execute_update(PatientJourney.travel_details, details)
        await self.confirm_visit_if_asked()
        await self.reach(Stage.TRAVEL, WaitingOn.PATIENT)
        return details

    async def book_the_trip(self, needs_visa: bool = True, confirm_partners: bool = True) -> None:
        """From the review to a booked trip: approved, consulted, the plan accepted, the
        travel details sent and the visit reserved; the hotel and the transfer confirmed by
        their partners unless told otherwise."""
        await self.approve()
        await self.hold_consult()
        await self.accept_plan()
        await self.send_travel(needs_visa=needs_visa)
        if confirm_partners:
            await self.confirm_partners()

    async def change_dates(
        self,
        arrival_in: timedelta,
        *,
        nights: int = 4,
        needs_visa: bool = True,
        notes: str = "",
        actor: Actor | None = None,
    ) -> JourneyStatus:
        """New dates for the booked trip, stored as the API stores them, then sent."""
        arrival = (await self.now() + arrival_in).date()
        departure = arrival + timedelta(days=nights)
        by = actor or self.patient
        async with self.pool.acquire() as conn:
            record = await ClinicalRepository(conn).add_travel_change(
                journey_id=self.journey_id,
                arrival_date=arrival,
                departure_date=departure,
                arrival_flight="IB6250",
                departure_flight="IB6251",
                companions=1,
                needs_visa=needs_visa,
                notes=notes,
                submitted_by=by.id,
            )
        try:
            return await self.handle.execute_update(
                PatientJourney.change_travel,
                TravelChange(
                    actor=by,
                    arrival_date=arrival,
                    departure_date=departure,
                    needs_visa=needs_visa,
                    travel_record_id=record,
                ),
            )
        except WorkflowUpdateFailedError:
            async with self.pool.acquire() as conn:
                await remove_refused(conn, StepRecord.TRAVEL_CHANGE, [record])
            raise

    async def past_change_cutoff(self, by: timedelta = timedelta(minutes=1)) -> None:
        """On past the cutoff for changing the trip's dates by `by`, until the journey no
        longer expects a change."""
        cutoff = (await self.status()).travel_change_until
        assert cutoff is not None
        await self.sleep(cutoff - await self.now() + by)
        await eventually(
            self.status,
            until=lambda s: StepName.CHANGE_TRAVEL not in s.expects,
            what="changes closed at the cutoff",
        )

    async def confirm_partner(
        self, kind: BookingKind, *, reference: str = "R-1001", confirmed_by: str = "Front desk"
    ) -> str:
        """The partner's answer to the newest request of `kind` that awaits one, recorded by a
        coordinator as the API records it; its booking id."""
        # The trip is booked a moment before its run starts taking partners' confirmations.
        status = await eventually(
            self.status,
            until=lambda s: s.confirms_partners,
            what="the trip taking partners' confirmations",
        )
        [*_, booking] = [
            b
            for b in status.bookings
            if b.kind is kind and not (b.cancelled or b.completed or b.confirmed)
        ]
        async with self.pool.acquire() as conn:
            confirmation = await PartnerConfirmationRepository(conn).add(
                journey_id=self.journey_id,
                booking_id=booking.booking_id,
                reference=reference,
                confirmed_by=confirmed_by,
                recorded_by=COORDINATOR.id,
            )
        await self.handle.execute_update(
            PatientJourney.partner_confirmation,
            PartnerConfirmation(
                actor=COORDINATOR, booking_id=booking.booking_id, confirmation_id=confirmation
            ),
        )
        return booking.booking_id

    async def confirm_partners(self, reference: str = "R-1001") -> None:
        for kind in (BookingKind.HOTEL, BookingKind.TRANSFER):
            await self.confirm_partner(kind, reference=reference)

    async def book_and_treat(self) -> None:
        """From the review to discharge: the trip booked, the visit a month on, the treatment
        given; returns once the follow-up year has begun."""
        await self.book_the_trip()
        await self.sleep(timedelta(days=31))
        await self.treat()

    async def admit(self) -> None:
        await self.handle.execute_update(PatientJourney.clinic_admission, Admission(actor=CLINIC))

    async def store_procedure_report(
        self, *, report_id: str, cells: int = 150_000_000, notes: str = ""
    ) -> None:
        """A procedure report under a chosen id, as a record restored after it went missing."""
        await self.pool.execute(
            """INSERT INTO procedure_reports (report_id, journey_id, cells_given, route,
                                              minutes, lot, notes)
               VALUES ($1, $2, $3, 'intrathecal', 45, 'LOT-2026-11', $4)""",
            uuid.UUID(report_id),
            uuid.UUID(self.journey_id),
            cells,
            notes,
        )

    async def treat(self, cells: int = 150_000_000, notes: str = "") -> None:
        await self.reach(Stage.TREATMENT)
        await self.admit()
        async with self.pool.acquire() as conn:
            report_id = await ClinicalRepository(conn).add_procedure_report(
                journey_id=self.journey_id,
                cells_given=cells,
                route="intrathecal",
                minutes=45,
                lot="LOT-2026-11",
                notes=notes,
            )
        await self.handle.execute_update(
            PatientJourney.procedure_report, ProcedureReported(actor=CLINIC, report_id=report_id)
        )
        await self.handle.execute_update(PatientJourney.clinic_discharge, Discharge(actor=CLINIC))
        await self.reach(Stage.FOLLOW_UP)
        # The journey enters its follow-up stage a moment before the follow-up year's own
        # workflow starts; a step sent in between is refused as not yet started.
        await eventually(self.year, what="the follow-up year started")

    async def follow_up_year(
        self, notes: str = "", checkin_weeks: int | None = None, from_week: int = 1
    ) -> None:
        """Check in every week from `from_week` to `checkin_weeks` (every week of the policy by
        default), a day before each ends; book each follow-up consult once its times are
        offered, and record its outcome once it has started, from the discharge on. A consult
        whose times were offered before this began was arranged by hand: its outcome is
        recorded when it falls due."""
        status = await self.reach(Stage.FOLLOW_UP)
        discharged = next(t.entered_at for t in status.transitions if t.stage is Stage.FOLLOW_UP)
        p, now = self.policy, await self.now()
        weeks = p.rehab_weeks if checkin_weeks is None else checkin_weeks
        due: list[tuple[datetime, str, int]] = [
            (discharged + w * p.rehab_checkin_every - timedelta(days=1), "checkin", w)
            for w in range(from_week, weeks + 1)
        ]
        for n, off in enumerate(p.follow_up_offsets, 1):
            offered = discharged + off - p.follow_up_offer_before + timedelta(hours=1)
            due.append((offered, "book", n) if offered > now else (discharged + off, "outcome", n))
        heapq.heapify(due)
        while due:
            at, what, n = heapq.heappop(due)
            wait = at - await self.now()
            if wait > timedelta(0):
                await self.sleep(wait)
            if what == "checkin":
                await self.check_in(n, notes=notes)
            elif what == "book":
                booked = await self.book_follow_up(n)
                heapq.heappush(due, (booked.starts_at + timedelta(minutes=5), "outcome", n))
            else:
                await self.record_outcome(n, notes=notes)
        await self.sleep(timedelta(days=30))

    async def year(self) -> FollowUpStatus:
        status: FollowUpStatus = await self.follow_up.query(FollowUp.status)
        return status

    async def offered(self, n: int) -> BookedFollowUp:
        """Follow-up consult `n` once its times are offered."""
        status = await eventually(
            self.year,
            until=lambda s: any(c.number == n and c.offered for c in s.consults),
            what=f"times offered for follow-up consult {n}",
        )
        return next(c for c in status.consults if c.number == n)

    async def book_follow_up(self, n: int, pick: int = 0) -> Booking:
        """The patient books the `pick`th time still to come offered for follow-up consult
        `n`."""
        consult = await self.offered(n)
        now = await self.now()
        slot = sorted((s for s in consult.offered if s.starts_at > now), key=lambda s: s.starts_at)[
            pick
        ]
        answer = await self.follow_up.execute_update(
            FollowUp.book_follow_up,
            FollowUpBooking(actor=self.patient, consult_no=n, slot_id=slot.slot_id),
        )
        booked = next(c.booking for c in answer.consults if c.number == n)
        assert booked is not None and booked.starts_at == slot.starts_at
        return booked

    async def record_outcome(self, consult_no: int, notes: str = "") -> FollowUpStatus:
        """The specialist's outcome of follow-up consult `consult_no` on the clinical scales."""
        return await self._stored_then_sent(
            lambda records: records.add_follow_up_outcome(
                journey_id=self.journey_id,
                consult_no=consult_no,
                scores=exam(consult_no),
                notes=notes,
            ),
            FollowUp.record_outcome,
            lambda record: FollowUpOutcome(
                actor=SPECIALIST, consult_no=consult_no, outcome_id=record
            ),
        )

    async def check_in(
        self, week: int, hours: str = "6", days: int = 6, notes: str = ""
    ) -> FollowUpStatus:
        """The patient's check-in for `week`; by default a week that meets the rule of six."""
        return await self._stored_then_sent(
            lambda records: records.add_rehab_checkin(
                journey_id=self.journey_id,
                week=week,
                walking_hours_per_day=Decimal(hours),
                days_per_week=days,
                notes=notes,
            ),
            FollowUp.rehab_checkin,
            lambda record: RehabCheckin(actor=self.patient, week=week, checkin_id=record),
        )

    async def _stored_then_sent(
        self,
        store: Callable[[ClinicalRepository], Awaitable[str]],
        update: UpdateMethodMultiParam[[FollowUp, S], FollowUpStatus],
        step: Callable[[str], S],
    ) -> FollowUpStatus:
        """A follow-up year's step as the API takes it: its record stored, then the step
        naming it sent."""
        async with self.pool.acquire() as conn:
            record = await store(ClinicalRepository(conn))
        return await self.follow_up.execute_update(update, step(record))

    async def result(self) -> JourneyOutcome:
        return await self.handle.result()


async def follow_up_year(
    client: Client, journey_id: str, task_queue: str
) -> WorkflowHandle[FollowUp, Any]:
    """A follow-up year started on a journey's records as the journey starts it at discharge,
    once its care advice is sent and it waits to offer its first consult's times."""
    year = await client.start_workflow(
        FollowUp.run,
        FollowUpInput(
            journey_id=journey_id, discharged_at=datetime.now(UTC), policy=JourneyPolicy()
        ),
        id=follow_up_workflow_id(journey_id),
        task_queue=task_queue,
    )
    await eventually(
        lambda: year.query(FollowUp.status),
        until=lambda s: (
            isinstance(s, FollowUpStatus) and s.next_event == "Offer times for follow-up consult 1"
        ),
        what="care advice sent, the year waiting to offer its first consult",
    )
    return year


async def rejected_on_own_queue(
    env: WorkflowEnvironment,
    pool: asyncpg.Pool,
    settings: Settings,
    mail_dir: Path,
    *,
    name: str,
    reason: RejectionReason,
) -> JourneyDriver:
    """A journey rejected at its review for `reason`, run to its end by the project's worker
    on a task queue of its own (`worker_on_own_queue`), with the staff on file."""
    await seed_staff(pool)
    async with worker_on_own_queue(env, pool, settings, name) as task_queue:
        j = await JourneyDriver(env, pool, task_queue, mail_dir).start()
        await j.reject(reason)
        assert (await j.result()).stage is Stage.NOT_ELIGIBLE
    return j


# `new_journey()`, the fixture of tests/conftest.py: another journey on the test's task queue.
NewJourney = Callable[..., JourneyDriver]


async def assert_no_needles(client: Client, journey_id: str, values: list[str]) -> None:
    """No value appears in anything Temporal keeps of the journey's workflows: every payload
    of every event and description decoded with the key, and the bytes as the server holds
    them (tests/phi_search.py)."""
    await assert_no_phi(client, await journey_runs(client, journey_id), values)
