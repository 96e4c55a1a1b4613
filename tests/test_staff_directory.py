"""The staff directory behind the console: nothing goes to a member once deactivated (no case,
no consultation slot), a step naming them is refused with its code, a specialist's slots come
from their own hours, and `journeys staff add` bootstraps a deployment's first administrator,
audited. The console's pages are test_console_directory.py's."""

import asyncio
import getpass
import os
import subprocess
import sys
from collections.abc import Awaitable, Callable
from datetime import time, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import asyncpg
import httpx
import pytest

from db.staff import StaffRepository
from db.staff_directory import Acting, StaffDirectory
from domain.actors import Role
from domain.stages import Stage, WaitingOn
from settings import Settings
from tests.api_people import link, staff
from tests.helpers import eventually
from tests.journeys import JourneyDriver, NewJourney
from tests.privacy_checks import chain_intact

ROOT = Path(__file__).resolve().parent.parent
ADMIN = Acting("admin-1", Role.STAFF_ADMIN.value)
TOKYO = ZoneInfo("Asia/Tokyo")


def mail_kinds(j: JourneyDriver) -> Callable[[], Awaitable[list[str]]]:
    async def kinds() -> list[str]:
        return j.mail_kinds()

    return kinds


def directory(conn: asyncpg.Connection, settings: Settings) -> StaffDirectory:
    return StaffDirectory(
        conn, audit_key=settings.audit_key.get_secret_value().encode(), acting=ADMIN
    )


async def add(pool: asyncpg.Pool, settings: Settings, **values: str) -> None:
    async with pool.acquire() as conn:
        await directory(conn, settings).add(values)


async def deactivate(pool: asyncpg.Pool, settings: Settings, staff_id: str) -> tuple[str, ...]:
    async with pool.acquire() as conn:
        left = await directory(conn, settings).deactivate(staff_id)
    assert left is not None
    return left.journeys


@pytest.mark.usefixtures("worker")
async def test_a_deactivated_case_manager_gets_no_case_and_cannot_be_named(
    new_journey: NewJourney, pool: asyncpg.Pool, settings: Settings, api: httpx.AsyncClient
) -> None:
    first = new_journey()
    await first.start()  # a Spanish patient: Lucía Romero (cm-es) speaks Spanish
    await first.approve()
    assert (await first.reach(Stage.TELECONSULT, WaitingOn.PATIENT)).case_manager_id == "cm-es"

    assert await deactivate(pool, settings, "cm-es") == (first.journey_id,)

    # The next Spanish patient gets the case manager who is left (English first, then theirs).
    second = new_journey()
    await second.start()
    await second.approve()
    assert (await second.reach(Stage.TELECONSULT, WaitingOn.PATIENT)).case_manager_id == "cm-en"

    # The coordinators list the first journey to reassign, first; naming her is refused.
    coordinator = staff(settings, Role.COORDINATOR)
    listed = await api.get("/api/v1/journeys?reassign=true", headers=coordinator)
    assert listed.status_code == 200, listed.text
    [item] = listed.json()["items"]
    assert (item["journey_id"], item["left"], item["waiting_on_you"]) == (
        first.journey_id,
        ["case_manager"],
        True,
    )
    base = f"/api/v1/journeys/{first.journey_id}"
    refused = await api.post(
        f"{base}/case-manager", json={"case_manager_id": "cm-es"}, headers=coordinator
    )
    assert refused.status_code == 422
    assert refused.json()["code"] == "case_manager_inactive"
    assert refused.json()["detail"] == ("cm-es is not an active case manager; choose another one")
    assert (await first.status()).case_manager_id == "cm-es"

    # Reassigned, the journey no longer waits for it.
    moved = await api.post(
        f"{base}/case-manager", json={"case_manager_id": "cm-en"}, headers=coordinator
    )
    assert moved.status_code == 200, moved.text
    listed = await api.get("/api/v1/journeys?reassign=true", headers=coordinator)
    assert listed.json()["items"] == []
    assert await chain_intact(pool, settings)


