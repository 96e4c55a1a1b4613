"""A specialist's working hours, and the consultation slots they give.

Working hours are intervals of each weekday on the wall clock of the specialist's own time zone
("Monday 09:00-13:00 and 15:00-18:00 in Europe/Madrid"). A slot is placed on that clock each
day, so a specialist who starts at 09:00 starts at 09:00 the day the clocks change too, and the
instants (UTC) follow the day's offset. Slots run back to back from an interval's start, each as
long as the specialist's consultation (up to three a day are offered, spread over the day),
and measured in real time: on the night the clocks go
forward an interval from 01:00 to 04:00 holds two hours of slots, on the night they go back
four. A wall-clock time that does not exist that day (skipped by the change) is the moment the
clocks jump; one that comes twice starts an interval at its first occurrence and ends one at
its second.

Pure: no clock, no settings, no I/O; the booking activity hands in what it read.
"""

import itertools
import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

Instants = tuple[datetime, datetime]
WEEKDAYS = range(7)
# At most this many slots of one day are offered, spread over it: a patient far away finds a
# time that suits their clock, and the offer reaches over more than one day.
SLOTS_PER_DAY = 3
# "09:00-13:00" (a hyphen or an en dash, spaces allowed), several separated by commas.
_INTERVAL = re.compile(r"^\s*(\d{1,2}):(\d{2})\s*[-\u2013]\s*(\d{1,2}):(\d{2})\s*$")


@dataclass(frozen=True, order=True)
class Interval:
    """Part of a day, on the wall clock: from `starts` to `ends`, which comes later that day."""

    starts: time
    ends: time

    def __str__(self) -> str:
        return f"{self.starts:%H:%M}-{self.ends:%H:%M}"


# Weekday (0 is Monday) to its intervals, in order; a day without hours has none.
WorkingHours = Mapping[int, tuple[Interval, ...]]


class HoursRefused(ValueError):
    """Hours that cannot be a working day: `problem` says why, `value` what was refused."""

    def __init__(self, problem: str, value: str) -> None:
        super().__init__(f"{problem}: {value}")
        self.problem = problem
        self.value = value


def parse_day(text: str) -> tuple[Interval, ...]:
    """One day's intervals from `09:00-13:00, 15:00-18:00`; an empty text is a day off.

    Refuses (`HoursRefused`) a piece that is not two times (`format`), an interval that does
    not end after it starts (`order`), and two that overlap (`overlap`, naming both).
    """
    found: list[Interval] = []
    for piece in (p for p in text.split(",") if p.strip()):
        match = _INTERVAL.match(piece)
        if match is None:
            raise HoursRefused("format", piece.strip())
        h1, m1, h2, m2 = (int(g) for g in match.groups())
        if h1 > 23 or h2 > 23 or m1 > 59 or m2 > 59:
            raise HoursRefused("format", piece.strip())
        interval = Interval(time(h1, m1), time(h2, m2))
        if interval.ends <= interval.starts:
            raise HoursRefused("order", str(interval))
        found.append(interval)
    return check_day(found)


def check_day(intervals: Iterable[Interval]) -> tuple[Interval, ...]:
    """The intervals in order, refused (`overlap`) where one begins before another ends."""
    ordered = tuple(sorted(intervals))
    for before, after in itertools.pairwise(ordered):
        if after.starts < before.ends:
            raise HoursRefused("overlap", f"{before}, {after}")
    return ordered


def format_day(intervals: Sequence[Interval]) -> str:
    """The text `parse_day` reads back: `09:00-13:00, 15:00-18:00`."""
    return ", ".join(str(i) for i in intervals)


def local_instant(day: date, wall: time, tz: ZoneInfo, *, closing: bool = False) -> datetime:
    """The instant (UTC) of `wall` on `day` in `tz`.

    A time the clocks skip that day is the moment they jump; a time they pass twice is its
    first occurrence, or its second when `closing` (the end of an interval, which then takes in
    the repeated hour).
    """
    naive = datetime.combine(day, wall)
    first = naive.replace(tzinfo=tz, fold=0).astimezone(UTC)
    second = naive.replace(tzinfo=tz, fold=1).astimezone(UTC)
    if first == second:
        return first
    if first.astimezone(tz).replace(tzinfo=None) != naive:
        return _offset_change(min(first, second), max(first, second), tz)
    return max(first, second) if closing else min(first, second)


def _offset_change(before: datetime, after: datetime, tz: ZoneInfo) -> datetime:
    """The first second at which `tz` has the offset it has at `after` (it has another at
    `before`): the moment the clocks jumped between the two."""
    low, high = int(before.timestamp()), int(after.timestamp())
    wanted = after.astimezone(tz).utcoffset()
    while high - low > 1:
        middle = (low + high) // 2
        if datetime.fromtimestamp(middle, tz).utcoffset() == wanted:
            high = middle
        else:
            low = middle
    return datetime.fromtimestamp(high, UTC)


def working_intervals(
    hours: WorkingHours, tz: ZoneInfo, start: datetime, end: datetime
) -> list[Instants]:
    """The instants of every working interval that overlaps [start, end), in order."""
    found: list[Instants] = []
    # A day before and after: an interval of a neighbouring local day can fall in the window.
    day = start.astimezone(tz).date() - timedelta(days=1)
    last = end.astimezone(tz).date() + timedelta(days=1)
    while day <= last:
        for interval in hours.get(day.weekday(), ()):
            begins = local_instant(day, interval.starts, tz)
            ends = local_instant(day, interval.ends, tz, closing=True)
            if begins < end and ends > start and begins < ends:
                found.append((begins, ends))
        day += timedelta(days=1)
    return sorted(found)


def consult_slots(
    *,
    hours: WorkingHours,
    tz: ZoneInfo,
    length: timedelta,
    earliest: datetime,
    until: datetime,
    count: int,
    busy: Iterable[Instants],
    per_day: int = SLOTS_PER_DAY,
) -> list[Instants]:
    """The first `count` slots to offer, day by day: slots of `length` in the working hours,
    starting at `earliest` or later and ending by `until`, that overlap nothing in `busy`
    (calendar events, bookings); of each of the specialist's days at most `per_day`, spread
    over the day's free slots (the first, the last, and evenly between)."""
    if length <= timedelta(0):
        raise ValueError("a consultation must take some time")
    blocked = sorted(busy)
    days: dict[date, list[Instants]] = {}
    for begins, ends in working_intervals(hours, tz, earliest, until):
        slot = begins
        while slot + length <= ends:
            slot_end = slot + length
            if slot >= earliest and slot_end <= until and _free(slot, slot_end, blocked):
                days.setdefault(slot.astimezone(tz).date(), []).append((slot, slot_end))
            slot = slot_end
    found: list[Instants] = []
    for day in sorted(days):
        found += spread(days[day], per_day)
        if len(found) >= count:
            break
    return found[:count]


def spread(slots: Sequence[Instants], wanted: int) -> list[Instants]:
    """`wanted` of `slots` (all when there are no more), the first and the last among them
    and the others evenly between."""
    if len(slots) <= wanted:
        return list(slots)
    if wanted == 1:
        return [slots[0]]
    last = len(slots) - 1
    return [slots[round(i * last / (wanted - 1))] for i in range(wanted)]


def _free(start: datetime, end: datetime, busy: Sequence[Instants]) -> bool:
    return all(end <= b_start or start >= b_end for b_start, b_end in busy)
