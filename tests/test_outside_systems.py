"""Email, calendar and clinic against the real local servers (SMTP, Radicale)."""

import asyncio
import warnings
from datetime import UTC, datetime, timedelta
from pathlib import Path

import asyncpg
import pytest
from icalendar import Calendar
from temporalio.testing import ActivityEnvironment, WorkflowEnvironment

from activities.bookings import BookingActivities, booking_uid
from devstack.mailbox import start_mailbox
from domain.records import CancelBooking, SlotsRequest
from domain.stages import Stage, WaitingOn
from domain.steps import NoShow
from integrations.caldav_calendar import CalDavCalendar
from integrations.calendar import ConsultEvent, specialist_calendar
from settings import Settings
from tests.helpers import consult_request, eventually, read_mailbox
from tests.journeys import SPECIALIST, JourneyDriver, seed_staff
from worker import build_worker, calendar_client, clinic_gateway, smtp_sender
from workflows.journey import PatientJourney


@pytest.fixture
def calendar(settings: Settings) -> CalDavCalendar:
    """The calendar server the worker books in, as the settings name it (Radicale)."""
    client = calendar_client(settings)
    assert isinstance(client, CalDavCalendar)
    return client


@pytest.fixture
async def bookings(pool: asyncpg.Pool, calendar: CalDavCalendar) -> BookingActivities:
    """The booking activities on their own, with the staff on file."""
    await seed_staff(pool)
    return BookingActivities(pool, calendar, "https://video.test")


def _ics_parts(mail_dir: Path, step: str) -> list[Calendar]:
    for message in read_mailbox(mail_dir):
        if f".{step}@" in message["Message-ID"]:
            return [
                Calendar.from_ical(part.get_content())
                for part in message.iter_attachments()
                if part.get_content_type() == "text/calendar"
            ]
    return []


@pytest.mark.usefixtures("worker")
async def test_consult_lives_in_the_specialists_calendar_with_an_invite(
    driver: JourneyDriver, calendar: CalDavCalendar, mail_dir: Path
) -> None:
    j = await driver.start()
    await j.approve()
    starts_at = await j.book_first_slot()
    uid = booking_uid(f"{j.journey_id}:consult-1")

    busy = await calendar.busy(
        specialist_calendar("spec-1"),
        starts_at - timedelta(hours=1),
        starts_at + timedelta(hours=1),
    )
    assert busy == [(starts_at, starts_at + timedelta(minutes=30))]
    invites = await eventually(
        lambda: asyncio.sleep(0, _ics_parts(mail_dir, "booking-confirmation-1")),
        what="the booking confirmation with its invite",
    )
    [invite] = invites
    assert invite["method"] == "REQUEST"
    [event] = invite.walk("VEVENT")
    assert str(event["uid"]) == uid
    assert event.decoded("dtstart") == starts_at
    assert str(event["url"]).endswith(uid)
    assert str(event["attendee"]) == "mailto:ana.garcia@example.org"
    assert str(event["summary"]) == "Videoconsulta con su especialista", "the patient's language"

    await j.sleep(starts_at - await j.now() + timedelta(minutes=10))
    await j.handle.execute_update(PatientJourney.consult_no_show, NoShow(actor=SPECIALIST))
    await j.reach(Stage.TELECONSULT, WaitingOn.PATIENT)
    assert (
        await calendar.busy(
            specialist_calendar("spec-1"),
            starts_at - timedelta(hours=1),
            starts_at + timedelta(hours=1),
        )
        == []
    )
    cancels = await eventually(
        lambda: asyncio.sleep(0, _ics_parts(mail_dir, "no-show-1")), what="the cancellation"
    )
    assert cancels[0]["method"] == "CANCEL"
    assert str(next(iter(cancels[0].walk("VEVENT")))["uid"]) == uid


