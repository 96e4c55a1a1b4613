"""A case manager's work phone in a real browser (Debian's chromium, axe-core on each page),
against the app served on loopback, the real worker and Temporal's time-skipping server: after
the cutoff for changing the trip's dates, the patient's page, 360 pixels wide, gives her the
number to call as a `tel:` link in Spanish and in English; a staff administrator sets the
number in the directory, where one that is not international is refused beside its field."""

import re
from datetime import timedelta

import asyncpg
import pytest
from playwright.async_api import Locator, Page, expect

from db.staff import StaffRepository
from db.staff_directory import StaffDirectory
from domain.actors import Role
from settings import Settings
from tests.browser import StaffPage, sign_in_as
from tests.journeys import JourneyDriver
from tests.patient_pages import PHONE, PatientPage, page_url
from tests.test_staff_directory import ADMIN

pytestmark = pytest.mark.usefixtures("worker")


async def give_phone(pool: asyncpg.Pool, settings: Settings, staff_id: str, phone: str) -> None:
    """The member's work phone, set through the directory as an administrator sets it."""
    async with pool.acquire() as conn:
        record = await StaffRepository(conn).record(staff_id=staff_id)
        assert record is not None
        await StaffDirectory(
            conn, audit_key=settings.audit_key.get_secret_value().encode(), acting=ADMIN
        ).change(staff_id, {**record.form_values(), "phone": phone})


async def within_the_phone(phone: Page, link: Locator) -> None:
    """The link is whole on the screen and as tall as a finger, and nothing makes the page
    wider than the phone."""
    box = await link.bounding_box()
    assert box is not None
    assert box["x"] >= 0 and box["x"] + box["width"] <= PHONE["width"], box
    assert box["height"] >= 44, box
    assert await phone.evaluate("document.documentElement.scrollWidth") <= PHONE["width"]


# The page after the cutoff with the case manager's phone on file, in each language: its lead,
# the call link's name, and how the line with her email begins.
CALL_WORDS = (
    (
        "es",
        "Para cambiarlas ahora, llame a su gestor de caso, Lucía Romero:",
        "Llamar al +34600123456",
        "O escríbale a",
    ),
    (
        "en",
        "To change them now, call your case manager, Lucía Romero:",
        "Call +34600123456",
        "Or write to them at",
    ),
)


async def test_after_the_cutoff_the_page_gives_the_case_managers_number_to_call(
    phone: Page,
    patient_page: PatientPage,
    driver: JourneyDriver,
    pool: asyncpg.Pool,
    settings: Settings,
) -> None:
    j = await driver.start()
    await j.book_the_trip()
    await j.past_change_cutoff(timedelta(hours=1))

    # Lucía Romero, her case manager, has no phone on file: the page asks her to write.
    await patient_page.open()
    await expect(
        phone.get_by_text(
            re.compile("Para cambiarlas ahora, llame o escriba a su gestor de caso, Lucía Romero")
        )
    ).to_be_visible()
    await expect(phone.locator("a[href^='tel:']")).to_have_count(0)

    await give_phone(pool, settings, "cm-es", "+34 600 123 456")
    await phone.reload()
    await expect(phone.get_by_role("button", name="Cambiar mis fechas")).to_have_count(0)
    for language, lead, call_name, write_lead in CALL_WORDS:
        if language == "en":
            await phone.goto(f"{page_url(patient_page.app, j)}&lang=en")
        await expect(phone.get_by_text(lead)).to_be_visible()
        call = phone.get_by_role("link", name=call_name)
        await expect(call).to_have_attribute("href", "tel:+34600123456")
        await within_the_phone(phone, call)
        write = phone.get_by_role("paragraph").filter(has_text=re.compile(f"^{write_lead}"))
        await expect(write.get_by_role("link", name="lucia@clinic.test")).to_have_attribute(
            "href", "mailto:lucia@clinic.test"
        )
        await patient_page.check(f"closed-call-{language}")


async def test_an_administrator_gives_a_case_manager_a_work_phone(
    page: Page, staff_page: StaffPage, pool: asyncpg.Pool
) -> None:
    await sign_in_as(page, staff_page.app.url, Role.STAFF_ADMIN)
    await page.goto(f"{staff_page.app.url}/staff/directory/demo-cm-es")
    before = await pool.fetch("SELECT * FROM staff ORDER BY staff_id")
    audited = await pool.fetchval("SELECT count(*) FROM audit_log WHERE action LIKE 'staff.%'")

    field = page.get_by_label("Work phone (optional)")
    await field.fill("600 123 456")
    await page.get_by_role("button", name="Save changes").click()
    await expect(page.locator("#err-phone")).to_have_text(
        "600 123 456 is not an international phone number: write + and the country code "
        "first, such as +34 600 123 456."
    )
    await expect(field).to_have_attribute("aria-invalid", "true")
    await expect(field).to_have_value("600 123 456")
    await expect(page.get_by_role("alert")).to_contain_text("Nothing was changed.")
    assert await pool.fetch("SELECT * FROM staff ORDER BY staff_id") == before
    assert (
        await pool.fetchval("SELECT count(*) FROM audit_log WHERE action LIKE 'staff.%'") == audited
    )
    await staff_page.check("phone-refused")

    await field.fill("+34 (600) 123-456")
    await page.get_by_role("button", name="Save changes").click()
    await expect(page.get_by_role("status")).to_have_text("Changes saved.")
    await expect(field).to_have_value("+34600123456")
    changed = await pool.fetchrow(
        """SELECT detail->>'staff_id' AS staff_id, detail->'fields' AS fields, detail::text AS all
             FROM audit_log WHERE action = 'staff.change' ORDER BY seq DESC LIMIT 1"""
    )
    assert (changed["staff_id"], changed["fields"]) == ("demo-cm-es", '["phone"]')
    assert "600123456" not in changed["all"]

    await page.locator("#main").get_by_role("link", name="Staff directory").click()
    row = page.get_by_role("row").filter(has=page.get_by_role("link", name="Lucía Romero"))
    await expect(row.get_by_role("link", name="+34600123456")).to_have_attribute(
        "href", "tel:+34600123456"
    )
    await staff_page.check("directory-phone")
