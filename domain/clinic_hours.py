"""The clinic's wall clock: when the two-day visit starts and ends, and when the admission is
due, from the arrival date and the clinic's time zone, whatever that day's offset from UTC.

Pure: the journey computes its timers with these, so they read no clock and no settings, only
their arguments and the time-zone database.
"""

from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from pydantic import BaseModel, ConfigDict

from domain.inquiry import is_time_zone

# The partner clinic is in Madrid, and its visit days run from 08:00 to 18:00 there.
CLINIC_TIME_ZONE = "Europe/Madrid"
VISIT_DAY_START = time(8, 0)
VISIT_DAY_END = time(18, 0)
# What journeys started before the clinic had a clock used: the same hours, in UTC.
UTC_CLOCK = "UTC"


def checked_time_zone(name: str) -> str:
    """`name` if it is an IANA time zone this machine knows; else a one-line ValueError."""
    if not is_time_zone(name):
        raise ValueError(f"{name!r} is not an IANA time zone, such as Europe/Madrid")
    return name


def wall_clock(value: time) -> time:
    """`value` if it is a time on the clinic's clock: the zone gives the offset, not the time."""
    if value.tzinfo is not None:
        raise ValueError("must be a time on the clinic's clock without an offset, such as 08:00")
    return value


def checked_visit_day(start: time, end: time) -> None:
    if start >= end:
        raise ValueError(f"a visit day must end after it starts ({start:%H:%M} to {end:%H:%M})")


class VisitTimes(BaseModel):
    """The instants (UTC) of the two-day visit and of the admission's deadline."""

    model_config = ConfigDict(frozen=True)

    day1_start: datetime
    day2_start: datetime
    day2_end: datetime
    admission_due: datetime


def on_clinic_clock(day: date, at: time, zone: str) -> datetime:
    """The instant, in UTC, at which the clinic's clock shows `at` on `day`.

    A time the clocks skip (02:30 on the night they go forward) is read with the offset before
    the change, so it lands an hour later on the clock; a time they show twice, the first time.
    """
    return datetime.combine(day, at, ZoneInfo(zone)).astimezone(UTC)


def clinic_days_later(instant: datetime, days: int, zone: str) -> datetime:
    """The same time on the clinic's clock `days` days after `instant`, in UTC: 23 or 25 hours
    after it across a change of the clocks."""
    local = instant.astimezone(ZoneInfo(zone))
    return (local + timedelta(days=days)).astimezone(UTC)


def visit_times(
    arrival: date,
    *,
    zone: str,
    day_start: time,
    day_end: time,
    admission_after: timedelta,
) -> VisitTimes:
    """Day 1 is the day after arrival and day 2 the next, each from `day_start` to `day_end`
    on the clinic's clock; the admission is due `admission_after` after day 1 starts, counted
    on that clock too (one day after is day 2's start, even the night the clocks change)."""
    day1 = arrival + timedelta(days=1)
    start = datetime.combine(day1, day_start, ZoneInfo(zone))
    return VisitTimes(
        day1_start=start.astimezone(UTC),
        day2_start=on_clinic_clock(day1 + timedelta(days=1), day_start, zone),
        day2_end=on_clinic_clock(day1 + timedelta(days=1), day_end, zone),
        # Aware arithmetic within one zone moves the wall clock, not the instant.
        admission_due=(start + admission_after).astimezone(UTC),
    )
