"""A specialist's calendar as people keep it, read from the real local CalDAV server (Radicale).

The specialist works in Madrid (UTC+1 until the last Sunday of March 2027, UTC+2 after); the
consult slots are 09:00, 11:00 and 15:00 there, on weekdays. Every date is fixed in 2027.
"""

import logging
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import asyncpg
import httpx
import pytest
from temporalio.testing import ActivityEnvironment

from activities.bookings import HORIZON, MIN_NOTICE, BookingActivities
from db.staff import LEGACY_CONSULT_MINUTES, LEGACY_HOURS
from domain.records import SlotsRequest
from domain.working_hours import Instants, consult_slots
from integrations.caldav_calendar import CalDavCalendar
from integrations.calendar import specialist_calendar
from integrations.calendar_events import busy_intervals
from tests.journeys import seed_staff
from tests.test_email_activity import _journey

MADRID = ZoneInfo("Europe/Madrid")
MARCH = (datetime(2027, 3, 1, tzinfo=UTC), datetime(2027, 4, 1, tzinfo=UTC))
# A Sunday morning: with a day's notice, the first slot that can be offered is Monday 1 March.
NOT_BEFORE = datetime(2027, 2, 28, 6, 0, tzinfo=UTC)
PRIVATE = "Ana García, MRI follow-up"  # what a summary may hold; never in the log


def candidate_slots(
    *, not_before: datetime, tz: ZoneInfo, count: int, busy: list[Instants]
) -> list[Instants]:
    """The slots a specialist on the hours every specialist had before the staff directory
    kept their own (weekdays at 09:00, 11:00 and 15:00) is offered around `busy`."""
    return consult_slots(
        hours=LEGACY_HOURS,
        tz=tz,
        length=timedelta(minutes=LEGACY_CONSULT_MINUTES),
        earliest=not_before + MIN_NOTICE,
        until=not_before + HORIZON,
        count=count,
        busy=busy,
    )


NEW_YORK_VTIMEZONE = """\
BEGIN:VTIMEZONE
TZID:America/New_York
BEGIN:DAYLIGHT
TZOFFSETFROM:-0500
TZOFFSETTO:-0400
TZNAME:EDT
DTSTART:19700308T020000
RRULE:FREQ=YEARLY;BYMONTH=3;BYDAY=2SU
END:DAYLIGHT
BEGIN:STANDARD
TZOFFSETFROM:-0400
TZOFFSETTO:-0500
TZNAME:EST
DTSTART:19701101T020000
RRULE:FREQ=YEARLY;BYMONTH=11;BYDAY=1SU
END:STANDARD
END:VTIMEZONE
"""

# Monday clinic session 08:30-10:00 in Madrid, every week; not on 15 March (EXDATE), moved
# to the afternoon on 22 March (an override with RECURRENCE-ID).
WEEKLY_SESSION = """\
BEGIN:VEVENT
UID:clinic-session
DTSTAMP:20270101T000000Z
DTSTART;TZID=Europe/Madrid:20270301T083000
DTEND;TZID=Europe/Madrid:20270301T100000
RRULE:FREQ=WEEKLY;BYDAY=MO
EXDATE;TZID=Europe/Madrid:20270315T083000
SUMMARY:Clinic session
END:VEVENT
BEGIN:VEVENT
UID:clinic-session
DTSTAMP:20270101T000000Z
RECURRENCE-ID;TZID=Europe/Madrid:20270322T083000
DTSTART;TZID=Europe/Madrid:20270322T150000
DTEND;TZID=Europe/Madrid:20270322T160000
SUMMARY:Clinic session (afternoon this week)
END:VEVENT
"""

