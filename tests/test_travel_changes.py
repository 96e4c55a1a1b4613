"""A booked trip in the time-skipping environment, with the real worker, PostgreSQL and SMTP
and the clinic that answers by email: new dates re-book the visit, the hotel and the transfer
as a saga (each booking made and cancelled once, across worker crashes; a failure half-way
keeps the old bookings and opens an incident), and each partner's request waits for its
confirmation, with reminders and then an incident."""

import asyncio
import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import timedelta

import asyncpg
import pytest
from temporalio import activity
from temporalio.client import WorkflowUpdateFailedError, WorkflowUpdateStage
from temporalio.exceptions import ApplicationError
from temporalio.testing import WorkflowEnvironment
from temporalio.worker import Worker

from activities.bookings import BookingActivities
from domain.incidents import IncidentAction, IncidentKind
from domain.names import TREATMENT_DATE
from domain.records import Booking, BookingKind, BookingRequest, CancelBooking
from domain.refusals import RefusalCode
from domain.stages import Stage, Task, WaitingOn
from domain.step_declarations import StepName
from domain.steps import ClinicConfirmation, IncidentResolution
from integrations.clinic import EmailClinicGateway
from settings import Settings
from tests.helpers import eventually, read_mailbox, refusal_of, text_of
from tests.journeys import COORDINATOR, JourneyDriver
from worker import build_activities, smtp_sender
from workflows.journey import PatientJourney
from workflows.registry import WORKFLOWS, workflow_runner

OLD = {"clinic-visit", "hotel", "transfer"}
NEW = {"clinic-visit-change-1", "hotel-change-1", "transfer-change-1"}


class FaultyBookings(BookingActivities):
    """The real bookings, but for the steps named: `hang` never answers (the worker is about
    to die), `refuse` fails for good."""

    def __init__(
        self,
        pool: asyncpg.Pool,
        *,
        hang: frozenset[str] = frozenset(),
        refuse: frozenset[str] = frozenset(),
    ) -> None:
        super().__init__(pool, None, "https://video.test/consult", EmailClinicGateway())
        self.hang, self.refuse = hang, refuse
        self.hanging = asyncio.Event()

    async def _fault(self, step: str) -> None:
        if step in self.refuse:
            raise ApplicationError("the booking was refused", type="Refused", non_retryable=True)
        if step in self.hang:
            self.hanging.set()
            await asyncio.Event().wait()

    @activity.defn(name="book")
    async def book(self, request: BookingRequest) -> Booking:
        await self._fault(request.step)
        return await super().book(request)

    @activity.defn(name="cancel_booking")
    async def cancel_booking(self, request: CancelBooking) -> bool:
        await self._fault(f"cancel:{request.booking_id.partition(':')[2]}")
        return await super().cancel_booking(request)


@asynccontextmanager
async def worker_with(
    env: WorkflowEnvironment, settings: Settings, pool: asyncpg.Pool, bookings: BookingActivities
) -> AsyncIterator[Worker]:
    """The project's worker with `bookings` for its booking activities and the clinic that
    answers by email; no sticky cache, so that a new worker replays what a dead one did."""
    activities = [
        getattr(bookings, name) if name in ("book", "cancel_booking") else a
        for a in build_activities(
            settings=settings, pool=pool, sender=smtp_sender(settings), clinic=EmailClinicGateway()
        )
        for name in [getattr(a, "__name__", "")]
    ]
    async with Worker(
        env.client,
        task_queue=settings.task_queue,
        workflows=WORKFLOWS,
        activities=activities,
        workflow_runner=workflow_runner(reimport_workflows=True),
        max_cached_workflows=0,
        graceful_shutdown_timeout=timedelta(0),
    ) as running:
        yield running


def _count(j: JourneyDriver, step: str) -> int:
    return j.mail_kinds().count(step)


def _emailed(j: JourneyDriver, *steps: str) -> list[str]:
    """The journey's emails (`mail_kinds`), having checked that each of `steps` is among them."""
    sent = j.mail_kinds()
    for step in steps:
        assert step in sent, step
    return sent


async def _settled_on_new_dates(j: JourneyDriver) -> None:
    """The change is booked: the journey waits on the patient to travel, nothing open."""
    await eventually(
        j.status,
        until=lambda s: s.task is Task.TRAVEL_TO_CLINIC and s.incident is None,
        what="the new dates booked",
    )
    await j.idle()


