"""The clinic's clock (domain/clinic_hours.py): the visit days and the admission's deadline at
the clinic's local hours whatever the day's offset from UTC, the settings and the policy that
carry the zone and hours, and how a visit's time is written for the clinic and the patient."""

from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

import pytest
from pydantic import ValidationError

from api.patient_page.view import Words, page_context
from domain.clinic_hours import (
    UTC_CLOCK,
    VISIT_DAY_END,
    VISIT_DAY_START,
    VisitTimes,
    checked_time_zone,
    clinic_days_later,
    on_clinic_clock,
    visit_times,
    wall_clock,
)
from domain.journey import JourneyInput, JourneyStatus
from domain.policy import JourneyPolicy
from domain.records import Booking, BookingKind
from domain.stages import Stage, WaitingOn
from domain.step_declarations import StepName
from i18n import format_clinic_moment
from settings import Settings
from tests.patient_pages import page_records

MADRID = "Europe/Madrid"
DAY = timedelta(days=1)
# Madrid's clocks go forward in the night of Saturday 27 to Sunday 28 March 2027 (CET, UTC+1,
# to CEST, UTC+2) and back in the night of Saturday 24 to Sunday 25 October 2026.
SPRING_FORWARD = date(2027, 3, 28)
FALL_BACK = date(2026, 10, 25)


def madrid(arrival: date, after: timedelta = DAY) -> VisitTimes:
    return visit_times(
        arrival,
        zone=MADRID,
        day_start=VISIT_DAY_START,
        day_end=VISIT_DAY_END,
        admission_after=after,
    )


def local(instant: datetime, zone: str = MADRID) -> tuple[date, time]:
    shown = instant.astimezone(ZoneInfo(zone))
    return shown.date(), shown.time()


def test_the_visit_days_fall_at_the_clinics_hours_across_the_spring_change() -> None:
    # Day 1 on the Saturday before the change, day 2 on the Sunday the clocks go forward.
    times = madrid(SPRING_FORWARD - 2 * DAY)
    assert times.day1_start == datetime(2027, 3, 27, 7, 0, tzinfo=UTC)  # 08:00 CET
    assert times.day2_start == datetime(2027, 3, 28, 6, 0, tzinfo=UTC)  # 08:00 CEST
    assert times.day2_end == datetime(2027, 3, 28, 16, 0, tzinfo=UTC)  # 18:00 CEST
    assert local(times.day1_start) == (date(2027, 3, 27), time(8, 0))
    assert local(times.day2_start) == (SPRING_FORWARD, time(8, 0))
    assert local(times.day2_end) == (SPRING_FORWARD, time(18, 0))


def test_the_admission_is_due_on_the_clinics_clock_not_after_a_fixed_24_hours() -> None:
    spring = madrid(SPRING_FORWARD - 2 * DAY)
    assert spring.admission_due == spring.day2_start
    assert spring.admission_due - spring.day1_start == timedelta(hours=23)
    autumn = madrid(FALL_BACK - 2 * DAY)
    assert local(autumn.admission_due) == (FALL_BACK, time(8, 0))
    assert autumn.admission_due - autumn.day1_start == timedelta(hours=25)
    # A shorter alert is counted on the same clock: ten hours after 08:00 is 18:00 of day 1.
    evening = madrid(SPRING_FORWARD - 2 * DAY, after=timedelta(hours=10))
    assert local(evening.admission_due) == (date(2027, 3, 27), time(18, 0))


def test_a_visit_on_the_day_the_clocks_change_starts_at_the_clinics_hour() -> None:
    # Day 1 is the Sunday of the change: 08:00 comes after 02:00 jumped to 03:00.
    times = madrid(SPRING_FORWARD - DAY)
    assert local(times.day1_start) == (SPRING_FORWARD, time(8, 0))
    assert times.day1_start == datetime(2027, 3, 28, 6, 0, tzinfo=UTC)
    assert local(times.admission_due) == (SPRING_FORWARD + DAY, time(8, 0))


