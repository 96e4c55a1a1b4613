"""Journeys taken to each of their ends, as their people take them, and the privacy workflows
that follow: shared by the sentinel search of every path (tests/test_no_phi_in_histories.py)
and the recording of the replay corpus (tests/test_replay.py), so that both go the same ways.

Each path takes a started `JourneyDriver` (the caller chooses the form, and whether it goes in
through the API) and returns once the journey has ended as the path says.
"""

import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import timedelta
from pathlib import Path

import asyncpg
from temporalio.client import Client, WorkflowExecutionStatus, WorkflowUpdateStage
from temporalio.testing import WorkflowEnvironment

from db.clinical import ClinicalRepository
from domain.actors import Actor, Role
from domain.follow_up import FollowUpStatus
from domain.incidents import Incident, IncidentAction, IncidentKind
from domain.policy import JourneyPolicy
from domain.privacy import RetentionSweepInput, RetentionSweepResult
from domain.records import BookingKind
from domain.rehab import RehabOutcome
from domain.stages import Stage, Task, WaitingOn
from domain.steps import (
    ClinicConfirmation,
    FollowUpNoShow,
    FollowUpReschedule,
    IncidentResolution,
    NoShow,
    RehabFollowUpRecorded,
    RejectionReason,
    Withdrawal,
)
from privacy.erasure import erase
from settings import Settings
from tests.faults import (
    DOMAIN_NOT_FOUND,
    USER_UNKNOWN,
    RefusingMailbox,
    start_refusing_mailbox,
)
from tests.helpers import eventually
from tests.journeys import COORDINATOR, SPECIALIST, JourneyDriver
from worker import running_worker
from workflows.follow_up import FollowUp
from workflows.journey import PatientJourney
from workflows.retention import RetentionSweep

REFUSED_DOMAIN = "refused.example"
PRIVACY_OFFICER = Actor(id="privacy-1", role=Role.PRIVACY_OFFICER)
# The case manager the Spanish-speaking patient of these paths is given (tests/journeys.py).
CASE_MANAGER = Actor(id="cm-es", role=Role.CASE_MANAGER)
# Closed journeys are kept this long in the sweeps of these paths.
RETENTION_DAYS = 30


@asynccontextmanager
async def relay_worker(
    client: Client, settings: Settings, pool: asyncpg.Pool, directory: Path
) -> AsyncIterator[RefusingMailbox]:
    """The project's worker sending through a relay that refuses the domains a path chooses,
    and keeps the other messages in `directory`."""
    controller, relay, port = start_refusing_mailbox(directory)
    try:
        async with running_worker(
            client, settings=settings.model_copy(update={"smtp_port": port}), pool=pool
        ):
            yield relay
    finally:
        controller.stop()


def _resolution(action: IncidentAction, number: int) -> IncidentResolution:
    return IncidentResolution(actor=COORDINATOR, action=action, incident_number=number)


async def _ended(j: JourneyDriver, stage: Stage) -> None:
    ended = (await j.result()).stage
    assert ended is stage, f"{j.journey_id} ended {ended.value}, not {stage.value}"


async def reject(j: JourneyDriver) -> None:
    """The reviewer rejects the inquiry: NOT_ELIGIBLE, with a kind rejection email."""
    await j.reject(RejectionReason.INJURY_TOO_RECENT)
    await _ended(j, Stage.NOT_ELIGIBLE)


async def lose_contact(j: JourneyDriver) -> None:
    """Approved, the patient never picks a consult slot: LOST_CONTACT after 21 days."""
    await j.approve()
    await j.sleep(timedelta(days=22))
    await _ended(j, Stage.LOST_CONTACT)


async def miss_two_consults(j: JourneyDriver) -> None:
    """The patient books and misses the consult twice: the second no-show closes it."""
    await j.approve()
    for _ in range(2):
        starts_at = await j.book_first_slot()
        await j.sleep(starts_at - await j.now() + timedelta(minutes=10))
        await j.handle.execute_update(PatientJourney.consult_no_show, NoShow(actor=SPECIALIST))
    await _ended(j, Stage.LOST_CONTACT)


async def withdraw_mid_travel(j: JourneyDriver, *, notes: str = "") -> None:
    """Plan accepted, visit reserved and visa letter sent, the patient withdraws: the
    bookings are undone newest first."""
    await j.approve()
    await j.hold_consult(notes=notes)
    await j.accept_plan()
    await j.send_travel()
    await j.handle.execute_update(PatientJourney.withdraw, Withdrawal(actor=j.patient))
    await _ended(j, Stage.WITHDRAWN)