@pytest.mark.usefixtures("worker")
async def test_a_deactivated_specialists_time_is_refused_and_new_times_are_another_specialists(
    new_journey: NewJourney, pool: asyncpg.Pool, settings: Settings, api: httpx.AsyncClient
) -> None:
    # A second specialist, in Tokyo, works Saturday mornings there.
    await add(
        pool,
        settings,
        staff_id="spec-tokyo",
        full_name="Dr. Kenji Mori",
        email="mori@clinic.test",
        role="specialist",
        languages="ja, en",
        time_zone="Asia/Tokyo",
        consult_minutes="45",
        hours_5="09:00-10:30",
    )
    first = new_journey()
    await first.start()
    await first.approve()
    offered = (await first.reach(Stage.TELECONSULT, WaitingOn.PATIENT)).offered_slots
    assert {s.specialist_id for s in offered} == {"spec-1"}, "the least loaded, then by id"

    assert await deactivate(pool, settings, "spec-1") == (first.journey_id,)

    # The patient's choice of her time is refused, and nothing is booked.
    chosen = await api.post(
        f"/api/v1/journeys/{first.journey_id}/consult/booking",
        json={"slot_id": offered[0].slot_id},
        headers=link(settings, first.journey_id, first.patient.id),
    )
    assert chosen.status_code == 422, chosen.text
    assert chosen.json()["code"] == "specialist_inactive"
    assert await first.bookings() == {}
    assert (await first.status()).waiting_on is WaitingOn.PATIENT
    listed = await api.get(
        "/api/v1/journeys?reassign=true", headers=staff(settings, Role.COORDINATOR)
    )
    assert [(i["journey_id"], i["left"]) for i in listed.json()["items"]] == [
        (first.journey_id, ["specialist"])
    ]

    # A coordinator offers her new times: Dr. Mori's Saturday mornings, 45 minutes on his
    # clock; the journey no longer waits to be reassigned, and she books one.
    coordinator = staff(settings, Role.COORDINATOR)
    renewed = await api.post(
        f"/api/v1/journeys/{first.journey_id}/consult/reschedule", headers=coordinator
    )
    assert renewed.status_code == 200, renewed.text
    slots = (await first.reach(Stage.TELECONSULT, WaitingOn.PATIENT)).offered_slots
    assert {s.specialist_id for s in slots} == {"spec-tokyo"}
    listed = await api.get("/api/v1/journeys?reassign=true", headers=coordinator)
    assert listed.json()["items"] == []
    await eventually(
        mail_kinds(first), until=lambda k: "slot-proposals-2" in k, what="the new times email"
    )
    booked = await api.post(
        f"/api/v1/journeys/{first.journey_id}/consult/booking",
        json={"slot_id": slots[0].slot_id},
        headers=link(settings, first.journey_id, first.patient.id),
    )
    assert booked.status_code == 200, booked.text
    there = [(s.starts_at.astimezone(TOKYO), s.ends_at.astimezone(TOKYO)) for s in slots]
    assert {(start.weekday(), start.time(), end - start) for start, end in there} <= {
        (5, time(9, 0), timedelta(minutes=45)),
        (5, time(9, 45), timedelta(minutes=45)),
    }
    assert len(slots) == 6, "two a Saturday, over three Saturdays"


@pytest.mark.usefixtures("worker")
async def test_other_times_asked_for_before_choosing_are_new_ones(
    new_journey: NewJourney, settings: Settings, api: httpx.AsyncClient
) -> None:
    j = new_journey()
    await j.start()
    await j.approve()
    before = (await j.reach(Stage.TELECONSULT, WaitingOn.PATIENT)).offered_slots
    # The patient told her case manager none suits her: a coordinator asks for others.
    asked = await api.post(
        f"/api/v1/journeys/{j.journey_id}/consult/reschedule",
        headers=staff(settings, Role.COORDINATOR),
    )
    assert asked.status_code == 200, asked.text
    after = (await j.status()).offered_slots
    assert len(after) == len(before) == 6
    assert not {s.starts_at for s in before} & {s.starts_at for s in after}
    assert min(s.starts_at for s in after) > max(s.starts_at for s in before)
    await eventually(mail_kinds(j), until=lambda k: "slot-proposals-2" in k, what="new times")