def test_other_zones_and_hours_and_the_utc_clock_of_older_journeys() -> None:
    bogota = visit_times(
        date(2026, 6, 8),
        zone="America/Bogota",
        day_start=time(9, 0),
        day_end=time(16, 30),
        admission_after=DAY,
    )
    assert bogota.day1_start == datetime(2026, 6, 9, 14, 0, tzinfo=UTC)
    assert bogota.day2_end == datetime(2026, 6, 10, 21, 30, tzinfo=UTC)
    # East of UTC the clinic's morning is the evening before in UTC.
    sydney = visit_times(
        date(2026, 6, 8),
        zone="Australia/Sydney",
        day_start=VISIT_DAY_START,
        day_end=VISIT_DAY_END,
        admission_after=DAY,
    )
    assert sydney.day1_start == datetime(2026, 6, 8, 22, 0, tzinfo=UTC)
    # The UTC clock gives what journeys started before the clinic had a clock computed.
    arrival = SPRING_FORWARD - 2 * DAY
    older = visit_times(
        arrival,
        zone=UTC_CLOCK,
        day_start=VISIT_DAY_START,
        day_end=VISIT_DAY_END,
        admission_after=DAY,
    )
    day1 = datetime.combine(arrival + DAY, time(8, 0), UTC)
    assert older.day1_start == day1
    assert older.day2_end == datetime.combine(arrival + 2 * DAY, time(18, 0), UTC)
    assert older.admission_due == day1 + DAY


def test_clock_times_the_clocks_skip_or_repeat() -> None:
    # 02:30 on the night the clocks go forward does not exist: it reads as 03:30 CEST.
    skipped = on_clinic_clock(SPRING_FORWARD, time(2, 30), MADRID)
    assert skipped == datetime(2027, 3, 28, 1, 30, tzinfo=UTC)
    # 02:30 on the night they go back happens twice: the first, still CEST.
    repeated = on_clinic_clock(FALL_BACK, time(2, 30), MADRID)
    assert repeated == datetime(2026, 10, 25, 0, 30, tzinfo=UTC)
    day1 = datetime(2027, 3, 27, 7, 0, tzinfo=UTC)
    assert clinic_days_later(day1, 1, MADRID) == datetime(2027, 3, 28, 6, 0, tzinfo=UTC)
    assert clinic_days_later(day1, 1, UTC_CLOCK) == day1 + DAY


def test_a_zone_must_exist_and_hours_are_the_clinics_wall_clock() -> None:
    assert checked_time_zone("America/Bogota") == "America/Bogota"
    for wrong in ("Mars/Olympus", "madrid", "", "Europe/Madrid "):
        with pytest.raises(ValueError, match="is not an IANA time zone, such as Europe/Madrid"):
            checked_time_zone(wrong)
    with pytest.raises(ValueError, match="without an offset"):
        wall_clock(time(8, 0, tzinfo=UTC))


def test_the_policy_carries_the_clock_and_older_inputs_decode_with_its_defaults() -> None:
    policy = JourneyPolicy()
    assert (policy.clinic_time_zone, policy.visit_day_start, policy.visit_day_end) == (
        MADRID,
        time(8, 0),
        time(18, 0),
    )
    # A journey's input recorded before the clinic had a clock: no such fields.
    older = JourneyInput.model_validate_json(
        '{"journey_id": "j", "patient_id": "p", "inquiry_id": "i", '
        '"policy": {"review_sla": "PT48H", "min_cells": 120000000}}'
    )
    assert older.policy.clinic_time_zone == MADRID
    assert JourneyPolicy.model_validate_json(policy.model_dump_json()) == policy
    with pytest.raises(ValidationError, match="a visit day must end after it starts"):
        JourneyPolicy(visit_day_start=time(18, 0), visit_day_end=time(8, 0))
    with pytest.raises(ValidationError, match="'Nowhere/City' is not an IANA time zone"):
        JourneyPolicy(clinic_time_zone="Nowhere/City")


