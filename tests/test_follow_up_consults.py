"""Follow-up consults booked as the first consultation was, in the time-skipping environment
with the real worker, PostgreSQL, SMTP mailbox and CalDAV server (Radicale): times offered
with the patient's own specialist, booked into the specialist's calendar with an invitation,
reminded, held; a reschedule, a no-show offered again once, a deactivated specialist, an
offer left unchosen, a withdrawal, and a year continued as new in the middle of a booking."""

import asyncio
import uuid
from datetime import datetime, timedelta
from email.message import EmailMessage

import asyncpg
import pytest
from caldav.davclient import DAVClient
from caldav.lib import error as caldav_error
from icalendar import Calendar
from temporalio.client import WorkflowUpdateFailedError

from activities.bookings import booking_uid
from db.staff import StaffRepository
from domain.follow_up import BookedFollowUp, ConsultEnd, ConsultPhase, FollowUpStatus
from domain.policy import JourneyPolicy
from domain.refusals import Refusal, RefusalCode
from domain.stages import Stage
from domain.step_declarations import StepName
from domain.steps import (
    FollowUpBooking,
    FollowUpNoShow,
    FollowUpReschedule,
    Withdrawal,
)
from integrations.calendar import specialist_calendar
from settings import Settings
from tests.helpers import eventually, read_mailbox, refusal_of, text_of
from tests.journeys import SPECIALIST, JourneyDriver, add_staff
from workflows.follow_up import FollowUp
from workflows.journey import PatientJourney

pytestmark = pytest.mark.usefixtures("worker")

DAY = timedelta(days=1)


async def in_the_follow_up_year(j: JourneyDriver) -> datetime:
    """A journey treated and discharged; when its follow-up year began."""
    await j.start()
    await j.book_and_treat()
    status = await j.status()
    return next(t.entered_at for t in status.transitions if t.stage is Stage.FOLLOW_UP)


async def first_consults_times_offered(j: JourneyDriver) -> datetime:
    """A journey in its follow-up year an hour after the first consult's times were offered;
    when that consult is due."""
    p = j.policy
    due = await in_the_follow_up_year(j) + p.follow_up_offsets[0]
    await j.sleep(due - p.follow_up_offer_before - await j.now() + timedelta(hours=1))
    return due


def calendar_event(settings: Settings, specialist: str, uid: str) -> Calendar | None:
    """The event of `uid` in the specialist's consult calendar on the CalDAV server, read
    with a client of the test's own; None when there is none."""
    assert settings.caldav_url
    client = DAVClient(
        url=settings.caldav_url,
        username=settings.caldav_username,
        password=settings.caldav_password.get_secret_value(),
    )
    calendar = client.principal().calendar(cal_id=specialist_calendar(specialist))
    try:
        found = calendar.event_by_uid(uid)
    except caldav_error.NotFoundError:
        return None
    return Calendar.from_ical(found.data)


async def in_calendar(settings: Settings, specialist: str, uid: str) -> Calendar | None:
    return await asyncio.to_thread(calendar_event, settings, specialist, uid)


async def email(j: JourneyDriver, step: str) -> EmailMessage:
    """The journey's email of `step`, once it has arrived."""

    async def find() -> EmailMessage | None:
        for message in read_mailbox(j.mail_dir):
            if f"<{j.journey_id}.{step}@" in message["Message-ID"]:
                return message
        return None

    found = await eventually(find, what=f"the {step} email")
    assert found is not None
    return found


def invitation(message: EmailMessage) -> Calendar:
    [part] = [p for p in message.iter_attachments() if p.get_content_type() == "text/calendar"]
    return Calendar.from_ical(part.get_content())


def consult(status: FollowUpStatus, n: int) -> BookedFollowUp:
    return next(c for c in status.consults if c.number == n)


async def refused(call: object) -> Refusal:
    with pytest.raises(WorkflowUpdateFailedError) as err:
        await call  # type: ignore[misc]
    return refusal_of(err.value)


