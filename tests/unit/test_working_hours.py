"""Consultation slots from a specialist's working hours (domain/working_hours.py): on their own
clock whatever the day's offset, the nights the clocks change, minus what is busy, spread over
each day; and how a day's hours are typed and refused."""

from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

import pytest

from domain.working_hours import (
    HoursRefused,
    Interval,
    consult_slots,
    local_instant,
    parse_day,
    spread,
    working_intervals,
)

MADRID = ZoneInfo("Europe/Madrid")
NEW_YORK = ZoneInfo("America/New_York")
BOGOTA = ZoneInfo("America/Bogota")
HALF_HOUR = timedelta(minutes=30)


def hours(text: str, *days: int) -> dict[int, tuple[Interval, ...]]:
    return {day: parse_day(text) for day in days}


def utc(year: int, month: int, day: int, hour: int = 0, minute: int = 0) -> datetime:
    return datetime(year, month, day, hour, minute, tzinfo=UTC)


def starts(slots: list[tuple[datetime, datetime]], tz: ZoneInfo) -> list[str]:
    return [f"{s.astimezone(tz):%a %d %H:%M}" for s, _ in slots]


def test_a_day_is_read_in_order_and_an_empty_day_is_a_day_off() -> None:
    assert parse_day("15:00-18:00, 9:00 - 13:00") == (
        Interval(time(9), time(13)),
        Interval(time(15), time(18)),
    )
    assert parse_day("09:00\u201313:00") == (Interval(time(9), time(13)),)
    assert parse_day("  ") == ()


@pytest.mark.parametrize(
    ("text", "problem", "value"),
    [
        ("9-13", "format", "9-13"),
        ("09:00-25:00", "format", "09:00-25:00"),
        ("13:00-09:00", "order", "13:00-09:00"),
        ("09:00-09:00", "order", "09:00-09:00"),
        ("09:00-13:00, 12:00-14:00", "overlap", "09:00-13:00, 12:00-14:00"),
    ],
)
def test_hours_that_cannot_be_a_day_are_refused(text: str, problem: str, value: str) -> None:
    with pytest.raises(HoursRefused) as refused:
        parse_day(text)
    assert (refused.value.problem, refused.value.value) == (problem, value)


def test_intervals_that_touch_do_not_overlap() -> None:
    assert len(parse_day("09:00-12:00, 12:00-13:00")) == 2


def test_slots_run_back_to_back_in_the_specialists_zone() -> None:
    slots = consult_slots(
        hours=hours("09:00-10:30", 0),
        tz=MADRID,
        length=HALF_HOUR,
        earliest=utc(2026, 6, 1),
        until=utc(2026, 6, 30),
        count=3,
        busy=[],
    )
    # Monday 1 June 2026, 09:00 in Madrid is 07:00 UTC (summer time).
    assert slots == [
        (utc(2026, 6, 1, 7, 0), utc(2026, 6, 1, 7, 30)),
        (utc(2026, 6, 1, 7, 30), utc(2026, 6, 1, 8, 0)),
        (utc(2026, 6, 1, 8, 0), utc(2026, 6, 1, 8, 30)),
    ]


def test_the_consultation_length_sets_the_slots_and_a_rest_too_short_is_not_offered() -> None:
    slots = consult_slots(
        hours=hours("09:00-11:00", 0),
        tz=MADRID,
        length=timedelta(minutes=45),
        earliest=utc(2026, 6, 1),
        until=utc(2026, 6, 2),
        count=5,
        busy=[],
    )
    assert starts(slots, MADRID) == ["Mon 01 09:00", "Mon 01 09:45"]


def test_busy_times_and_the_earliest_start_are_left_out() -> None:
    slots = consult_slots(
        hours=hours("09:00-11:00", 0),
        tz=MADRID,
        length=HALF_HOUR,
        earliest=utc(2026, 6, 1, 7, 15),
        until=utc(2026, 6, 2),
        count=5,
        # 09:40 to 10:10 in Madrid touches two slots.
        busy=[(utc(2026, 6, 1, 7, 40), utc(2026, 6, 1, 8, 10))],
    )
    assert starts(slots, MADRID) == ["Mon 01 10:30"]


def test_three_a_day_spread_over_the_day_then_the_next_day() -> None:
    slots = consult_slots(
        hours=hours("09:00-13:00, 15:00-18:00", 0, 1),
        tz=MADRID,
        length=HALF_HOUR,
        earliest=utc(2026, 6, 1),
        until=utc(2026, 6, 30),
        count=5,
        busy=[],
    )
    # 14 free slots a day: the first, the middle one and the last, then the next day's.
    assert starts(slots, MADRID) == [
        "Mon 01 09:00",
        "Mon 01 12:00",
        "Mon 01 17:30",
        "Tue 02 09:00",
        "Tue 02 12:00",
    ]
    assert spread([], 3) == []


