"""The staff directory in a real browser (Debian's chromium, axe-core on each page), against the
app served on loopback with the demo staff, the real worker and Temporal's time-skipping server:
a staff administrator adds a specialist whose hours a patient is then offered on their own
clock, deactivates a case manager whose journeys go to the coordinators, and is refused, field
by field and with nothing changed, what the directory cannot take."""

import re
from datetime import UTC, datetime, time, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import asyncpg
import pytest
from playwright.async_api import Browser, Page, expect

from domain.actors import Role
from domain.stages import Stage, WaitingOn
from i18n import format_two_zone_moment
from tests.browser import Screenshot, ServedApp, StaffPage, assert_accessible, sign_in_as
from tests.helpers import eventually, read_mailbox, text_of
from tests.journey_rows import add_journey
from tests.journeys import JourneyDriver
from tests.patient_pages import emailed_link

pytestmark = pytest.mark.usefixtures("worker")

NEW_YORK = ZoneInfo("America/New_York")


async def open_directory(page: Page, served_app: ServedApp) -> None:
    await sign_in_as(page, served_app.url, Role.STAFF_ADMIN)
    await expect(page.get_by_role("heading", level=1)).to_have_text("Staff directory")


async def staff_rows(pool: asyncpg.Pool) -> list[tuple[str, ...]]:
    """Everything the directory holds, to show that a refused form changed none of it."""
    rows = await pool.fetch(
        """SELECT s.staff_id, s.email, s.role, s.time_zone, s.active,
                  coalesce(string_agg(h.weekday || ' ' || h.starts || '-' || h.ends, ','
                                      ORDER BY h.weekday, h.starts), '') AS hours
             FROM staff s LEFT JOIN staff_working_hours h USING (staff_id)
            GROUP BY s.staff_id ORDER BY s.staff_id"""
    )
    return [tuple(str(v) for v in r.values()) for r in rows]


async def staff_audit(pool: asyncpg.Pool) -> list[tuple[str, str, str]]:
    rows = await pool.fetch(
        """SELECT actor_id, action, detail->>'staff_id' AS staff_id FROM audit_log
            WHERE action LIKE 'staff.%' AND actor_id <> 'devstack' ORDER BY seq"""
    )
    return [(r["actor_id"], r["action"], r["staff_id"]) for r in rows]