def test_the_settings_make_the_policy_and_refuse_a_clock_that_cannot_be() -> None:
    settings = Settings(
        clinic_time_zone="America/Bogota",
        clinic_visit_day_start="09:00",  # type: ignore[arg-type]
        clinic_visit_day_end="16:30",  # type: ignore[arg-type]
    )
    policy = settings.journey_policy()
    assert (policy.clinic_time_zone, policy.visit_day_start, policy.visit_day_end) == (
        "America/Bogota",
        time(9, 0),
        time(16, 30),
    )
    assert policy.admission_alert_after == JourneyPolicy().admission_alert_after
    with pytest.raises(ValidationError) as zone:
        Settings(clinic_time_zone="Mars/Olympus")
    [error] = zone.value.errors()
    assert error["loc"] == ("clinic_time_zone",)
    assert "'Mars/Olympus' is not an IANA time zone" in error["msg"]
    with pytest.raises(ValidationError) as hours:
        Settings(clinic_visit_day_start="19:00")  # type: ignore[arg-type]
    [error] = hours.value.errors()
    assert error["loc"] == ("clinic_visit_day_end",)
    assert "18:00 is not after JOURNEYS_CLINIC_VISIT_DAY_START (19:00)" in error["msg"]


JUNE_9_08_MADRID = datetime(2026, 6, 9, 6, 0, tzinfo=UTC)


@pytest.mark.parametrize(
    ("language", "reader", "written"),
    [
        ("en", None, "Tue 9 Jun 2026, 08:00 (Madrid time)"),
        ("en", "America/Bogota", "Tue 9 Jun 2026, 08:00 (Madrid time; 01:00 in Bogotá)"),
        ("es", "America/Bogota", "mar 9 jun 2026, 08:00 (hora de Madrid; 01:00 en Bogotá)"),
        # Another zone on the same clock that day: the clinic's time says it all.
        ("en", "Europe/Paris", "Tue 9 Jun 2026, 08:00 (Madrid time)"),
        (
            "en",
            "America/Los_Angeles",
            "Tue 9 Jun 2026, 08:00 (Madrid time; Mon 8 Jun 2026, 23:00 in Los Angeles)",
        ),
        (
            "es",
            "America/Los_Angeles",
            "mar 9 jun 2026, 08:00 (hora de Madrid; lun 8 jun 2026, 23:00 en Los Ángeles)",
        ),
    ],
)
def test_a_visit_reads_on_the_clinics_clock_and_the_readers(
    language: str, reader: str | None, written: str
) -> None:
    assert format_clinic_moment(JUNE_9_08_MADRID, language, MADRID, reader) == written


def test_the_patients_page_gives_the_visit_on_the_clinics_clock_and_hers() -> None:
    day1 = datetime(2027, 3, 27, 7, 0, tzinfo=UTC)  # Saturday 08:00 CET in Madrid
    visit = Booking(
        booking_id="j:clinic-visit",
        kind=BookingKind.CLINIC_VISIT,
        starts_at=day1,
        ends_at=datetime(2027, 3, 28, 16, 0, tzinfo=UTC),
    )
    status = JourneyStatus(
        journey_id="j",
        stage=Stage.TRAVEL,
        waiting_on=WaitingOn.PATIENT,
        deadline=day1,
        bookings=[visit],
        expects=[StepName.WITHDRAW],
    )
    records = page_records("en", "America/Bogota")
    page = page_context(Words("en", "America/Bogota", MADRID), status, records, now=day1)
    assert page["next_step"][-1] == (
        "Your visit starts on Sat 27 Mar 2027, 08:00 (Madrid time; 02:00 in Bogotá)."
    )
    # Day 2 starts at 08:00 in Madrid too, after the clocks went forward: 01:00 in Bogotá.
    assert page["bookings"] == [
        "Clinic visit: Sat 27 Mar 2027, 08:00 (Madrid time; 02:00 in Bogotá) and "
        "Sun 28 Mar 2027, 08:00 (Madrid time; 01:00 in Bogotá)"
    ]
    assert page["clinic_city"] == "Madrid"
    # A patient on the clinic's clock reads it once.
    same = page_context(Words("en", MADRID, MADRID), status, records)
    assert same["next_step"][-1] == "Your visit starts on Sat 27 Mar 2027, 08:00 (Madrid time)."