def test_no_hours_give_no_slots_and_the_horizon_bounds_the_search() -> None:
    assert (
        consult_slots(
            hours={},
            tz=MADRID,
            length=HALF_HOUR,
            earliest=utc(2026, 6, 1),
            until=utc(2026, 8, 1),
            count=3,
            busy=[],
        )
        == []
    )


def test_on_the_day_the_clocks_change_the_specialist_keeps_their_wall_clock() -> None:
    """New York goes to summer time on Sunday 8 March 2026, Madrid not before 29 March: a
    specialist in New York who works Sundays 09:00-10:00 is offered at 09:00 their time on both
    sides of the change, and the instants move by the hour their offset moved."""
    sundays = hours("09:00-10:00", 6)
    slots = consult_slots(
        hours=sundays,
        tz=NEW_YORK,
        length=timedelta(minutes=60),
        earliest=utc(2026, 3, 1),
        until=utc(2026, 3, 16),
        count=3,
        busy=[],
    )
    assert [s for s, _ in slots] == [
        utc(2026, 3, 1, 14, 0),  # EST, UTC-5
        utc(2026, 3, 8, 13, 0),  # EDT, UTC-4, the day of the change
        utc(2026, 3, 15, 13, 0),
    ]
    assert starts(slots, NEW_YORK) == ["Sun 01 09:00", "Sun 08 09:00", "Sun 15 09:00"]
    # In Madrid, whose clocks do not move that week, the same slots are an hour apart.
    assert starts(slots, MADRID) == ["Sun 01 15:00", "Sun 08 14:00", "Sun 15 14:00"]
    # And in Bogotá, which has no summer time.
    assert starts(slots, BOGOTA) == ["Sun 01 09:00", "Sun 08 08:00", "Sun 15 08:00"]


def test_hours_across_the_skipped_hour_hold_only_the_real_time() -> None:
    """Madrid skips 02:00-03:00 on 29 March 2026: 01:00-04:00 holds two hours of slots, and the
    one after 01:30 starts at 03:00."""
    slots = consult_slots(
        hours=hours("01:00-04:00", 6),
        tz=MADRID,
        length=HALF_HOUR,
        earliest=utc(2026, 3, 28),
        until=utc(2026, 3, 30),
        count=10,
        busy=[],
        per_day=10,
    )
    assert starts(slots, MADRID) == [
        "Sun 29 01:00",
        "Sun 29 01:30",
        "Sun 29 03:00",
        "Sun 29 03:30",
    ]
    assert all(end - start == HALF_HOUR for start, end in slots)


def test_hours_across_the_repeated_hour_hold_it_twice() -> None:
    """Madrid passes 02:00-03:00 twice on 25 October 2026: 01:00-04:00 holds four hours."""
    [(begins, ends)] = working_intervals(
        hours("01:00-04:00", 6), MADRID, utc(2026, 10, 25), utc(2026, 10, 26)
    )
    assert ends - begins == timedelta(hours=4)
    slots = consult_slots(
        hours=hours("01:00-04:00", 6),
        tz=MADRID,
        length=timedelta(hours=1),
        earliest=utc(2026, 10, 24),
        until=utc(2026, 10, 26),
        count=10,
        busy=[],
        per_day=10,
    )
    assert [f"{s.astimezone(MADRID):%H:%M %Z}" for s, _ in slots] == [
        "01:00 CEST",
        "02:00 CEST",
        "02:00 CET",
        "03:00 CET",
    ]


def test_a_time_the_clocks_skip_is_the_moment_they_jump() -> None:
    skipped = local_instant(date(2026, 3, 29), time(2, 30), MADRID)
    assert skipped == utc(2026, 3, 29, 1, 0)
    assert f"{skipped.astimezone(MADRID):%H:%M}" == "03:00"
    assert local_instant(date(2026, 3, 29), time(2, 30), MADRID, closing=True) == skipped


def test_a_time_the_clocks_pass_twice_starts_at_the_first_and_ends_at_the_second() -> None:
    day = date(2026, 10, 25)
    assert local_instant(day, time(2, 30), MADRID) == utc(2026, 10, 25, 0, 30)
    assert local_instant(day, time(2, 30), MADRID, closing=True) == utc(2026, 10, 25, 1, 30)