async def test_a_follow_up_consult_is_offered_booked_into_the_calendar_reminded_and_held(
    driver: JourneyDriver, settings: Settings, pool: asyncpg.Pool
) -> None:
    j = driver
    discharged = await in_the_follow_up_year(j)
    p = j.policy
    due = discharged + p.follow_up_offsets[0]

    # Before its times are offered, nothing can be booked, and nothing changes.
    early = await refused(
        j.follow_up.execute_update(
            FollowUp.book_follow_up,
            FollowUpBooking(actor=j.patient, consult_no=1, slot_id=f"{j.journey_id}:f1.1:0"),
        )
    )
    assert early.code is RefusalCode.FOLLOW_UP_NOT_OFFERED
    assert early.params.consult_no == 1
    assert early.params.opens_at is not None
    assert abs(early.params.opens_at - (due - p.follow_up_offer_before)) < timedelta(minutes=1)
    assert (await j.year()).consults == []

    await j.sleep(due - p.follow_up_offer_before - await j.now() + timedelta(hours=1))
    offered = await j.offered(1)
    assert offered.phase is ConsultPhase.CHOOSING
    assert len(offered.offered) == p.consult_slots_offered
    # With her own specialist, from the consult's reminder's time on, as the first
    # consultation's were: in the specialist's working hours.
    assert {s.specialist_id for s in offered.offered} == {"spec-1"}
    assert min(s.starts_at for s in offered.offered) >= due - p.follow_up_reminder_before
    assert offered.choose_by is not None
    assert offered.choose_by - (due - p.follow_up_offer_before) < p.follow_up_choice_timeout + DAY
    proposals = await email(j, "follow-up-consult-1-slots-1")
    assert proposals["To"] == "ana.garcia@example.org"
    assert "/my-journey?token=" in text_of(proposals)

    # A time not offered is refused, and nothing is booked.
    wrong = await refused(
        j.follow_up.execute_update(
            FollowUp.book_follow_up,
            FollowUpBooking(actor=j.patient, consult_no=1, slot_id="not-a-slot"),
        )
    )
    assert wrong == Refusal.of(RefusalCode.SLOT_NOT_OFFERED)
    assert "follow-up-1-1" not in await j.bookings()

    booked = await j.book_follow_up(1, pick=1)
    uid = booking_uid(f"{j.journey_id}:follow-up-1-1")
    assert booked.booking_id == f"{j.journey_id}:follow-up-1-1"
    event = await in_calendar(settings, "spec-1", uid)
    assert event is not None, "the booking is in the specialist's calendar"
    [vevent] = event.walk("VEVENT")
    assert vevent.decoded("dtstart") == booked.starts_at
    reference = j.journey_id.split("-", 1)[0].upper()
    assert str(vevent["summary"]) == f"Follow-up consultation 1 {reference}"
    invite = invitation(await email(j, "follow-up-consult-1-booked-1"))
    assert invite["method"] == "REQUEST"
    [invited] = invite.walk("VEVENT")
    assert str(invited["uid"]) == uid
    assert invited.decoded("dtstart") == booked.starts_at
    specialist = await email(j, "follow-up-consult-1-booked-1-specialist")
    assert specialist["To"] == "vidal@clinic.test"
    assert "Ana" not in text_of(specialist)
    again = await refused(
        j.follow_up.execute_update(
            FollowUp.book_follow_up,
            FollowUpBooking(actor=j.patient, consult_no=1, slot_id=offered.offered[0].slot_id),
        )
    )
    assert again == Refusal.of(RefusalCode.SLOT_TAKEN)

    # The day before, the first reminder, with the invitation again.
    await j.sleep(booked.starts_at - DAY - await j.now() + timedelta(minutes=5))
    reminder = await email(j, "follow-up-consult-1-before-1-1")
    assert invitation(reminder)["method"] == "REQUEST"
    assert not [m for m in j.mail_kinds() if m == "follow-up-consult-1-before-1-2"]
    # An hour before, the second; not held yet, neither a no-show nor an outcome is taken.
    await j.sleep(booked.starts_at - await j.now() - timedelta(minutes=30))
    await email(j, "follow-up-consult-1-before-1-2")
    no_show = await refused(
        j.follow_up.execute_update(
            FollowUp.follow_up_no_show, FollowUpNoShow(actor=SPECIALIST, consult_no=1)
        )
    )
    assert no_show == Refusal.of(
        RefusalCode.CONSULT_NOT_STARTED,
        step=StepName.FOLLOW_UP_NO_SHOW,
        starts_at=booked.starts_at,
    )
    outcome = await refused(j.record_outcome(1))
    assert outcome == Refusal.of(
        RefusalCode.CONSULT_NOT_STARTED,
        step=StepName.FOLLOW_UP_OUTCOME,
        starts_at=booked.starts_at,
    )

    await j.sleep(booked.starts_at - await j.now() + timedelta(minutes=5))
    held = await j.record_outcome(1)
    assert held.outcomes_recorded == [1]
    closed = await eventually(
        j.year, until=lambda s: consult(s, 1).phase is ConsultPhase.CLOSED, what="held"
    )
    assert consult(closed, 1).ended is ConsultEnd.HELD
    assert (await j.bookings())["follow-up-1-1"] == "active"
    # Its outcome recorded, no specialist reminder goes out after its grace.
    await j.sleep(due + p.follow_up_outcome_grace - await j.now() + timedelta(hours=1))
    assert "follow-up-consult-1-overdue" not in j.mail_kinds()
    assert len(j.mail_kinds()) == len(set(j.mail_kinds())), "no email twice"


