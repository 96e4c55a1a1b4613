"""The clinic's clock end to end: the visit days and the admission's deadline fall at the
clinic's local hours across a change of its clocks (time-skipping server, real worker,
PostgreSQL and SMTP), a patient in another zone reads both clocks in her email and on her page
(Debian's chromium, axe), the console's case page gives the clinic's time, and a zone that does
not exist is refused in one line."""

import os
import subprocess
import sys
from datetime import UTC, date, datetime, time, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import asyncpg
import pytest
from playwright.async_api import Page, expect
from temporalio.testing import WorkflowEnvironment

from db.clinical import ClinicalRepository
from domain.actors import Role
from domain.records import BookingKind
from domain.stages import Stage, WaitingOn
from domain.steps import TravelDetails
from settings import Settings
from tests.browser import Screenshot, ServedApp, assert_accessible, sign_in_as
from tests.helpers import eventually, read_mailbox, text_of
from tests.journeys import JourneyDriver, seed_staff
from tests.patient_pages import page_url
from workflows.journey import PatientJourney

ROOT = Path(__file__).resolve().parent.parent
BOGOTA = "America/Bogota"
# (zone, visit day start, visit day end, the city CLDR names the zone by)
MADRID = ("Europe/Madrid", time(8, 0), time(18, 0), "Madrid")
NEW_YORK = ("America/New_York", time(9, 0), time(16, 30), "New York")


@pytest.fixture
def settings(settings: Settings, request: pytest.FixtureRequest) -> Settings:
    """The suite's settings on the clinic clock a test names (an indirect parameter), which the
    worker's emails and the journeys the test starts both use; else the default clock."""
    clock = getattr(request, "param", None)
    if clock is None:
        return settings
    zone, opens, closes, _ = clock
    return settings.model_copy(
        update={
            "clinic_time_zone": zone,
            "clinic_visit_day_start": opens,
            "clinic_visit_day_end": closes,
        }
    )


@pytest.fixture
async def driver(
    temporal_env: WorkflowEnvironment, pool: asyncpg.Pool, settings: Settings, mail_dir: Path
) -> JourneyDriver:
    """A journey started as the API starts it: with the policy the settings make."""
    await seed_staff(pool)
    return JourneyDriver(
        temporal_env, pool, settings.task_queue, mail_dir, policy=settings.journey_policy()
    )


def next_clock_change(zone: str, after: date) -> date:
    """The first day after `after` whose noon is at another offset from UTC than the day
    before's: the day the clocks change, in the small hours."""
    tz = ZoneInfo(zone)
    day = after
    while True:
        day += timedelta(days=1)
        before = datetime.combine(day - timedelta(days=1), time(12), tz).utcoffset()
        if datetime.combine(day, time(12), tz).utcoffset() != before:
            return day


def written(instant: datetime, zone: str, city: str, reader: str, reader_city: str) -> str:
    """How an English email writes a visit's time, made here apart from the code under test:
    the clinic's clock, then the reader's where it shows another time (with its day, where
    that is another day)."""
    clinic = instant.astimezone(ZoneInfo(zone))
    theirs = instant.astimezone(ZoneInfo(reader))
    shown = f"{clinic:%a} {clinic.day} {clinic:%b %Y, %H:%M}"
    if theirs.replace(tzinfo=None) == clinic.replace(tzinfo=None):
        return f"{shown} ({city} time)"
    there = f"{theirs:%H:%M}"
    if theirs.date() != clinic.date():
        there = f"{theirs:%a} {theirs.day} {theirs:%b %Y, %H:%M}"
    return f"{shown} ({city} time; {there} in {reader_city})"


async def mail_of(j: JourneyDriver, step: str) -> str:
    """The text of the journey's email of `step`, once it has arrived."""

    async def text() -> str:
        for message in read_mailbox(j.mail_dir):
            if f"<{j.journey_id}.{step}@" in message["Message-ID"]:
                return text_of(message)
        return ""

    return await eventually(text, what=f"the {step} email")