async def _clinic_answers(j: JourneyDriver, *, yes: bool = True, wait: bool = True) -> None:
    """The coordinator records the clinic's answer to the new visit's request. The journey
    answers the step once it has moved on, which a worker that dies half-way never lets it
    do: without `wait` the step is only sent."""
    await eventually(
        j.status,
        until=lambda s: s.task is Task.RECORD_CLINIC_ANSWER and s.incident is None,
        what="the clinic asked",
    )
    answer = ClinicConfirmation(actor=COORDINATOR, confirmed=yes, clinic_reference="C-2")
    if wait:
        await j.handle.execute_update(PatientJourney.clinic_confirmation, answer)
    else:
        await j.handle.start_update(
            PatientJourney.clinic_confirmation,
            answer,
            wait_for_stage=WorkflowUpdateStage.ACCEPTED,
        )


async def _change_status(j: JourneyDriver) -> list[str | None]:
    rows = await j.pool.fetch(
        "SELECT change_status FROM travel_records WHERE journey_id = $1 ORDER BY submitted_at",
        uuid.UUID(j.journey_id),
    )
    return [r["change_status"] for r in rows]


async def test_new_dates_rebook_the_visit_hotel_and_transfer_and_everyone_is_told(
    worker: Worker, driver: JourneyDriver
) -> None:
    j = await driver.start()
    await j.book_the_trip()
    before = await j.status()
    old_day1 = next(b.starts_at for b in before.bookings if b.kind is BookingKind.CLINIC_VISIT)
    assert before.travel_change_until == old_day1 - j.policy.travel_change_cutoff

    answer = await j.change_dates(timedelta(days=45))
    assert answer.task is Task.CHANGE_TRAVEL and answer.waiting_on is WaitingOn.CLINIC
    # A change under way takes no other until it is booked or given up.
    assert StepName.CHANGE_TRAVEL not in answer.expects
    # The clinic answers the new visit's request by email; a coordinator records its yes.
    await _clinic_answers(j)
    await _settled_on_new_dates(j)

    assert await j.bookings() == {
        "consult-1": "active",
        **dict.fromkeys(OLD, "cancelled"),
        **dict.fromkeys(NEW, "active"),
    }
    status = await j.status()
    new_day1 = next(
        b.starts_at
        for b in status.bookings
        if b.kind is BookingKind.CLINIC_VISIT and not b.cancelled
    )
    assert new_day1 > old_day1 + timedelta(days=14)
    assert status.deadline == new_day1
    assert status.travel_change_until == new_day1 - j.policy.travel_change_cutoff
    described = await j.handle.describe()
    assert described.typed_search_attributes.get(TREATMENT_DATE) == new_day1
    assert await _change_status(j) == ["applied"]
    # Each once: all of them sent, and no email twice.
    steps = _emailed(
        j,
        "cancel-transfer",
        "cancel-hotel",
        "cancel-clinic-visit",
        "clinic-visit-change-1-request",
        "travel-changed-1",
        "travel-changed-staff-1",
        "visa-letter-change-1",
        "hotel-change-1-request",
        "transfer-change-1-request",
    )
    assert len(steps) == len(set(steps)), "no email twice"
    mails = {m["Message-ID"]: m for m in read_mailbox(j.mail_dir)}
    cancelled_visit = next(m for mid, m in mails.items() if ".cancel-clinic-visit@" in mid)
    assert "travel dates have changed" in text_of(cancelled_visit)
    # The partners' new requests carry a link that confirms the new booking.
    hotel = next(m for mid, m in mails.items() if ".hotel-change-1-request@" in mid)
    assert f"/partner-confirmations/{j.journey_id}?token=" in text_of(hotel)

    # The old hotel's confirmation stays with the cancelled booking; the new one is awaited.
    await j.confirm_partners(reference="R-2002")
    await j.sleep(new_day1 - await j.now() + timedelta(minutes=1))
    await j.reach(Stage.TREATMENT)


async def test_a_change_across_worker_crashes_books_and_cancels_each_booking_once(
    temporal_env: WorkflowEnvironment, pool: asyncpg.Pool, settings: Settings, driver: JourneyDriver
) -> None:
    """The first worker dies while booking the new transfer, the second while cancelling the
    old hotel; the third finishes the saga. Each booking is made once and cancelled once, and
    each partner, the clinic and the patient are told once."""
    j = driver
    first = FaultyBookings(pool, hang=frozenset({"transfer-change-1"}))
    async with worker_with(temporal_env, settings, pool, first):
        await j.start()
        await j.book_the_trip()
        await j.change_dates(timedelta(days=45))
        await _clinic_answers(j, wait=False)
        await asyncio.wait_for(first.hanging.wait(), timeout=30)
    assert (await j.bookings()).keys() == {
        "consult-1",
        *OLD,
        "clinic-visit-change-1",
        "hotel-change-1",
    }

    second = FaultyBookings(pool, hang=frozenset({"cancel:hotel"}))
    async with worker_with(temporal_env, settings, pool, second):
        # The dead worker's attempt failed as it stopped: this one books the transfer again.
        await asyncio.wait_for(second.hanging.wait(), timeout=60)
    booked = await j.bookings()
    assert booked["transfer-change-1"] == "active" and booked["transfer"] == "cancelled"
    assert booked["hotel"] == "active", "the worker died cancelling it"

    async with worker_with(temporal_env, settings, pool, FaultyBookings(pool)):
        await _settled_on_new_dates(j)

    assert await j.bookings() == {
        "consult-1": "active",
        **dict.fromkeys(OLD, "cancelled"),
        **dict.fromkeys(NEW, "active"),
    }
    rows = await pool.fetch(
        "SELECT step, count(*) AS n FROM bookings WHERE journey_id = $1 GROUP BY step",
        uuid.UUID(j.journey_id),
    )
    assert {r["step"]: r["n"] for r in rows} == dict.fromkeys({"consult-1", *OLD, *NEW}, 1)
    # Each once: all of them sent, and no email twice.
    steps = _emailed(
        j,
        "clinic-visit-change-1-request",
        "cancel-transfer",
        "cancel-hotel",
        "cancel-clinic-visit",
        "travel-changed-1",
        "hotel-change-1-request",
        "transfer-change-1-request",
    )
    assert len(steps) == len(set(steps)), "no email twice"
    assert await _change_status(j) == ["applied"]