async def change_dates(j: JourneyDriver, *, notes: str = "", reference: str = "R-1001") -> None:
    """The trip booked and its partners' confirmations recorded; the clinic declines a first
    change of dates (an incident the coordinator gives up: the old dates stand), a second one
    is booked in full and its partners confirm; the patient is treated, then withdraws."""
    await j.book_the_trip(confirm_partners=False)
    await j.confirm_partners(reference=reference)
    await j.change_dates(timedelta(days=45), notes=notes)
    await _clinic_answers(j, confirmed=False)
    declined = await j.incident()
    assert declined.kind is IncidentKind.TRAVEL_CHANGE_FAILED
    await j.handle.execute_update(
        PatientJourney.resolve_incident, _resolution(IncidentAction.SKIP, declined.number)
    )
    await j.reach(Stage.TRAVEL, WaitingOn.PATIENT)
    await j.change_dates(timedelta(days=40), notes=notes)
    await _clinic_answers(j, confirmed=True)
    booked = await eventually(
        j.status,
        until=lambda s: s.task is Task.TRAVEL_TO_CLINIC and s.incident is None,
        what="the new dates booked",
    )
    await j.confirm_partners(reference=reference)
    assert booked.deadline is not None
    await j.sleep(booked.deadline - await j.now() + timedelta(minutes=5))
    await j.reach(Stage.TREATMENT)
    await j.handle.execute_update(PatientJourney.withdraw, Withdrawal(actor=j.patient))
    await _ended(j, Stage.WITHDRAWN)


async def chase_a_partner(j: JourneyDriver) -> None:
    """The transfer confirms at once, the hotel not: reminded twice, then an incident before
    the arrival; asked again, silent still, a second incident, which its late confirmation
    closes. The patient then withdraws."""
    await j.book_the_trip(confirm_partners=False)
    await j.confirm_partner(BookingKind.TRANSFER)
    status = await j.status()
    arrival = next(b.starts_at for b in status.bookings if b.kind is BookingKind.HOTEL)
    await j.sleep(arrival - j.policy.partner_confirmation_before - await j.now())
    first = await j.incident()
    assert first.kind is IncidentKind.PARTNER_UNCONFIRMED
    await j.handle.execute_update(
        PatientJourney.resolve_incident, _resolution(IncidentAction.RETRY, first.number)
    )
    await j.sleep(j.policy.partner_confirmation_grace + timedelta(minutes=5))
    await eventually(
        j.status,
        until=lambda s: s.incident is not None and s.incident.number == first.number + 1,
        what="the second incident",
    )
    await j.confirm_partner(BookingKind.HOTEL)
    await eventually(j.status, until=lambda s: s.incident is None, what="closed by the answer")
    await j.handle.execute_update(PatientJourney.withdraw, Withdrawal(actor=j.patient))
    await _ended(j, Stage.WITHDRAWN)


async def _clinic_answers(j: JourneyDriver, *, confirmed: bool) -> None:
    """The coordinator records the clinic's answer to the new visit's request."""
    await eventually(
        j.status,
        until=lambda s: s.task is Task.RECORD_CLINIC_ANSWER and s.incident is None,
        what="the clinic asked",
    )
    await j.handle.execute_update(
        PatientJourney.clinic_confirmation,
        ClinicConfirmation(actor=COORDINATOR, confirmed=confirmed, clinic_reference="C-2"),
    )


async def _patient_domain(j: JourneyDriver) -> str:
    address = await j.pool.fetchval(
        """SELECT p.email FROM patients p JOIN journeys USING (patient_id)
            WHERE journey_id = $1""",
        uuid.UUID(j.journey_id),
    )
    return str(address).rpartition("@")[2]


