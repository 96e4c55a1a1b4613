"""The console's worklist and case page in a real browser (Debian's chromium through
Playwright), against the app served on loopback with the real worker on Temporal's
time-skipping server: journeys are made through the API as their people make them."""

import re
import struct
import uuid
import zlib
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal

import asyncpg
import httpx
import pytest
from playwright.async_api import Page, expect

from db.clinical import ClinicalRepository
from domain.actors import Role
from tests.browser import (
    Screenshot,
    ServedApp,
    StaffPage,
    assert_accessible,
    demo_member,
)
from tests.case_setup import journey_with_document
from tests.journey_rows import add_journey

pytestmark = pytest.mark.usefixtures("worker")

SENTINEL = "Zebulon Quartzfield"
HISTORY = "Sentinel history HX-4471: two years of rehabilitation, partial sensation below T6."


def _png(width: int = 48, height: int = 32) -> bytes:
    """A small grey PNG, as a scanned page would come: enough for the browser to show it."""

    def chunk(kind: bytes, data: bytes) -> bytes:
        body = kind + data
        return struct.pack(">I", len(data)) + body + struct.pack(">I", zlib.crc32(body))

    rows = b"".join(b"\x00" + bytes([180]) * width for _ in range(height))
    header = struct.pack(">IIBBBBB", width, height, 8, 0, 0, 0, 0)
    return (
        b"\x89PNG\r\n\x1a\n"
        + chunk(b"IHDR", header)
        + chunk(b"IDAT", zlib.compress(rows))
        + chunk(b"IEND", b"")
    )


@pytest.fixture
async def case(
    served_app: ServedApp, http: httpx.AsyncClient, pool: asyncpg.Pool
) -> tuple[str, str]:
    """A new inquiry back with the reviewer, with a scanned discharge summary, among journeys
    that wait on others (some overdue, one held by an incident)."""
    now = datetime.now(UTC)
    await add_journey(
        pool, waiting_on="patient", deadline=now - timedelta(days=3), case_manager="demo-cm-es"
    )
    await add_journey(
        pool,
        stage="TELECONSULT",
        waiting_on="specialist",
        deadline=now + timedelta(days=6),
        case_manager="demo-cm-en",
        specialist="demo-specialist",
        country="GB",
    )
    await add_journey(
        pool,
        stage="TRAVEL",
        waiting_on="coordinator",
        case_manager="demo-cm-en",
        incident="clinic_refused",
        country="MX",
    )
    await add_journey(pool, stage="COMPLETED", waiting_on="none", case_manager="demo-cm-es")
    return await journey_with_document(
        http,
        served_app.settings,
        filename="discharge-summary.png",
        content=_png(),
        content_type="image/png",
        full_name=SENTINEL,
        medical_history=HISTORY,
    )


def _reference(journey_id: str) -> str:
    return journey_id[:8].upper()


async def test_a_reviewer_finds_a_new_inquiry_first_and_reads_its_case(
    page: Page, staff_page: StaffPage, case: tuple[str, str], pool: asyncpg.Pool
) -> None:
    jid, document_id = case
    await staff_page.sign_in(Role.REVIEWER)
    table = page.get_by_role("table")
    first = table.locator("tbody tr").first
    await expect(first.get_by_role("rowheader")).to_have_text(_reference(jid))
    await expect(first).to_contain_text(SENTINEL)
    await expect(first).to_contain_text("You")
    await expect(page.get_by_role("status")).to_contain_text("1 journey waits on you")
    # A reviewer's worklist holds the cases in validation only: past it, a case is its
    # reviewer's, and none of these was decided by this one.
    await expect(table.locator("tbody tr")).to_have_count(2)
    await staff_page.check("worklist")

    await first.get_by_role("link", name=_reference(jid)).click()
    await page.wait_for_url(f"{staff_page.app.url}/staff/journeys/{jid}")
    await expect(page.get_by_role("heading", level=1)).to_have_text(f"Journey {_reference(jid)}")
    await expect(page.locator("#waiting")).to_contain_text(
        "Validation: waiting on a medical reviewer to review the case by "
    )
    await expect(page.locator("#waiting")).to_contain_text("(UTC)")
    patient = page.get_by_role("region", name="Patient")
    await expect(patient).to_contain_text(SENTINEL)
    await expect(patient).to_contain_text(HISTORY)
    await expect(page.get_by_role("region", name="Timeline")).to_contain_text(
        "Review the case: documents asked for"
    )
    await expect(page.locator("section#actions")).to_have_count(1)
    await staff_page.check("case")

    async with page.expect_response(re.compile(r"/documents/")) as opened:
        await page.get_by_role("link", name="discharge-summary.png").click()
    answer = await opened.value
    assert answer.status == 200 and answer.headers["content-type"] == "image/png"
    # Shown in the browser, sandboxed: whatever the file holds runs nothing in this origin.
    assert answer.headers["content-disposition"].startswith("inline;")
    assert answer.headers["content-security-policy"].startswith("sandbox")
    await expect(page.locator("img")).to_be_visible()
    await staff_page.snap("document")

    reviewer_id, _ = demo_member(Role.REVIEWER)
    rows = await pool.fetch(
        "SELECT actor_id, journey_id, detail::text FROM audit_log WHERE action = 'document.read'"
    )
    assert [(r["actor_id"], str(r["journey_id"])) for r in rows] == [(reviewer_id, jid)]
    assert document_id in rows[0]["detail"]