async def test_a_change_that_fails_half_way_keeps_the_old_bookings_and_holds_an_incident(
    temporal_env: WorkflowEnvironment, pool: asyncpg.Pool, settings: Settings, driver: JourneyDriver
) -> None:
    """The new transfer cannot be booked: the new visit and hotel are cancelled (the clinic
    told, the hotel never asked), the old trip stands whole, the patient and the case manager
    are told, and a coordinator's incident decides. Retried, the change books in full."""
    j = driver
    async with worker_with(
        temporal_env, settings, pool, FaultyBookings(pool, refuse=frozenset({"transfer-change-1"}))
    ):
        await j.start()
        await j.book_the_trip()
        await j.change_dates(timedelta(days=45))
        await _clinic_answers(j)
        incident = await j.incident()
        assert incident.kind is IncidentKind.TRAVEL_CHANGE_FAILED
        assert incident.actions == (
            IncidentAction.RETRY,
            IncidentAction.SKIP,
            IncidentAction.WITHDRAW,
        )
        # The incident opens once the saga is undone and everyone told.
        assert await j.bookings() == {
            "consult-1": "active",
            **dict.fromkeys(OLD, "active"),
            "clinic-visit-change-1": "cancelled",
            "hotel-change-1": "cancelled",
        }
        await eventually(
            lambda: asyncio.sleep(0, j.mail_kinds()),
            until=lambda m: f"incident-{incident.number}" in m,
            what="the coordinators told",
        )
        status = await j.status()
        assert status.stage is Stage.TRAVEL and status.waiting_on is WaitingOn.COORDINATOR
        assert await _change_status(j) == ["failed"]
        steps = _emailed(
            j,
            "cancel-clinic-visit-change-1",
            "travel-change-failed-1",
            "travel-change-failed-staff-1",
            f"incident-{incident.number}",
        )
        assert not {"cancel-hotel-change-1", "cancel-hotel", "travel-changed-1"} & set(steps)
        undone = next(
            m
            for m in read_mailbox(j.mail_dir)
            if ".cancel-clinic-visit-change-1@" in m["Message-ID"]
        )
        assert "could not go ahead" in text_of(undone)
        # Meanwhile the patient cannot send other dates: the change is a coordinator's now.
        with pytest.raises(WorkflowUpdateFailedError) as refused:
            await j.change_dates(timedelta(days=50))
        assert refusal_of(refused.value).code is RefusalCode.TRAVEL_CHANGE_UNDER_WAY

        await j.handle.execute_update(
            PatientJourney.resolve_incident,
            IncidentResolution(
                actor=COORDINATOR, action=IncidentAction.RETRY, incident_number=incident.number
            ),
        )
        await _clinic_answers(j)
        await _settled_on_new_dates(j)
    booked = await j.bookings()
    assert {s: v for s, v in booked.items() if v == "active"}.keys() == {
        "consult-1",
        "clinic-visit-change-2",
        "hotel-change-2",
        "transfer-change-2",
    }
    assert await _change_status(j) == ["applied"]