async def test_a_missed_follow_up_consult_is_offered_again_once(
    driver: JourneyDriver, settings: Settings
) -> None:
    j = driver
    due = await first_consults_times_offered(j)
    first_times = {s.starts_at for s in (await j.offered(1)).offered}
    first = await j.book_follow_up(1)
    await j.sleep(first.starts_at - await j.now() + timedelta(minutes=10))
    answer = await j.follow_up.execute_update(
        FollowUp.follow_up_no_show, FollowUpNoShow(actor=SPECIALIST, consult_no=1)
    )
    # New times at once, none of those offered before; the missed one leaves the calendar.
    reoffered = consult(answer, 1)
    assert reoffered.phase is ConsultPhase.CHOOSING and reoffered.no_shows == 1
    assert reoffered.offered and not {s.starts_at for s in reoffered.offered} & first_times
    uid = booking_uid(f"{j.journey_id}:follow-up-1-1")
    assert await in_calendar(settings, "spec-1", uid) is None
    missed = await email(j, "follow-up-consult-1-missed-1")
    assert invitation(missed)["method"] == "CANCEL"
    assert "Le enviaremos nuevas horas" in text_of(missed)
    await email(j, "follow-up-consult-1-slots-2")

    second = await j.book_follow_up(1)
    assert await in_calendar(settings, "spec-1", booking_uid(f"{j.journey_id}:follow-up-1-2"))
    await j.sleep(second.starts_at - await j.now() + timedelta(minutes=10))
    answer = await j.follow_up.execute_update(
        FollowUp.follow_up_no_show, FollowUpNoShow(actor=SPECIALIST, consult_no=1)
    )
    # Missed again: no third round; the case manager is asked to follow it up.
    ended = consult(answer, 1)
    assert ended.phase is ConsultPhase.CLOSED and ended.ended is ConsultEnd.MISSED
    assert ended.no_shows == 2
    follow_ups = {k: v for k, v in (await j.bookings()).items() if k.startswith("follow-up")}
    assert follow_ups == {"follow-up-1-1": "cancelled", "follow-up-1-2": "cancelled"}
    final = await email(j, "follow-up-consult-1-missed-2")
    assert "Lucía Romero" in text_of(final), "her case manager will call"
    told = await email(j, "follow-up-consult-1-not-booked")
    assert told["To"] == "lucia@clinic.test"
    assert "slots-3" not in " ".join(j.mail_kinds())
    closed = await refused(
        j.follow_up.execute_update(
            FollowUp.reschedule_follow_up, FollowUpReschedule(actor=j.patient, consult_no=1)
        )
    )
    assert closed == Refusal.of(RefusalCode.FOLLOW_UP_BOOKING_CLOSED, consult_no=1)
    # Its case manager was told: the specialist is not reminded of an outcome.
    await j.sleep(due + j.policy.follow_up_outcome_grace - await j.now() + timedelta(hours=1))
    assert "follow-up-consult-1-overdue" not in j.mail_kinds()
    # The outcome of the consult the case manager arranged by hand is still recorded.
    assert (await j.record_outcome(1)).outcomes_recorded == [1]