async def test_a_specialist_added_in_new_york_is_offered_on_the_patients_clock(
    browser: Browser,
    page: Page,
    staff_page: StaffPage,
    demo_journey: JourneyDriver,
    pool: asyncpg.Pool,
    screenshot: Screenshot,
) -> None:
    await open_directory(page, staff_page.app)
    await staff_page.check("directory")

    # The demo specialist leaves (she has no journey), and Dr. Ana Kim joins from New York.
    await page.get_by_role("link", name="Dr. Elena Vidal").click()
    await page.get_by_label("I confirm: deactivate Dr. Elena Vidal").check()
    await page.get_by_role("button", name="Deactivate").click()
    await expect(page.get_by_role("status")).to_contain_text("Deactivated")
    await assert_accessible(page)

    await page.get_by_role("link", name="Staff directory").first.click()
    await page.get_by_role("link", name="Add a member of staff").click()
    await page.get_by_label("Staff id").fill("ana.kim")
    await page.get_by_label("Full name").fill("Dr. Ana Kim")
    await page.get_by_label("Email").fill("ana.kim@journeys.localhost")
    await page.get_by_label("Role").select_option(label="Specialist")
    await page.get_by_label("Languages").fill("en, ko")
    await page.get_by_label("Time zone").fill("America/New_York")
    await page.get_by_label("Consultation length (minutes)").fill("60")
    for day in ("Monday", "Tuesday", "Wednesday", "Thursday", "Friday"):
        await page.get_by_label(f"Working hours on {day}").fill("08:00-09:00")
    await staff_page.check("new-specialist")
    await page.get_by_role("button", name="Add to the directory").click()
    await page.wait_for_url(f"{staff_page.app.url}/staff/directory/ana.kim?done=added")
    await expect(page.get_by_role("status")).to_have_text("Added to the directory.")
    await expect(page.get_by_label("Working hours on Monday")).to_have_value("08:00-09:00")
    await assert_accessible(page)

    administrator = "demo-staff-admin"
    assert await staff_audit(pool) == [
        (administrator, "staff.deactivate", "demo-specialist"),
        (administrator, "staff.add", "ana.kim"),
    ]

    # A patient in Tokyo (no summer time) is offered Dr. Kim's hours: 08:00 in New York.
    journey = demo_journey
    await journey.start(preferred_language="en", time_zone="Asia/Tokyo")
    await journey.approve()
    status = await journey.reach(Stage.TELECONSULT, WaitingOn.PATIENT)
    slots = status.offered_slots
    assert {s.specialist_id for s in slots} == {"ana.kim"}
    assert len(slots) == 6
    now = await journey.now()
    for slot in slots:
        there = slot.starts_at.astimezone(NEW_YORK)
        assert (there.time(), there.weekday() < 5) == (time(8, 0), True), there
        assert slot.ends_at - slot.starts_at == timedelta(hours=1)
        assert slot.starts_at >= now + timedelta(days=1) - timedelta(minutes=5)
    days = [s.starts_at.astimezone(NEW_YORK).date() for s in slots]
    assert days == sorted(set(days)), "one a day, each weekday in turn"
    # The first weekday at 08:00 in New York at least a day after the journey asked.
    first = min(
        datetime.combine(now.astimezone(NEW_YORK).date() + timedelta(days=d), time(8), NEW_YORK)
        for d in range(1, 6)
        if (now.astimezone(NEW_YORK).date() + timedelta(days=d)).weekday() < 5
        and datetime.combine(now.astimezone(NEW_YORK).date() + timedelta(days=d), time(8), NEW_YORK)
        >= now + timedelta(days=1)
    )
    assert slots[0].starts_at == first

    phone = await browser.new_context(locale="en-GB")
    patient = await phone.new_page()
    await patient.goto(await emailed_link(journey, staff_page.app, "slot-proposals-1"))
    times = patient.get_by_role("group", name=re.compile("Times available"))
    labels = [await r.inner_text() for r in await times.locator("label").all()]
    assert [label.strip() for label in labels] == [
        format_two_zone_moment(s.starts_at, "en", "Asia/Tokyo", "America/New_York")
        for s in sorted(slots, key=lambda s: s.starts_at)
    ]
    assert all("08:00 in New York)" in label and "(Tokyo time;" in label for label in labels)
    await expect(patient.get_by_text("about 60 minutes")).to_be_visible()
    await screenshot(patient, "patient-offered-new-york")
    await assert_accessible(patient)
    await phone.close()

    # The proposals email says the same times.
    [proposals] = [
        m
        for m in read_mailbox(journey.mail_dir)
        if f"<{journey.journey_id}.slot-proposals-1@" in m["Message-ID"]
    ]
    assert labels[0].strip() in text_of(proposals)