async def test_a_specialist_without_working_hours_is_never_offered(
    pool: asyncpg.Pool, settings: Settings
) -> None:
    """Only the directory's checks keep a specialist from having no hours; one written around
    them (or whose hours were removed in the database) offers nothing rather than anything."""
    async with pool.acquire() as conn:
        repo = StaffRepository(conn)
        await repo.add(
            staff_id="spec-idle", full_name="Dr. Idle", email="idle@clinic.test", role="specialist"
        )
        await repo.replace_hours(staff_id="spec-idle", hours={})
        assert await repo.specialists_by_load() == []


async def journeys_cli(settings: Settings, *args: str) -> subprocess.CompletedProcess[str]:
    """`journeys ARGS` as an operator runs it, on the test's database."""
    return await asyncio.to_thread(
        subprocess.run,
        [sys.executable, "-m", "cli", *args],
        cwd=ROOT,
        env=os.environ | {"JOURNEYS_DATABASE_URL": settings.require_database_url()},
        capture_output=True,
        text=True,
        timeout=180,
    )


async def test_the_first_staff_administrator_is_added_from_the_command(
    pool: asyncpg.Pool, settings: Settings
) -> None:
    first = [
        "staff", "add", "--id", "marta.admin", "--name", "Marta Ruiz",
        "--email", "marta.ruiz@clinic.test", "--role", "staff_admin",
        "--language", "es", "--language", "en", "--time-zone", "Europe/Madrid",
        "--subject", "00u1a2b3c4",
    ]  # fmt: skip
    added = await journeys_cli(settings, *first)
    assert added.returncode == 0, added.stderr
    assert added.stdout.strip() == "added marta.admin (staff_admin)"
    row = await pool.fetchrow(
        "SELECT role, languages, oidc_subject, active FROM staff WHERE staff_id = 'marta.admin'"
    )
    assert tuple(row) == ("staff_admin", ["es", "en"], "00u1a2b3c4", True)
    audited = await pool.fetch(
        """SELECT actor_id, actor_role, detail->>'staff_id' AS who, detail->>'via' AS via
             FROM audit_log WHERE action = 'staff.add'"""
    )
    assert [tuple(r) for r in audited] == [
        (f"os:{getpass.getuser()}", "operator", "marta.admin", None)
    ]

    # A specialist she adds, as herself; a refused one changes nothing, and says why.
    refused = await journeys_cli(
        settings,
        "staff", "add", "--id", "dr.lee", "--name", "Dr. Lee", "--email", "MARTA.RUIZ@clinic.test",
        "--role", "specialist", "--time-zone", "Mars/Olympus",
        "--hours", "mon=09:00-12:00,11:00-13:00", "--as", "marta.admin",
    )  # fmt: skip
    assert refused.returncode == 1
    assert refused.stderr.splitlines() == [
        "email: MARTA.RUIZ@clinic.test is already the email of a member of staff",
        "time_zone: Mars/Olympus is not an IANA time zone, such as Europe/Madrid",
        "consult_minutes: required",
        "hours_0: Monday: 09:00-12:00, 11:00-13:00 overlap",
    ]
    assert await pool.fetchval("SELECT count(*) FROM staff WHERE staff_id = 'dr.lee'") == 0
    added = await journeys_cli(
        settings,
        "staff", "add", "--id", "dr.lee", "--name", "Dr. Lee", "--email", "lee@clinic.test",
        "--role", "specialist", "--time-zone", "America/Chicago", "--consult-minutes", "40",
        "--hours", "mon=09:00-12:00", "--hours", "thu=13:00-17:00", "--as", "marta.admin",
    )  # fmt: skip
    assert added.returncode == 0, added.stderr
    listed = await journeys_cli(settings, "staff", "list")
    assert listed.returncode == 0, listed.stderr
    # No work phone on file: the last column is empty.
    lee = "dr.lee\tspecialist\tactive\tAmerica/Chicago\ten\tDr. Lee\t"
    assert lee in listed.stdout.splitlines()
    assert (await pool.fetch("SELECT actor_id FROM audit_log WHERE action = 'staff.add'"))[-1][
        0
    ] == "marta.admin"
    assert await chain_intact(pool, settings)
