"""The times a calendar event keeps a specialist busy, for events as people really keep them.

One CalDAV resource holds one event: its main component, any overrides of single occurrences
(RECURRENCE-ID) and the VTIMEZONEs they name. `busy_intervals` reads one such resource into aware
UTC (start, end) pairs inside a window: all-day events, DTEND or DURATION, recurrences with
their exceptions, TZIDs, floating times. What cannot be read is skipped with a warning, never
raised: one odd event in a specialist's calendar must not stop slots being offered.

Recurring events are expanded here with `recurring-ical-events` rather than by the server
(CalDAV `expand`): servers differ in whether and how well they expand (overrides, EXDATEs,
all-day events), and an expanded answer is in UTC, which loses the all-day and floating times
that only the specialist's time zone can place. Expanding here reads every server the same way.
"""

import logging
import re
from datetime import UTC, date, datetime, time, tzinfo

import recurring_ical_events
from icalendar import Calendar, Component

log = logging.getLogger(__name__)

Interval = tuple[datetime, datetime]


class UnreadableEvent(ValueError):
    """An event whose times cannot be known; the message names the defect, never the data."""


def busy_intervals(
    ics: str, *, calendar_id: str, start: datetime, end: datetime, tz: tzinfo
) -> list[Interval]:
    """The occurrences of the event in `ics` that block time and overlap [start, end).

    All-day and floating times are placed in `tz`, the specialist's time zone.
    """
    try:
        return _intervals(Calendar.from_ical(ics), start=start, end=end, tz=tz)
    except Exception as err:
        # Whatever a calendar app wrote, or the parser makes of it, skips this one event:
        # catching narrower would let the next odd event stop slot offering, retry after retry.
        reason = str(err) if isinstance(err, UnreadableEvent) else type(err).__name__
        # The UID only: summaries and descriptions can name patients or private matters.
        log.warning(
            "calendar %s: skipped event UID %s, which cannot be read: %s",
            calendar_id,
            _uid(ics),
            reason,
        )
        return []


def _intervals(resource: Calendar, *, start: datetime, end: datetime, tz: tzinfo) -> list[Interval]:
    for component in resource.walk("VEVENT"):
        _check(component, tz)
    found = []
    # Bounds in the specialist's zone: the expansion compares all-day and floating times with
    # the bounds' wall-clock time, so they are placed as `_instant` places them below.
    for occurrence in recurring_ical_events.of(resource).between(
        start.astimezone(tz), end.astimezone(tz)
    ):
        if not _blocks(occurrence):
            continue
        begins = _instant(occurrence["DTSTART"].dt, tz)
        ends = _instant(occurrence["DTEND"].dt, tz)
        if begins < end and ends > start:
            found.append((begins, ends))
    return sorted(found)


def _check(component: Component, tz: tzinfo) -> None:
    """Refuse what the expansion would otherwise read as something else."""
    if "DTSTART" not in component:
        raise UnreadableEvent("no DTSTART")
    for name in ("DTSTART", "DTEND", "RECURRENCE-ID"):
        prop = component.get(name)
        # A TZID with no VTIMEZONE and no known zone of that name leaves a time with no zone,
        # which would pass for a floating time: it would block the wrong hours.
        if (
            prop is not None
            and "TZID" in prop.params
            and isinstance(prop.dt, datetime)
            and prop.dt.tzinfo is None
        ):
            raise UnreadableEvent(f"unknown time zone in {name}")
    starts = _instant(component.decoded("DTSTART"), tz)
    if "DTEND" in component and _instant(component.decoded("DTEND"), tz) < starts:
        # The expansion would swap the two; which one the app got wrong cannot be known.
        raise UnreadableEvent("DTEND before DTSTART")


def _blocks(occurrence: Component) -> bool:
    """Whether an occurrence takes up the specialist's time.

    As free/busy does (RFC 4791, 7.10): a TRANSPARENT event ("show as free", as apps mark
    birthdays, holidays, reminders) does not block, nor does a CANCELLED one, a whole event or
    one occurrence cancelled by its override. A TENTATIVE one blocks: a consult offered over
    it would clash once it is confirmed.
    """
    transparent = str(occurrence.get("TRANSP", "OPAQUE")).upper() == "TRANSPARENT"
    cancelled = str(occurrence.get("STATUS", "")).upper() == "CANCELLED"
    return not (transparent or cancelled)


def _instant(value: date | datetime, tz: tzinfo) -> datetime:
    if isinstance(value, datetime):
        # A floating time (no TZID, no Z) means that wall-clock time wherever the calendar's
        # owner is: the specialist, so their time zone.
        return (value if value.tzinfo else value.replace(tzinfo=tz)).astimezone(UTC)
    # A date is the whole day in the specialist's time zone. DTEND of an all-day event is
    # exclusive (the day after its last day), so an event blocks from the start of its first
    # day to the start of the day after its last.
    return datetime.combine(value, time(), tzinfo=tz).astimezone(UTC)


def _uid(ics: str) -> str:
    """The UID from the raw text, as the parser may be what failed."""
    unfolded = re.sub(r"\r?\n[ \t]", "", ics)
    found = re.search(r"^UID(?:;[^:\r\n]*)?:(.*?)\r?$", unfolded, re.MULTILINE)
    return found.group(1) if found else "(none)"