async def test_an_auditor_sees_no_patient_names(
    page: Page, staff_page: StaffPage, case: tuple[str, str]
) -> None:
    jid, _ = case
    await staff_page.sign_in(Role.AUDITOR)
    await expect(page.get_by_role("table").locator("tbody tr")).to_have_count(5)
    assert SENTINEL not in await page.locator("body").inner_text()
    await expect(page.get_by_role("columnheader", name="Patient")).to_have_count(0)
    await staff_page.check("worklist-auditor")

    await page.get_by_role("link", name=_reference(jid)).click()
    await page.wait_for_url(f"{staff_page.app.url}/staff/journeys/{jid}")
    text = await page.locator("body").inner_text()
    for secret in (SENTINEL, "HX-4471", "discharge-summary.png", "ana.garcia@example.org"):
        assert secret not in text, secret
    await expect(page.get_by_role("region", name="Patient")).to_contain_text(
        "Auditors see this journey by its reference only"
    )
    await expect(page.get_by_role("region", name="Timeline")).to_contain_text("review")
    await staff_page.check("case-auditor")


async def test_the_worklist_filters_without_javascript(
    page: Page, staff_page: StaffPage, case: tuple[str, str]
) -> None:
    jid, _ = case
    await page.context.set_extra_http_headers({})
    await staff_page.sign_in(Role.COORDINATOR)
    rows = page.get_by_role("table").locator("tbody tr")
    # The coordinator's own first: the journey held by an incident.
    await expect(rows.first).to_contain_text("Clinic refused")
    await expect(rows.first).to_contain_text("You")

    await page.get_by_label("Waiting on").select_option("reviewer")
    await page.get_by_role("button", name="Filter").click()
    await page.wait_for_url(re.compile(r"waiting_on=reviewer"))
    await expect(rows).to_have_count(1)
    await expect(rows.first.get_by_role("rowheader")).to_have_text(_reference(jid))

    async def filter_anew(*choices: tuple[str, str]) -> None:
        """Clears the filters, picks each (field, option as shown), filters: one row is left."""
        await page.get_by_role("link", name="Clear filters").click()
        for field, option in choices:
            await page.get_by_label(field).select_option(label=option)
        await page.get_by_role("button", name="Filter").click()
        await expect(rows).to_have_count(1)

    await filter_anew(("Deadline", "Overdue"), ("Case manager", "Lucía Romero"))
    await expect(rows.first).to_contain_text("late")
    await expect(rows.first).to_contain_text("Lucía Romero")

    await filter_anew(("Incident", "With an open incident"), ("Country", "Mexico"))
    await expect(rows.first).to_contain_text("Travel")

    await page.get_by_role("link", name="Clear filters").click()
    stages = page.get_by_role("navigation", name="Journeys per stage")
    await stages.get_by_role("link", name="Teleconsultation (1)").click()
    await expect(rows).to_have_count(1)
    await expect(stages.get_by_role("link", name="Teleconsultation (1)")).to_have_attribute(
        "aria-current", "page"
    )
    await staff_page.check("worklist-filtered")


async def test_the_console_speaks_spanish(
    page: Page,
    staff_page: StaffPage,
    case: tuple[str, str],
    pool: asyncpg.Pool,
    screenshot: Screenshot,
) -> None:
    jid, _ = case
    specialist, _ = demo_member(Role.SPECIALIST)
    # Booked with the specialist, as the journey records it once it offers their slots.
    await pool.execute(
        "UPDATE journeys SET specialist_id = $2 WHERE journey_id = $1", uuid.UUID(jid), specialist
    )
    await staff_page.sign_in(Role.SPECIALIST)
    # By the switch, kept in the session.
    await page.get_by_role("button", name="Español").click()
    await expect(page.get_by_role("heading", level=1)).to_have_text("Lista de trabajo")
    assert await page.get_attribute("html", "lang") == "es"
    await expect(page.get_by_role("columnheader", name="Etapa")).to_be_visible()
    # The specialist's record keeps Europe/Madrid.
    await expect(page.get_by_role("table")).to_contain_text("(Europe/Madrid)")
    await page.goto(f"{staff_page.app.url}/staff/journeys/{jid}")
    await expect(page.locator("#waiting")).to_contain_text(
        "Validación: esperando a un/a revisor/a médico/a para revisar el caso antes del"
    )
    await expect(page.get_by_role("region", name="Paciente")).to_contain_text(HISTORY)
    await staff_page.check("case-spanish")

    # Back to English by the switch; then the browser's Accept-Language alone.
    await page.get_by_role("button", name="English").click()
    await expect(page.get_by_role("heading", level=1)).to_have_text(f"Journey {_reference(jid)}")
    context = await page.context.browser.new_context(locale="es-ES")  # type: ignore[union-attr]
    spanish = await context.new_page()
    await sign_in_as_spanish(spanish, staff_page.app.url)
    await expect(spanish.get_by_role("heading", level=1)).to_have_text("Lista de trabajo")
    await screenshot(spanish, "worklist-spanish")
    await assert_accessible(spanish)
    await context.close()