EVENTS = {
    "clinic-session": WEEKLY_SESSION,
    # Tuesday 2 March, all day (DTEND of a date is the day after the last).
    "congress": """\
BEGIN:VEVENT
UID:congress
DTSTAMP:20270101T000000Z
DTSTART;VALUE=DATE:20270302
DTEND;VALUE=DATE:20270303
SUMMARY:Spine congress
END:VEVENT
""",
    # Wednesday 3 March, 10:50-12:20 in Madrid, given as a start and a DURATION.
    "board": """\
BEGIN:VEVENT
UID:board
DTSTAMP:20270101T000000Z
DTSTART:20270303T095000Z
DURATION:PT1H30M
SUMMARY:Board meeting
END:VEVENT
""",
    # Thursday 4 March, 09:00-10:00 in New York, which is 15:00-16:00 in Madrid.
    "new-york-call": NEW_YORK_VTIMEZONE
    + """\
BEGIN:VEVENT
UID:new-york-call
DTSTAMP:20270101T000000Z
DTSTART;TZID=America/New_York:20270304T090000
DTEND;TZID=America/New_York:20270304T100000
SUMMARY:Call with New York
END:VEVENT
""",
    # Friday 5 March, 10:50-11:30 floating: the specialist's wall clock, in Madrid.
    "floating": """\
BEGIN:VEVENT
UID:floating
DTSTAMP:20270101T000000Z
DTSTART:20270305T105000
DTEND:20270305T113000
SUMMARY:Ward round
END:VEVENT
""",
    # Friday 5 March at 09:00 and 15:00: shown as free, and cancelled. Neither blocks.
    "transparent": """\
BEGIN:VEVENT
UID:transparent
DTSTAMP:20270101T000000Z
DTSTART;TZID=Europe/Madrid:20270305T090000
DTEND;TZID=Europe/Madrid:20270305T100000
TRANSP:TRANSPARENT
SUMMARY:Reminder: read the journal
END:VEVENT
""",
    "cancelled": """\
BEGIN:VEVENT
UID:cancelled
DTSTAMP:20270101T000000Z
DTSTART;TZID=Europe/Madrid:20270305T150000
DTEND;TZID=Europe/Madrid:20270305T160000
STATUS:CANCELLED
SUMMARY:Seminar (called off)
END:VEVENT
""",
}

# Both stored by Radicale, neither with times one can trust.
BROKEN = {
    "unknown-zone": f"""\
BEGIN:VEVENT
UID:unknown-zone
DTSTAMP:20270101T000000Z
DTSTART;TZID=Mars/Olympus_Mons:20270308T110000
DTEND;TZID=Mars/Olympus_Mons:20270308T113000
SUMMARY:{PRIVATE}
DESCRIPTION:{PRIVATE}
END:VEVENT
""",
    "ends-before-it-starts": f"""\
BEGIN:VEVENT
UID:ends-before-it-starts
DTSTAMP:20270101T000000Z
DTSTART;TZID=Europe/Madrid:20270309T110000
DTEND;TZID=Europe/Madrid:20270309T090000
SUMMARY:{PRIVATE}
DESCRIPTION:{PRIVATE}
END:VEVENT
""",
}


def vcalendar(body: str) -> str:
    text = f"BEGIN:VCALENDAR\nVERSION:2.0\nPRODID:-//Tests//Calendar//EN\n{body}END:VCALENDAR\n"
    return text.replace("\n", "\r\n")


@dataclass
class SpecialistCalendar:
    client: CalDavCalendar
    calendar_id: str
    url: str
    auth: tuple[str, str]

    async def put(self, uid: str, body: str) -> None:
        """Writes raw iCalendar text, as another calendar app would."""
        async with httpx.AsyncClient(auth=self.auth) as http:
            answer = await http.put(
                f"{self.url}{uid}.ics",
                content=vcalendar(body),
                headers={"Content-Type": "text/calendar; charset=utf-8"},
            )
        assert answer.status_code in (201, 204), answer.text

    async def busy(self) -> list[tuple[datetime, datetime]]:
        return await self.client.busy(self.calendar_id, *MARCH, tz=MADRID)