async def test_other_times_a_moved_booking_and_a_deactivated_specialist(
    driver: JourneyDriver, settings: Settings, pool: asyncpg.Pool
) -> None:
    j = driver
    await first_consults_times_offered(j)
    first = await j.offered(1)

    # None suits her: other times, none of the first ones.
    answer = await j.follow_up.execute_update(
        FollowUp.reschedule_follow_up, FollowUpReschedule(actor=j.patient, consult_no=1)
    )
    second = consult(answer, 1)
    assert second.offered
    assert not {s.starts_at for s in second.offered} & {s.starts_at for s in first.offered}
    await email(j, "follow-up-consult-1-slots-2")

    # Her specialist leaves; the next times come from an active one, who becomes hers.
    await add_staff(
        pool,
        "spec-2",
        "Dr. Pablo Ruiz",
        "ruiz@clinic.test",
        "specialist",
        time_zone="Europe/Madrid",
    )
    async with pool.acquire() as conn:
        assert await StaffRepository(conn).set_active(staff_id="spec-1", active=False)
    answer = await j.follow_up.execute_update(
        FollowUp.reschedule_follow_up, FollowUpReschedule(actor=j.patient, consult_no=1)
    )
    third = consult(answer, 1)
    assert {s.specialist_id for s in third.offered} == {"spec-2"}
    assert (
        await pool.fetchval(
            "SELECT specialist_id FROM journeys WHERE journey_id = $1", uuid.UUID(j.journey_id)
        )
        == "spec-2"
    )

    booked = await j.book_follow_up(1)
    uid = booking_uid(f"{j.journey_id}:follow-up-1-3")
    assert await in_calendar(settings, "spec-2", uid) is not None
    assert (await email(j, "follow-up-consult-1-booked-3-specialist"))["To"] == "ruiz@clinic.test"

    # Moved before it starts: cancelled in the calendar and to her, new times offered.
    answer = await j.follow_up.execute_update(
        FollowUp.reschedule_follow_up, FollowUpReschedule(actor=j.patient, consult_no=1)
    )
    assert consult(answer, 1).phase is ConsultPhase.CHOOSING
    assert consult(answer, 1).booking is None
    assert await in_calendar(settings, "spec-2", uid) is None
    cancelled = await email(j, "follow-up-consult-1-cancelled-3")
    assert invitation(cancelled)["method"] == "CANCEL"
    assert (await j.bookings())["follow-up-1-3"] == "cancelled"
    # Once it has started, it can no longer be moved.
    again = await j.book_follow_up(1)
    await j.sleep(again.starts_at - await j.now() + timedelta(minutes=1))
    late = await refused(
        j.follow_up.execute_update(
            FollowUp.reschedule_follow_up, FollowUpReschedule(actor=j.patient, consult_no=1)
        )
    )
    assert late == Refusal.of(RefusalCode.CONSULT_STARTED)
    assert booked.starts_at != again.starts_at