@pytest.mark.usefixtures("worker")
@pytest.mark.parametrize("settings", [MADRID, NEW_YORK], indirect=True, ids=["madrid", "ny"])
async def test_visit_days_and_admission_deadline_keep_the_clinics_hours_across_a_clock_change(
    driver: JourneyDriver, settings: Settings
) -> None:
    j = driver
    zone, opens, closes = (
        settings.clinic_time_zone,
        settings.clinic_visit_day_start,
        settings.clinic_visit_day_end,
    )
    city = MADRID[3] if zone == MADRID[0] else NEW_YORK[3]
    tz = ZoneInfo(zone)
    await j.start(preferred_language="en", time_zone=BOGOTA)
    await j.approve()
    await j.hold_consult()
    await j.accept_plan()
    await j.reach(Stage.TRAVEL, WaitingOn.PATIENT)
    # Day 1 the day before the clocks change, day 2 the day they change.
    change = next_clock_change(zone, (await j.now()).date() + timedelta(days=20))
    arrival = change - timedelta(days=2)
    await j.handle.execute_update(
        PatientJourney.travel_details,
        TravelDetails(
            actor=j.patient,
            arrival_date=arrival,
            departure_date=arrival + timedelta(days=4),
            needs_visa=False,
        ),
    )
    await j.confirm_visit_if_asked()
    status = await j.reach(Stage.TRAVEL, WaitingOn.PATIENT)
    await j.confirm_partners()

    day1 = datetime.combine(arrival + timedelta(days=1), opens, tz)
    day2 = datetime.combine(change, opens, tz)
    day2_end = datetime.combine(change, closes, tz)
    # Within one zone Python subtracts wall clocks; in UTC, the clocks' change shows.
    hours_between = day2.astimezone(UTC) - day1.astimezone(UTC)
    assert hours_between in (timedelta(hours=23), timedelta(hours=25))
    assert status.deadline == day1
    [visit] = [b for b in status.bookings if b.kind is BookingKind.CLINIC_VISIT]
    assert (visit.starts_at, visit.ends_at) == (day1, day2_end)

    # The patient reads the visit on the clinic's clock and, where it differs, on hers; the
    # clinic on its own clock alone.
    confirmed = await mail_of(j, "visit-confirmed")
    assert f"Day 1, {written(day1, zone, city, BOGOTA, 'Bogotá')}: admission" in confirmed
    assert f"Day 2, {written(day2, zone, city, BOGOTA, 'Bogotá')}: the procedure" in confirmed
    asked = await mail_of(j, "clinic-visit-request")
    assert f"day 1 (admission and assessment) on {written(day1, zone, city, zone, city)}" in asked
    assert "Bogotá" not in asked

    # Visit day 1 begins at the clinic's opening hour, not a minute before.
    await j.sleep(day1 - await j.now() - timedelta(minutes=1))
    await j.idle()
    assert (await j.status()).stage is Stage.TRAVEL
    await j.sleep(timedelta(minutes=2))
    waiting = await j.reach(Stage.TREATMENT, WaitingOn.CLINIC)
    # The admission is due when day 2 opens on the clinic's clock: 23 or 25 hours later.
    assert waiting.deadline == day2

    await j.sleep(day2 - await j.now() - timedelta(minutes=1))
    await j.idle()
    assert (await j.status()).waiting_on is WaitingOn.CLINIC
    assert "admission-overdue" not in j.mail_kinds()
    await j.sleep(timedelta(minutes=2))
    await j.reach(Stage.TREATMENT, WaitingOn.COORDINATOR)
    await mail_of(j, "admission-overdue")


@pytest.mark.usefixtures("worker")
async def test_a_patient_in_bogota_reads_the_visit_on_both_clocks_and_the_console_on_the_clinics(
    phone: Page,
    page: Page,
    served_app: ServedApp,
    driver: JourneyDriver,
    screenshot: Screenshot,
) -> None:
    j = driver
    await j.start(time_zone=BOGOTA)  # writes in Spanish
    await j.approve()
    await j.hold_consult()
    await j.accept_plan()
    await j.reach(Stage.TRAVEL, WaitingOn.PATIENT)
    # Stored first, as the page and the API store what the patient sent.
    details = await j.travel_details(needs_visa=False)
    async with j.pool.acquire() as conn:
        await ClinicalRepository(conn).add_travel_record(
            journey_id=j.journey_id,
            arrival_date=details.arrival_date,
            departure_date=details.departure_date,
            arrival_flight="AV26",
            departure_flight="",
            companions=1,
            needs_visa=False,
            notes="",
            submitted_by=j.patient.id,
        )
    await j.handle.execute_update(PatientJourney.travel_details, details)
    await j.confirm_visit_if_asked()
    await j.reach(Stage.TRAVEL, WaitingOn.PATIENT)
    day1 = datetime.combine(details.arrival_date + timedelta(days=1), time(8), ZoneInfo(MADRID[0]))
    at_bogota = day1.astimezone(ZoneInfo(BOGOTA))
    both = f"08:00 (hora de Madrid; {at_bogota:%H:%M} en Bogotá)"

    await phone.goto(page_url(served_app, j))
    await expect(phone.get_by_text("Su visita empieza el")).to_contain_text(both)
    booked = phone.get_by_role("region", name="Lo que tiene reservado")
    await expect(booked).to_contain_text("Visita a la clínica: ")
    await expect(booked).to_contain_text(both)
    await expect(
        phone.get_by_text("La visita a la clínica se muestra en hora de Madrid")
    ).to_be_visible()
    await screenshot(phone, "visit-on-both-clocks")
    await assert_accessible(phone)

    # The console gives the clinic's time; the coordinator's clock is Madrid's too.
    await sign_in_as(page, served_app.url, Role.COORDINATOR)
    await page.goto(f"{served_app.url}/staff/journeys/{j.journey_id}")
    summary = page.get_by_role("region", name="Summary")
    await expect(summary).to_contain_text("Clinic visit")
    await expect(summary).to_contain_text("08:00 (Madrid time); day 2: ")
    await screenshot(page, "console-visit-in-clinic-time")
    await assert_accessible(page)


def test_a_clinic_zone_that_does_not_exist_is_refused_in_one_line() -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith("JOURNEYS_")}
    env |= {
        "JOURNEYS_STATE_DIR": os.environ["JOURNEYS_STATE_DIR"],
        "JOURNEYS_ENVIRONMENT": "development",
        "JOURNEYS_CLINIC_TIME_ZONE": "Europe/Atlantis",
    }
    for command in ("migrate", "worker"):
        done = subprocess.run(
            [sys.executable, "-m", "cli", command],
            cwd=ROOT,
            env=env,
            capture_output=True,
            text=True,
            timeout=60,
        )
        assert done.returncode == 2 and done.stdout == ""
        assert done.stderr == (
            "JOURNEYS_CLINIC_TIME_ZONE: Value error, 'Europe/Atlantis' is not an IANA time "
            "zone, such as Europe/Madrid\n"
        )