async def test_deactivating_a_case_manager_brings_their_journeys_to_the_coordinators(
    page: Page, staff_page: StaffPage, pool: asyncpg.Pool, mail_dir: Path
) -> None:
    now = datetime.now(UTC)
    open_one = await add_journey(
        pool,
        stage="TRAVEL",
        waiting_on="patient",
        deadline=now + timedelta(days=9),
        case_manager="demo-cm-es",
    )
    other = await add_journey(pool, stage="PLAN", waiting_on="patient", case_manager="demo-cm-en")
    ended = await add_journey(pool, stage="COMPLETED", waiting_on="none", case_manager="demo-cm-es")
    session = await pool.fetchval(
        "SELECT count(*) FROM console_sessions WHERE staff_id = 'demo-cm-es'"
    )
    assert session == 0

    await open_directory(page, staff_page.app)
    await page.get_by_role("link", name="Lucía Romero").click()
    await expect(page.get_by_role("region", name="Deactivate")).to_contain_text(
        "Each of their open journeys goes before the coordinators"
    )
    # Without the ticked confirmation, nothing happens.
    await page.get_by_role("button", name="Deactivate").click()
    await expect(page.get_by_role("alert")).to_contain_text(
        "Tick the box to confirm the deactivation."
    )
    assert await pool.fetchval("SELECT active FROM staff WHERE staff_id = 'demo-cm-es'")
    await page.get_by_label("I confirm: deactivate Lucía Romero").check()
    await page.get_by_role("button", name="Deactivate").click()
    await expect(page.get_by_role("status")).to_contain_text("Deactivated")
    inactive = page.get_by_role("region", name="Inactive")
    await expect(inactive).to_contain_text("1 open journey went before the coordinators")
    await expect(inactive).to_contain_text("The coordinators' email about them was sent.")
    await staff_page.check("deactivated")

    # The coordinators' email: the open journey with its case page, not the ended one.
    async def email() -> list[str]:
        return [
            text_of(m) for m in read_mailbox(mail_dir) if "staff-deactivation-" in m["Message-ID"]
        ]

    [text] = await eventually(email, what="the coordinators' email")
    [message] = [m for m in read_mailbox(mail_dir) if "staff-deactivation-" in m["Message-ID"]]
    assert message["To"] == staff_page.app.settings.staff_notify_email
    assert (
        message["Subject"] == "Lucía Romero no longer manages cases: 1 journey needs a case manager"
    )
    assert f"{open_one[:8].upper()}: {staff_page.app.url}/staff/journeys/{open_one}" in text
    assert ended[:8].upper() not in text and other[:8].upper() not in text

    # The coordinator's worklist puts it first, says why, and filters on it.
    await page.context.clear_cookies()
    await staff_page.sign_in(Role.COORDINATOR)
    rows = page.get_by_role("table").locator("tbody tr")
    await expect(rows.first.get_by_role("rowheader")).to_have_text(open_one[:8].upper())
    await expect(rows.first).to_contain_text("Case manager left: reassign")
    await expect(rows.first).to_contain_text("You")
    await page.get_by_label("To reassign").select_option("yes")
    await page.get_by_role("button", name="Filter").click()
    await expect(rows).to_have_count(1)
    await staff_page.check("worklist-reassign")

    assert await staff_audit(pool) == [("demo-staff-admin", "staff.deactivate", "demo-cm-es")]


async def test_what_the_directory_cannot_take_is_refused_beside_its_field(
    page: Page, staff_page: StaffPage, pool: asyncpg.Pool
) -> None:
    before = await staff_rows(pool)
    await open_directory(page, staff_page.app)
    await page.get_by_role("link", name="Add a member of staff").click()

    async def fill(**fields: str) -> None:
        values = {
            "Staff id": "ana.kim",
            "Full name": "Dr. Ana Kim",
            "Email": "ana.kim@journeys.localhost",
            "Languages": "en",
            "Time zone": "America/New_York",
            "Consultation length (minutes)": "30",
            "Working hours on Monday": "09:00-12:00",
            "Working hours on Tuesday": "",
            **fields,
        }
        for label, value in values.items():
            await page.get_by_label(label, exact=True).fill(value)
        await page.get_by_label("Role").select_option(label="Specialist")
        await page.get_by_role("button", name="Add to the directory").click()

    async def refused(field: str, message: str) -> None:
        await expect(page.locator(f"#err-{field}")).to_have_text(message)
        # A week without hours is marked on every day.
        marked = "hours_0" if field == "hours" else field
        await expect(page.locator(f"#f-{marked}")).to_have_attribute("aria-invalid", "true")
        await expect(page.get_by_role("alert")).to_contain_text("Nothing was changed.")
        assert await staff_rows(pool) == before

    await fill(**{"Working hours on Monday": ""})
    await refused("hours", "A specialist needs working hours on at least one day of the week.")
    await staff_page.check("no-hours")

    await fill(**{"Working hours on Tuesday": "09:00-12:00, 11:30-13:00"})
    await refused("hours_1", "Tuesday: 09:00-12:00, 11:30-13:00 overlap; give each time once.")
    await expect(page.get_by_label("Working hours on Tuesday")).to_have_value(
        "09:00-12:00, 11:30-13:00"
    )
    await staff_page.check("overlapping-hours")

    await fill(**{"Time zone": "Europe/Atlantis"})
    await refused(
        "time_zone",
        "Europe/Atlantis is not a time zone: write an IANA time zone, such as Europe/Madrid.",
    )

    await fill(**{"Staff id": "demo-cm-es"})
    await refused("staff_id", "demo-cm-es is already the id of a member of staff.")

    await fill(**{"Email": "Lucia.Romero@journeys.localhost"})
    await refused(
        "email", "Lucia.Romero@journeys.localhost is already the email of a member of staff."
    )
    await staff_page.check("email-taken")

    assert await staff_audit(pool) == []
    assert await staff_rows(pool) == before