@pytest.fixture
async def calendar(radicale: str) -> SpecialistCalendar:
    """A specialist's calendar of its own, under an account of this test's own."""
    username, password = f"test-{uuid.uuid4().hex[:8]}", "unused"
    client = CalDavCalendar(url=radicale, username=username, password=password)
    calendar_id = specialist_calendar("spec-1")
    await client.ensure_calendar(calendar_id, "Consults")
    return SpecialistCalendar(
        client, calendar_id, f"{radicale}{username}/{calendar_id}/", (username, password)
    )


def utc(day: int, hour: int, minute: int = 0) -> datetime:
    return datetime(2027, 3, day, hour, minute, tzinfo=UTC)


def madrid(slots: list[tuple[datetime, datetime]]) -> list[str]:
    return [start.astimezone(MADRID).strftime("%a %d %H:%M") for start, _ in slots]


async def test_every_kind_of_event_blocks_the_right_instants(
    calendar: SpecialistCalendar,
) -> None:
    for uid, body in EVENTS.items():
        await calendar.put(uid, body)

    assert await calendar.busy() == [
        (utc(1, 7, 30), utc(1, 9)),  # the weekly session, 08:30 in Madrid
        (utc(1, 23), utc(2, 23)),  # all of Tuesday 2 March in Madrid
        (utc(3, 9, 50), utc(3, 11, 20)),  # DURATION
        (utc(4, 14), utc(4, 15)),  # New York 09:00 (EST) is 14:00 UTC
        (utc(5, 9, 50), utc(5, 10, 30)),  # floating 10:50, in Madrid
        (utc(8, 7, 30), utc(8, 9)),
        # 15 March: EXDATE
        (utc(22, 14), utc(22, 15)),  # the override: 15:00 in Madrid
        (utc(29, 6, 30), utc(29, 8)),  # Madrid on summer time since the 28th: UTC+2
    ]


async def test_the_window_ends_where_the_specialists_day_begins(
    calendar: SpecialistCalendar,
) -> None:
    """1 April in Madrid starts at 22:00 UTC on 31 March, inside a window that ends with
    March in UTC; the server, reading dates in UTC, would leave it out if asked for March
    only."""
    await calendar.put(
        "holiday",
        "BEGIN:VEVENT\nUID:holiday\nDTSTAMP:20270101T000000Z\nDTSTART;VALUE=DATE:20270401\n"
        "SUMMARY:Holiday\nEND:VEVENT\n",
    )
    assert await calendar.busy() == [(utc(31, 22), datetime(2027, 4, 1, 22, tzinfo=UTC))]


async def test_offered_slots_skip_every_blocked_time_and_keep_the_free_ones(
    calendar: SpecialistCalendar,
) -> None:
    for uid, body in EVENTS.items():
        await calendar.put(uid, body)
    busy = await calendar.busy()

    first = candidate_slots(not_before=NOT_BEFORE, tz=MADRID, count=10, busy=busy)
    assert madrid(first) == [
        # Monday: 09:00 is the clinic session
        "Mon 01 11:00",
        "Mon 01 15:00",
        # Tuesday: the all-day congress
        # Wednesday: 11:00 is the board meeting (DURATION)
        "Wed 03 09:00",
        "Wed 03 15:00",
        # Thursday: 15:00 is the New York call
        "Thu 04 09:00",
        "Thu 04 11:00",
        # Friday: 11:00 is the floating ward round; 09:00 is only shown as free, and 15:00
        # was cancelled
        "Fri 05 09:00",
        "Fri 05 15:00",
        "Mon 08 11:00",
        "Mon 08 15:00",
    ]

    month = madrid(candidate_slots(not_before=NOT_BEFORE, tz=MADRID, count=60, busy=busy))
    mondays_at_nine = [slot for slot in month if slot.startswith("Mon") and "09:00" in slot]
    # Each week's session blocks Monday 09:00, but for the week it is cancelled (EXDATE)
    # and the week it moves to the afternoon, when 15:00 is blocked instead.
    assert mondays_at_nine == ["Mon 15 09:00", "Mon 22 09:00"]
    assert "Mon 22 15:00" not in month
    assert {"Mon 15 15:00", "Mon 29 11:00", "Mon 29 15:00"} <= set(month)