async def sign_in_as_spanish(page: Page, base_url: str) -> None:
    """The development sign-in, read in Spanish: the browser asks for it."""
    _, name = demo_member(Role.CASE_MANAGER)
    await page.goto(f"{base_url}/staff/sign-in")
    await expect(page.get_by_role("heading", level=1)).not_to_have_text(
        "Sign in to the staff console"
    )
    await page.get_by_role("button", name=re.compile(re.escape(name))).click()
    await page.wait_for_url(f"{base_url}/staff/")


async def test_the_case_page_shows_the_plan_the_clinics_reports_and_the_follow_up(
    page: Page, staff_page: StaffPage, pool: asyncpg.Pool
) -> None:
    """A journey in its follow-up year, written straight into PostgreSQL (its workflow is not
    on this Temporal server, so the page also says the journey did not answer)."""
    jid = await add_journey(
        pool,
        stage="FOLLOW_UP",
        waiting_on="patient",
        deadline=datetime.now(UTC) + timedelta(days=2),
        case_manager="demo-cm-es",
        specialist="demo-specialist",
    )
    async with pool.acquire() as conn:
        records = ClinicalRepository(conn)
        await records.add_plan(
            journey_id=jid,
            specialist_id="demo-specialist",
            price=Decimal("24500.00"),
            currency="EUR",
            notes="Two-day visit; intrathecal.",
        )
        await records.add_travel_record(
            journey_id=jid,
            arrival_date=date(2026, 10, 4),
            departure_date=date(2026, 10, 9),
            arrival_flight="IB6402",
            departure_flight="IB6403",
            companions=1,
            needs_visa=True,
            notes="",
            submitted_by="patient",
        )
        await records.add_procedure_report(
            journey_id=jid,
            cells_given=150_000_000,
            route="intrathecal",
            minutes=45,
            lot="LOT-2026-11",
        )
        await records.add_adverse_event(
            journey_id=jid, severity="mild", description="Headache on day 2, resolved."
        )
        await records.add_follow_up_outcome(
            journey_id=jid,
            consult_no=1,
            scores={"trunk_control": 3, "sitting_balance": 4, "spasticity": 2},
            postural_hypotension=False,
        )
        await records.add_follow_up_outcome(
            journey_id=jid,
            consult_no=2,
            scores={"ais_grade": "C", "uems": 31, "lems": 12, "light_touch": 80, "pin_prick": 66},
        )
        await records.add_rehab_checkin(
            journey_id=jid, week=1, walking_hours_per_day=Decimal("5.5"), days_per_week=6
        )
    await staff_page.sign_in(Role.SPECIALIST)
    await page.goto(f"{staff_page.app.url}/staff/journeys/{jid}")
    await expect(page.get_by_role("alert").first).to_contain_text("did not answer just now")
    await expect(page.get_by_role("region", name="Plan and quote")).to_contain_text("€24,500.00")
    clinic = page.get_by_role("region", name="The clinic's reports")
    await expect(clinic).to_contain_text("150,000,000")
    await expect(clinic).to_contain_text("Headache on day 2")
    await expect(page.get_by_role("region", name="Travel")).to_contain_text("IB6402")
    follow_up = page.get_by_role("region", name="Follow-up outcomes")
    # A header and a row for each outcome: one on the 0 to 10 scores recorded before the
    # clinical scales, one on the scales, which the trend charts draw.
    await expect(follow_up.get_by_role("row")).to_have_count(3)
    await expect(follow_up.get_by_role("row").nth(2)).to_contain_text("C")
    await expect(
        follow_up.get_by_role("img", name="ISNCSCI motor scores at each follow-up consult")
    ).to_be_visible()
    rehab = page.get_by_role("region", name="Rehabilitation, week by week")
    await expect(rehab.get_by_role("row")).to_have_count(2)
    await staff_page.check("case-follow-up")

    await page.get_by_role("button", name="Español").click()
    await expect(page.get_by_role("region", name="Plan y presupuesto")).to_contain_text(
        "24.500,00 €"
    )
    await expect(page.get_by_role("region", name="Informes de la clínica")).to_contain_text(
        "150.000.000"
    )
