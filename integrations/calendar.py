"""Specialists' calendars behind a small protocol, and the iCalendar text of a consult.

Each specialist has one calendar: `consults-<staff id>` on the calendar server, or the address
the staff directory gives for theirs (on the same server). The activities speak to the protocol;
the worker hands them the CalDAV client (`integrations/caldav_calendar.py`), so code that only
names the activities (the workflows, replay) does not load a CalDAV client.
"""

from dataclasses import dataclass
from datetime import UTC, datetime, tzinfo
from typing import Protocol

from icalendar import Calendar, Event, vCalAddress

PRODID = "-//Patient Journeys//Consults//EN"


@dataclass(frozen=True)
class ConsultEvent:
    """A teleconsultation as it appears in the specialist's calendar; no patient name."""

    uid: str
    start: datetime
    end: datetime
    summary: str
    description: str
    video_link: str


class CalendarUnavailable(Exception):
    """The calendar server did not answer or failed; try again later."""


class CalendarClient(Protocol):
    async def ensure_calendar(self, calendar_id: str, name: str) -> None: ...
    async def busy(
        self, calendar_id: str, start: datetime, end: datetime, *, tz: tzinfo = UTC
    ) -> list[tuple[datetime, datetime]]:
        """Aware UTC (start, end) of every occurrence that blocks time inside [start, end).

        All-day events and floating times are placed in `tz`, the calendar owner's time zone;
        UTC when the caller does not know it.
        """
        ...

    async def put_event(self, calendar_id: str, event: ConsultEvent) -> None: ...
    async def delete_event(self, calendar_id: str, uid: str) -> bool: ...


def specialist_calendar(staff_id: str, calendar_url: str | None = None) -> str:
    """The calendar of a specialist's consults: the address the staff directory gives for it,
    else their consult calendar on the calendar server."""
    return calendar_url or f"consults-{staff_id}"


def is_calendar_address(calendar_id: str) -> bool:
    """Whether a calendar is named by its address rather than by its id on the server."""
    return calendar_id.startswith(("http://", "https://"))


def event_ics(event: ConsultEvent) -> str:
    cal = Calendar()
    cal.add("prodid", PRODID)
    cal.add("version", "2.0")
    vevent = Event()
    vevent.add("uid", event.uid)
    vevent.add("dtstamp", datetime(2000, 1, 1, tzinfo=UTC))  # stable: a retry writes the same
    vevent.add("dtstart", event.start)
    vevent.add("dtend", event.end)
    vevent.add("summary", event.summary)
    vevent.add("description", event.description)
    vevent.add("url", event.video_link)
    vevent.add("location", event.video_link)
    cal.add_component(vevent)
    return cal.to_ical().decode()


def invite(
    event: ConsultEvent, *, method: str, organizer: str, attendee: str, sequence: int = 0
) -> bytes:
    """An iTIP invitation (METHOD:REQUEST) or cancellation (METHOD:CANCEL) for an email."""
    cal = Calendar()
    cal.add("prodid", PRODID)
    cal.add("version", "2.0")
    cal.add("method", method)
    vevent = Event()
    vevent.add("uid", event.uid)
    vevent.add("dtstamp", datetime(2000, 1, 1, tzinfo=UTC))
    vevent.add("sequence", sequence)
    vevent.add("dtstart", event.start)
    vevent.add("dtend", event.end)
    vevent.add("summary", event.summary)
    vevent.add("description", event.description)
    vevent.add("url", event.video_link)
    vevent.add("location", event.video_link)
    vevent.add("status", "CANCELLED" if method == "CANCEL" else "CONFIRMED")
    vevent.add("organizer", vCalAddress(f"mailto:{organizer}"))
    guest = vCalAddress(f"mailto:{attendee}")
    guest.params["ROLE"] = "REQ-PARTICIPANT"
    guest.params["RSVP"] = "TRUE"
    vevent.add("attendee", guest)
    cal.add_component(vevent)
    return bytes(cal.to_ical())