async def test_a_retried_booking_is_one_event_and_a_move_updates_it(
    bookings: BookingActivities, calendar: CalDavCalendar, pool: asyncpg.Pool
) -> None:
    activities = bookings
    from tests.test_email_activity import _journey

    journey_id = await _journey(pool)
    env = ActivityEnvironment()
    proposed = await env.run(
        activities.propose_consult_slots,
        SlotsRequest(journey_id=journey_id, round=1, count=3, not_before=datetime.now(UTC)),
    )
    slot = proposed.slots[0]
    request = consult_request(journey_id, slot)
    first = await env.run(activities.book, request)
    again = await env.run(activities.book, request)
    assert first == again
    cal_id = specialist_calendar(slot.specialist_id)
    window = (slot.starts_at - timedelta(days=1), slot.starts_at + timedelta(days=2))
    assert len(await calendar.busy(cal_id, *window)) == 1

    moved = slot.starts_at + timedelta(days=1)
    event = activities.consult_event(journey_id, first)
    await calendar.put_event(
        cal_id,
        ConsultEvent(
            uid=event.uid,
            start=moved,
            end=moved + timedelta(minutes=30),
            summary=event.summary,
            description=event.description,
            video_link=event.video_link,
        ),
    )
    assert await calendar.busy(cal_id, *window) == [(moved, moved + timedelta(minutes=30))]

    for _ in range(2):  # a retried cancellation is harmless
        await env.run(
            activities.cancel_booking,
            CancelBooking(journey_id=journey_id, booking_id=first.booking_id),
        )
    assert await calendar.busy(cal_id, *window) == []


async def test_busy_times_in_the_calendar_are_not_offered(
    bookings: BookingActivities, calendar: CalDavCalendar, pool: asyncpg.Pool
) -> None:
    activities = bookings
    from tests.test_email_activity import _journey

    first_journey, second_journey = await _journey(pool), await _journey(pool)
    env = ActivityEnvironment()
    now = datetime(2030, 3, 4, 7, 0, tzinfo=UTC)  # a Monday, far from other tests' bookings
    before = await env.run(
        activities.propose_consult_slots,
        SlotsRequest(journey_id=first_journey, round=1, count=3, not_before=now),
    )
    taken = before.slots[0]
    await calendar.put_event(
        specialist_calendar("spec-1"),
        ConsultEvent(
            uid="private-appointment",
            start=taken.starts_at,
            end=taken.ends_at,
            summary="Busy",
            description="",
            video_link="",
        ),
    )
    after = await env.run(
        activities.propose_consult_slots,
        SlotsRequest(journey_id=second_journey, round=1, count=3, not_before=now),
    )
    assert taken.starts_at not in [s.starts_at for s in after.slots]
    await calendar.delete_event(specialist_calendar("spec-1"), "private-appointment")


@pytest.mark.usefixtures("worker")
async def test_the_visa_letter_travels_as_a_pdf(
    mail_dir: Path,
    driver: JourneyDriver,
) -> None:
    j = await driver.start()
    await j.book_the_trip(needs_visa=True)

    def letter() -> list[bytes]:
        for message in read_mailbox(mail_dir):
            if ".visa-letter@" in message["Message-ID"]:
                return [
                    p.get_content()
                    for p in message.iter_attachments()
                    if p.get_content_type() == "application/pdf"
                ]
        return []

    [pdf] = await eventually(lambda: asyncio.sleep(0, letter()), what="the visa letter")
    assert pdf.startswith(b"%PDF")


async def test_smtp_down_then_back_delivers_every_message_once(
    temporal_env: WorkflowEnvironment, pool: asyncpg.Pool, settings: Settings, tmp_path: Path
) -> None:
    """The mail server is down when the journey starts; when it returns, nothing is lost
    and nothing arrives twice."""
    await seed_staff(pool)
    from devstack.ports import free_port

    port, mailbox = free_port(), tmp_path / "mail"
    local = settings.model_copy(update={"smtp_port": port})
    async with build_worker(
        temporal_env.client,
        settings=local,
        pool=pool,
        sender=smtp_sender(local),
        calendar=calendar_client(local),
        clinic=clinic_gateway(local),
    ):
        j = JourneyDriver(temporal_env, pool, local.task_queue, mailbox)
        await j.start()
        await j.reach(Stage.INQUIRY)
        await j.sleep(timedelta(minutes=5))  # several failed attempts, with backoff
        assert not list(mailbox.glob("*.eml"))
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            controller = start_mailbox(mailbox, port=port)
        try:
            await j.sleep(timedelta(minutes=15))
            await j.reach(Stage.VALIDATION, WaitingOn.REVIEWER)
            steps = await eventually(
                lambda: asyncio.sleep(0, j.mail_kinds()),
                until=lambda m: len(m) >= 2,
                what="the delayed emails",
            )
        finally:
            await asyncio.to_thread(controller.stop)
    assert sorted(steps) == ["acknowledgement", "staff-new-inquiry"]