async def test_a_broken_event_is_skipped_and_logged_by_its_uid_only(
    calendar: SpecialistCalendar, caplog: pytest.LogCaptureFixture
) -> None:
    await calendar.put("board", EVENTS["board"])
    for uid, body in BROKEN.items():
        await calendar.put(uid, body)

    with caplog.at_level(logging.WARNING, logger="integrations.calendar_events"):
        busy = await calendar.busy()

    assert busy == [(utc(3, 9, 50), utc(3, 11, 20))]
    skipped = sorted(
        r.getMessage() for r in caplog.records if r.name == "integrations.calendar_events"
    )
    assert skipped == [
        f"calendar {calendar.calendar_id}: skipped event UID ends-before-it-starts, which "
        "cannot be read: DTEND before DTSTART",
        f"calendar {calendar.calendar_id}: skipped event UID unknown-zone, which cannot be "
        "read: unknown time zone in DTSTART",
    ]
    assert PRIVATE not in caplog.text
    # Guessed at, they would block these: the unknown zone read as Madrid's wall clock, the
    # reversed times swapped.
    offered = madrid(candidate_slots(not_before=NOT_BEFORE, tz=MADRID, count=30, busy=busy))
    assert {"Mon 08 11:00", "Tue 09 09:00"} <= set(offered)


@pytest.mark.parametrize(
    "ics",
    [
        vcalendar(
            f"BEGIN:VEVENT\nUID:no-start\nDTEND:20270303T100000Z\nSUMMARY:{PRIVATE}\nEND:VEVENT\n"
        ),
        vcalendar(
            f"BEGIN:VEVENT\nUID:no-start\nDTSTART:not a time\nSUMMARY:{PRIVATE}\nEND:VEVENT\n"
        ),
        f"UID:no-start\nSUMMARY:{PRIVATE}\nnot iCalendar at all",
    ],
    ids=["no DTSTART", "DTSTART not a time", "not iCalendar"],
)
def test_what_radicale_refuses_to_store_is_skipped_too(
    ics: str, caplog: pytest.LogCaptureFixture
) -> None:
    """Radicale answers 400 to these, so they cannot come from it; other servers keep what
    calendar apps send them, and reading such an event must not fail either."""
    with caplog.at_level(logging.WARNING, logger="integrations.calendar_events"):
        found = busy_intervals(
            ics, calendar_id="consults-x", start=MARCH[0], end=MARCH[1], tz=MADRID
        )
    assert found == []
    [record] = caplog.records
    assert "consults-x" in record.getMessage()
    assert "UID no-start" in record.getMessage()
    assert PRIVATE not in caplog.text


async def test_offered_slots_read_the_calendar_in_the_specialists_time_zone(
    calendar: SpecialistCalendar, pool: asyncpg.Pool
) -> None:
    """The booking activity passes the specialist's zone: a floating 09:00 is Madrid's."""
    await seed_staff(pool)
    await calendar.put(
        "morning-round",
        """\
BEGIN:VEVENT
UID:morning-round
DTSTAMP:20270101T000000Z
DTSTART:20270301T090000
DTEND:20270301T093000
SUMMARY:Morning round
END:VEVENT
""",
    )
    activities = BookingActivities(pool, calendar.client, "https://video.test")
    proposed = await ActivityEnvironment().run(
        activities.propose_consult_slots,
        SlotsRequest(journey_id=await _journey(pool), round=1, count=2, not_before=NOT_BEFORE),
    )
    # Read in UTC, the round would be 10:00 in Madrid and the 09:00 slot offered.
    assert madrid([(s.starts_at, s.ends_at) for s in proposed.slots]) == [
        "Mon 01 11:00",
        "Mon 01 15:00",
    ]