async def test_a_change_given_up_keeps_the_old_dates_and_the_patient_may_ask_again(
    temporal_env: WorkflowEnvironment, pool: asyncpg.Pool, settings: Settings, driver: JourneyDriver
) -> None:
    j = driver
    async with worker_with(temporal_env, settings, pool, FaultyBookings(pool)):
        await j.start()
        await j.book_the_trip()
        await j.change_dates(timedelta(days=45))
        await _clinic_answers(j, yes=False)
        incident = await j.incident()
        assert incident.kind is IncidentKind.TRAVEL_CHANGE_FAILED
        await j.handle.execute_update(
            PatientJourney.resolve_incident,
            IncidentResolution(
                actor=COORDINATOR, action=IncidentAction.SKIP, incident_number=incident.number
            ),
        )
        status = await j.reach(Stage.TRAVEL, WaitingOn.PATIENT)
        assert status.task is Task.TRAVEL_TO_CLINIC and status.incident is None
        assert StepName.CHANGE_TRAVEL in status.expects
        assert {s: v for s, v in (await j.bookings()).items() if v == "active"}.keys() == {
            "consult-1",
            *OLD,
        }
        # The declined visit's request is withdrawn from the clinic in no email: it said no.
        assert "cancel-clinic-visit-change-1" not in j.mail_kinds()
        await j.change_dates(timedelta(days=40))
        await _clinic_answers(j)
        await _settled_on_new_dates(j)
        assert (await j.bookings())["hotel-change-2"] == "active"


async def test_an_unconfirmed_hotel_is_reminded_then_becomes_an_incident(
    worker: Worker, driver: JourneyDriver
) -> None:
    j = await driver.start()
    await j.book_the_trip(confirm_partners=False)
    await j.confirm_partner(BookingKind.TRANSFER)
    requested = await j.now()
    arrival = next(b.starts_at for b in (await j.status()).bookings if b.kind is BookingKind.HOTEL)

    await j.sleep(timedelta(days=5))
    reminders = await eventually(
        lambda: asyncio.sleep(0, [s for s in j.mail_kinds() if "-reminder-" in s]),
        until=lambda found: {"hotel-reminder-1", "hotel-reminder-2"} <= set(found),
        what="two reminders to the hotel",
    )
    assert not [s for s in reminders if s.startswith("transfer-")], "the transfer confirmed"
    assert (await j.status()).incident is None

    due = arrival - j.policy.partner_confirmation_before
    await j.sleep(due - await j.now() + timedelta(minutes=1))
    incident = await j.incident()
    assert incident.kind is IncidentKind.PARTNER_UNCONFIRMED and incident.step == "confirm:hotel"
    assert (await j.status()).waiting_on is WaitingOn.COORDINATOR
    assert due - requested > timedelta(days=20)

    # Asked again, the hotel has a day more; silent still, the incident opens again.
    await j.handle.execute_update(
        PatientJourney.resolve_incident,
        IncidentResolution(
            actor=COORDINATOR, action=IncidentAction.RETRY, incident_number=incident.number
        ),
    )
    assert "hotel-request-again-1" in await eventually(
        lambda: asyncio.sleep(0, j.mail_kinds()), until=lambda m: "hotel-request-again-1" in m
    )
    await j.sleep(j.policy.partner_confirmation_grace + timedelta(minutes=1))
    again = await eventually(
        j.status,
        until=lambda s: s.incident is not None and s.incident.number == incident.number + 1,
        what="a second incident",
    )
    assert again.incident is not None
    second = again.incident.number

    # The hotel's answer arrives: the incident closes by itself.
    await j.confirm_partner(BookingKind.HOTEL)
    status = await eventually(j.status, until=lambda s: s.incident is None, what="closed")
    assert status.task is Task.TRAVEL_TO_CLINIC
    assert all(
        b.confirmed for b in status.bookings if b.kind in (BookingKind.HOTEL, BookingKind.TRANSFER)
    )
    # The journey's record of the incident is written by an activity after the run closed it.
    closed = await eventually(
        lambda: j.pool.fetchrow(
            "SELECT resolution, resolved_by FROM incidents WHERE journey_id = $1 AND number = $2",
            uuid.UUID(j.journey_id),
            second,
        ),
        until=lambda row: row is not None and row["resolution"] is not None,
        what="the incident's record closed",
    )
    assert (closed["resolution"], closed["resolved_by"]) == ("skip", "system")
    await j.sleep(arrival - await j.now() + timedelta(days=1))
    await j.reach(Stage.TREATMENT)
    assert _count(j, "hotel-reminder-3") == 0


async def test_after_the_cutoff_the_journey_refuses_new_dates(
    worker: Worker, driver: JourneyDriver
) -> None:
    j = await driver.start()
    await j.book_the_trip()
    await j.past_change_cutoff()
    await j.idle()
    before = await j.decisions()
    with pytest.raises(WorkflowUpdateFailedError) as refused:
        await j.change_dates(timedelta(days=30))
    assert refusal_of(refused.value).code is RefusalCode.TRAVEL_CHANGE_CLOSED
    # Beyond the workflow task that ran the validator (which the real server drops), nothing.
    assert await j.decisions() == before
    assert await _change_status(j) == [], "the refused change's record is removed"
    assert {s for s, v in (await j.bookings()).items() if v == "active"} == {"consult-1", *OLD}