async def test_times_left_unchosen_go_to_the_case_manager(driver: JourneyDriver) -> None:
    j = driver
    discharged = await in_the_follow_up_year(j)
    p = j.policy
    due = discharged + p.follow_up_offsets[0]
    offer = due - p.follow_up_offer_before
    await j.sleep(offer - await j.now() + timedelta(hours=1))
    await j.offered(1)
    await j.sleep(offer + p.follow_up_choice_reminders[0] - await j.now() + timedelta(hours=1))
    reminder = await email(j, "follow-up-consult-1-slots-1-reminder-1")
    assert reminder["Subject"].startswith("Recordatorio")
    await j.sleep(offer + p.follow_up_choice_timeout - await j.now() + timedelta(hours=1))
    status = await eventually(
        j.year, until=lambda s: consult(s, 1).phase is ConsultPhase.CLOSED, what="closed"
    )
    assert consult(status, 1).ended is ConsultEnd.NOT_BOOKED
    assert consult(status, 1).offered == []
    told = await email(j, "follow-up-consult-1-not-booked")
    assert told["To"] == "lucia@clinic.test"
    # The case manager arranges it by hand; its outcome is recorded as before bookings.
    assert (await j.record_outcome(1)).outcomes_recorded == [1]


async def test_a_withdrawal_cancels_the_booked_follow_up_consult(
    driver: JourneyDriver, settings: Settings
) -> None:
    j = driver
    await first_consults_times_offered(j)
    await j.book_follow_up(1)
    uid = booking_uid(f"{j.journey_id}:follow-up-1-1")
    assert await in_calendar(settings, "spec-1", uid) is not None
    await j.handle.execute_update(PatientJourney.withdraw, Withdrawal(actor=j.patient))
    assert (await j.result()).stage is Stage.WITHDRAWN
    assert (await j.bookings())["follow-up-1-1"] == "cancelled"
    assert await in_calendar(settings, "spec-1", uid) is None
    assert (
        await j.pool.fetchval(
            "SELECT count(*) FROM incidents WHERE journey_id = $1", uuid.UUID(j.journey_id)
        )
        == 0
    ), "a withdrawal is no incident"


async def test_a_year_continued_as_new_goes_on_booking_where_it_was(
    driver: JourneyDriver, settings: Settings
) -> None:
    """Daily check-ins fill a run's forty calendar events within three weeks: the times for
    the one consult, due at six weeks, are offered in one run, chosen and booked in the next."""
    j = driver
    j.policy = JourneyPolicy(
        rehab_checkin_every=DAY,
        rehab_weeks=40,
        follow_up_offsets=(42 * DAY,),
        follow_up_offer_before=40 * DAY,
        follow_up_choice_timeout=30 * DAY,
        follow_up_choice_reminders=(),
    )
    discharged = await in_the_follow_up_year(j)
    p = j.policy
    offer = discharged + p.follow_up_offsets[0] - p.follow_up_offer_before
    await j.sleep(offer - await j.now() + timedelta(hours=1))
    before = await j.offered(1)
    first_run = (await j.follow_up.describe()).run_id
    await j.sleep(discharged + 24 * DAY - await j.now())

    async def run_id() -> str | None:
        return (await j.follow_up.describe()).run_id

    await eventually(run_id, until=lambda r: r != first_run, what="a new run")
    carried = await j.offered(1)
    assert carried.offered == before.offered and carried.choose_by == before.choose_by
    booked = await j.book_follow_up(1)
    assert (
        await in_calendar(settings, "spec-1", booking_uid(f"{j.journey_id}:follow-up-1-1"))
        is not None
    )
    assert booked.starts_at > await j.now()
    steps = j.mail_kinds()
    assert steps.count("follow-up-consult-1-slots-1") == 1
    assert "follow-up-consult-1-booked-1" in await eventually(
        lambda: asyncio.sleep(0, j.mail_kinds()),
        until=lambda m: "follow-up-consult-1-booked-1" in m,
        what="the booking's email",
    )
