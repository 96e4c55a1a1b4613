"""The patient's page in tests: a phone-sized browser page, the page's address as emails carry
it, and the checks every state of the page gets."""

import re
import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass
from email.message import EmailMessage

import asyncpg
import pytest
from playwright.async_api import Browser, Page, ViewportSize, expect

from api.patient_page.view import PageRecords
from db.patient_page import PatientOnPage
from patient_links import mint_patient_link
from tests.browser import Screenshot, ServedApp, ServedPage, assert_accessible
from tests.helpers import eventually, read_mailbox, text_of
from tests.journeys import JourneyDriver

PHONE = ViewportSize(width=360, height=780)
PDF = b"%PDF-1.4\n% a scan of the spine\n" + b"0" * 2048
PNG = b"\x89PNG\r\n\x1a\n" + b"\0" * 1024


@pytest.fixture
async def phone(browser: Browser) -> AsyncIterator[Page]:
    """A page 360 pixels wide, as on a small phone, whose browser speaks Spanish."""
    context = await browser.new_context(viewport=PHONE, locale="es-ES")
    opened = await context.new_page()
    yield opened
    await context.close()


def page_records(preferred_language: str, time_zone: str) -> PageRecords:
    """What the page reads of its patient, Ana, in her language and zone, with no case manager
    yet: for the page's wording without a database."""
    return PageRecords(
        patient=PatientOnPage(
            patient_id="p",
            full_name="Ana",
            email="ana@example.org",
            preferred_language=preferred_language,
            time_zone=time_zone,
            case_manager_name="",
            case_manager_email="",
        )
    )


def page_url(app: ServedApp, driver: JourneyDriver) -> str:
    token = mint_patient_link(
        app.settings, journey_id=driver.journey_id, patient_id=driver.patient.id
    )
    return f"{app.url}/my-journey?token={token}"


async def emailed_link(driver: JourneyDriver, app: ServedApp, step: str) -> str:
    """The page's address as the email of `step` carries it, pointed at the served app."""

    async def find() -> str:
        for message in read_mailbox(driver.mail_dir):
            if f"<{driver.journey_id}.{step}@" in message["Message-ID"]:
                found = re.search(r"/my-journey\?token=[\w.-]+", text_of(message))
                return f"{app.url}{found.group(0)}" if found else ""
        return ""

    return await eventually(find, what=f"the {step} email with a link")


def journey_mail(driver: JourneyDriver) -> list[EmailMessage]:
    return [m for m in read_mailbox(driver.mail_dir) if driver.journey_id in m["Message-ID"]]


@dataclass(frozen=True)
class PatientPage(ServedPage):
    """The patient on her page, on the phone, in her journey."""

    journey: JourneyDriver

    async def open(self) -> None:
        """Her page, through a link minted now."""
        await self.page.goto(page_url(self.app, self.journey))

    async def open_emailed(self, step: str) -> None:
        """Her page, through the link the email of `step` carries."""
        await self.page.goto(await emailed_link(self.journey, self.app, step))


@pytest.fixture
def patient_page(
    phone: Page, served_app: ServedApp, driver: JourneyDriver, screenshot: Screenshot
) -> PatientPage:
    """The phone's page as the `driver` journey's patient opens it from the served app."""
    return PatientPage(phone, served_app, screenshot, driver)


async def outcome(page: Page) -> str:
    box = page.locator("#outcome")
    await expect(box).to_be_focused()
    return await box.inner_text()


async def send_checkin(phone: Page, *, hours: str, days: str, week: str | None = None) -> None:
    """The weekly check-in sent from the page in Spanish: for the week the form proposes, or
    `week` typed over it."""
    if week is not None:
        await phone.get_by_label("Semana (de 1 a 26)").fill(week)
    await phone.get_by_label(re.compile("^Horas diarias")).fill(hours)
    await phone.get_by_label("Días que hizo ejercicio esta semana").fill(days)
    await phone.get_by_role("button", name="Enviar mi control").click()


async def assert_accessible_as_served(page: Page, browser: Browser) -> None:
    """axe-core on a page whose context runs no script (axe is a script): the same HTML, laid
    out at the same width in a context that does."""
    html = await page.content()
    context = await browser.new_context(viewport=PHONE)
    try:
        copy = await context.new_page()
        await copy.set_content(html)
        await assert_accessible(copy)
    finally:
        await context.close()


async def rows(pool: asyncpg.Pool, table: str, journey_id: str) -> int:
    count: int = await pool.fetchval(
        f"SELECT count(*) FROM {table} WHERE journey_id = $1", uuid.UUID(journey_id)
    )
    return count