async def complete(
    j: JourneyDriver,
    *,
    notes: str = "",
    checkin_weeks: int = 3,
    refused_in_follow_up: RefusingMailbox | None = None,
) -> None:
    """From inquiry through treatment to the end of the follow-up year (whose child runs
    continue as new). Given the relay, the patient's mail server refuses the first week's
    check-in reminder: the year holds an incident until a coordinator skips the email."""
    await j.approve()
    await j.hold_consult(notes=notes)
    await j.accept_plan()
    await j.send_travel()
    await j.confirm_partners()
    await j.sleep(timedelta(days=31))
    await j.treat(notes=notes)
    if refused_in_follow_up is not None:
        domain = await _patient_domain(j)
        refused_in_follow_up.refuse(domain, USER_UNKNOWN)
        await j.sleep(timedelta(days=8))

        async def year() -> FollowUpStatus:
            return await j.follow_up.query(FollowUp.status)

        held = await eventually(year, until=lambda s: s.incident is not None, what="incident")
        assert held.incident is not None and held.incident.kind is IncidentKind.EMAIL_REFUSED
        refused_in_follow_up.allow(domain)
        # Every email her server refused in those days is skipped: the reminder, and another
        # that fell due beside it, one incident after the other.
        incident: Incident | None = held.incident
        while incident is not None:
            skipped = incident.number
            await j.follow_up.execute_update(
                FollowUp.resolve_incident, _resolution(IncidentAction.SKIP, skipped)
            )

            def moved_on(status: FollowUpStatus, skipped: int = skipped) -> bool:
                return status.incident is None or status.incident.number != skipped

            going_on = await eventually(year, until=moved_on, what="the year going on")
            incident = going_on.incident
    await j.follow_up_year(notes=notes, checkin_weeks=checkin_weeks)
    await _ended(j, Stage.COMPLETED)


async def fall_behind_in_rehab(j: JourneyDriver, *, agreed: str = "", notes: str = "") -> None:
    """Treated, the patient sends two short weeks of rehabilitation: the journey waits on the
    case manager, who records what was agreed. Then the check-ins stop: a week missed after its
    reminder puts the journey before the case manager again, until the year ends."""
    await j.book_the_trip()
    await j.sleep(timedelta(days=31))
    await j.treat(notes=notes)
    every = j.policy.rehab_checkin_every
    await j.sleep(every - timedelta(days=1))
    await j.check_in(1, hours="4", days=6, notes=notes)
    await j.sleep(every)
    await j.check_in(2, hours="5.5", days=5, notes=notes)
    waiting = await eventually(
        j.status, until=lambda s: s.waiting_on is WaitingOn.CASE_MANAGER, what="case manager"
    )
    assert waiting.rehab_follow_up is not None
    async with j.pool.acquire() as conn:
        record_id = await ClinicalRepository(conn).add_rehab_follow_up_note(
            journey_id=j.journey_id,
            follow_up_no=waiting.rehab_follow_up.number,
            outcome=RehabOutcome.PLAN_ADJUSTED.value,
            note=agreed or "Shorter sessions for two weeks.",
            recorded_by=CASE_MANAGER.id,
        )
    await j.follow_up.execute_update(
        FollowUp.rehab_follow_up,
        RehabFollowUpRecorded(
            actor=CASE_MANAGER, follow_up_no=waiting.rehab_follow_up.number, record_id=record_id
        ),
    )
    await eventually(j.status, until=lambda s: s.waiting_on is WaitingOn.PATIENT, what="patient")
    await j.follow_up_year(notes=notes, checkin_weeks=2, from_week=3)
    await _ended(j, Stage.COMPLETED)


# Daily check-ins make a run's forty calendar events pass within three weeks, so that the year
# continues as new while the first consult's times are still to be chosen; its times are
# offered six weeks ahead, and may be chosen for a month.
FOLLOW_UP_CONSULTS_POLICY = JourneyPolicy(
    rehab_checkin_every=timedelta(days=1),
    rehab_weeks=30,
    follow_up_offsets=(timedelta(days=42), timedelta(days=91)),
    follow_up_offer_before=timedelta(days=40),
    follow_up_choice_timeout=timedelta(days=30),
)


async def book_follow_ups(j: JourneyDriver, relay: RefusingMailbox) -> None:
    """Treated, the patient books her follow-up consults (the driver's policy is
    `FOLLOW_UP_CONSULTS_POLICY`): for the first she asks for other times, the year continues
    as new, she books, moves the booking, misses it, books the time offered again and is seen;
    the second is booked, and she withdraws while its invitation waits on her mail server
    (which defers it): the email is given up and the booking cancelled."""
    await j.approve()
    await j.hold_consult()
    await j.accept_plan()
    await j.send_travel()
    await j.sleep(timedelta(days=31))
    await j.treat()
    discharged = await eventually(
        j.status, until=lambda s: s.stage is Stage.FOLLOW_UP, what="the follow-up year"
    )
    start = next(t.entered_at for t in discharged.transitions if t.stage is Stage.FOLLOW_UP)
    await j.sleep(start + timedelta(days=6) - await j.now())
    await j.offered(1)
    await j.follow_up.execute_update(
        FollowUp.reschedule_follow_up, FollowUpReschedule(actor=j.patient, consult_no=1)
    )
    await j.sleep(start + timedelta(days=24) - await j.now())
    await j.book_follow_up(1)
    await j.follow_up.execute_update(
        FollowUp.reschedule_follow_up, FollowUpReschedule(actor=j.patient, consult_no=1)
    )
    missed = await j.book_follow_up(1)
    await j.sleep(missed.starts_at - await j.now() + timedelta(minutes=10))
    await j.follow_up.execute_update(
        FollowUp.follow_up_no_show, FollowUpNoShow(actor=SPECIALIST, consult_no=1)
    )
    held = await j.book_follow_up(1)
    await j.sleep(held.starts_at - await j.now() + timedelta(minutes=10))
    await j.record_outcome(1)
    second = start + timedelta(days=91) - timedelta(days=40)
    await j.sleep(second - await j.now() + timedelta(hours=1))
    domain = await _patient_domain(j)
    relay.refuse(domain, DOMAIN_NOT_FOUND)
    await j.book_follow_up(2)
    withdrawal = await j.handle.start_update(
        PatientJourney.withdraw,
        Withdrawal(actor=j.patient),
        wait_for_stage=WorkflowUpdateStage.ACCEPTED,
    )

    async def year_state() -> WorkflowExecutionStatus | None:
        return (await j.follow_up.describe()).status

    await eventually(
        year_state,
        until=lambda s: s is WorkflowExecutionStatus.CANCELED,
        what="the follow-up year cancelled",
    )
    relay.allow(domain)
    await withdrawal.result()
    await _ended(j, Stage.WITHDRAWN)
    assert (await j.bookings())["follow-up-2-1"] == "cancelled"


async def resolve_refused_acknowledgement(j: JourneyDriver, *, corrected_email: str) -> None:
    """Started with an address the relay refuses: the acknowledgement opens an incident; the
    coordinator retries (refused again: a second incident), then skips it; the address is
    corrected in the records and the reviewer rejects, which the patient is told at the
    corrected address."""
    first = await eventually(j.status, until=lambda s: s.incident is not None, what="incident")
    assert first.incident is not None and first.incident.kind is IncidentKind.EMAIL_REFUSED
    assert first.stage is Stage.INQUIRY and first.waiting_on is WaitingOn.COORDINATOR
    number = first.incident.number
    await j.handle.execute_update(
        PatientJourney.resolve_incident, _resolution(IncidentAction.RETRY, number)
    )
    second = await eventually(
        j.status,
        until=lambda s: s.incident is not None and s.incident.number == number + 1,
        what="the retry refused again",
    )
    assert second.incident is not None
    await j.handle.execute_update(
        PatientJourney.resolve_incident, _resolution(IncidentAction.SKIP, second.incident.number)
    )
    await j.reach(Stage.VALIDATION, WaitingOn.REVIEWER)
    await j.pool.execute(
        """UPDATE patients SET email = $2
            WHERE patient_id = (SELECT patient_id FROM journeys WHERE journey_id = $1)""",
        uuid.UUID(j.journey_id),
        corrected_email,
    )
    await reject(j)


async def book_consult(j: JourneyDriver) -> None:
    """Approved, the patient books a consult: it is in the specialist's calendar, and the
    journey waits on the specialist."""
    await j.approve()
    await j.book_first_slot()


async def erase_now(j: JourneyDriver, client: Client, *, reason: str) -> None:
    """A privacy officer erases the journey as `journeys erase` does: a running journey is
    withdrawn first (its bookings undone), then the `JourneyErasure` workflow erases it."""
    await erase(
        j.pool,
        client,
        j.journey_id,
        actor=PRIVACY_OFFICER,
        reason=reason,
        request_id=None,
        task_queue=j.task_queue,
        within=60,
    )
    await _ended(j, Stage.WITHDRAWN)


async def sweep(env: WorkflowEnvironment, task_queue: str) -> tuple[str, list[str]]:
    """Once the retention period of everything closed so far is over, the retention sweep;
    its workflow id and the journeys it erased."""
    await env.sleep(timedelta(days=RETENTION_DAYS + 1))
    workflow_id = f"retention-sweep-{uuid.uuid4().hex[:8]}"
    result: RetentionSweepResult = await env.client.execute_workflow(
        RetentionSweep.run,
        RetentionSweepInput(retention_days=RETENTION_DAYS),
        id=workflow_id,
        task_queue=task_queue,
    )
    return workflow_id, result.erased
