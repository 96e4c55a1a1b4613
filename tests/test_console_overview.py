"""The console's overview in a real browser (Debian's chromium through Playwright), against the
app served on loopback: journeys written straight into PostgreSQL, as their workflows would
have left them, and the figures read off the page's charts and tables."""

import re
import uuid
from datetime import UTC, datetime, timedelta

import asyncpg
import pytest
from playwright.async_api import Locator, Page, expect

from api.console.overview import week_labels
from db.overview import week_starts
from domain.actors import Role
from i18n import format_day_month
from tests.browser import Screenshot, ServedApp, assert_accessible, demo_member, sign_in_as
from tests.journey_rows import add_journey

NOW = datetime.now(UTC)
DAY = timedelta(days=1)


async def _changes(pool: asyncpg.Pool, journey_id: str, **days_ago: int) -> None:
    """The journey's stage changes, in order, each so many days before now; the last one's
    reason is `financial` when it is a withdrawal."""
    await pool.executemany(
        """INSERT INTO stage_changes (journey_id, seq, stage, waiting_on, actor_id, actor_role,
                                      changed_at, reason)
           VALUES ($1, $2, $3, 'none', 'system', 'system', $4,
                   CASE WHEN $3 = 'WITHDRAWN' THEN 'financial' END)""",
        [
            (journey_id, seq, stage, NOW - days * DAY)
            for seq, (stage, days) in enumerate(days_ago.items(), start=1)
        ],
    )


@pytest.fixture
async def journeys(served_app: ServedApp, pool: asyncpg.Pool) -> None:
    """Three journeys with the reviewers, one in teleconsultation after two days of
    validation and one with its case manager, two travelling (one after six days of
    validation and eleven with its case manager, one held by an incident), one completed, two
    withdrawn for financial reasons; a review SLA missed this week."""
    for _ in range(3):
        await add_journey(pool)
    consult = await add_journey(pool, stage="TELECONSULT", waiting_on="patient")
    await _changes(pool, consult, INQUIRY=10, VALIDATION=10, CASE_MANAGER=8, TELECONSULT=7)
    travel = await add_journey(pool, stage="TRAVEL", waiting_on="patient")
    await _changes(pool, travel, INQUIRY=20, VALIDATION=20, CASE_MANAGER=14, TRAVEL=3)
    held = await add_journey(
        pool, stage="TRAVEL", waiting_on="coordinator", incident="clinic_refused"
    )
    await pool.execute(
        """INSERT INTO incidents (journey_id, workflow, number, kind, step, opened_at)
           VALUES ($1, 'journey', 1, 'clinic_refused', 'book:clinic-visit', $2)""",
        held,
        NOW - timedelta(minutes=1),
    )
    for stage in ("COMPLETED", "WITHDRAWN", "WITHDRAWN"):
        ended = await add_journey(pool, stage=stage, waiting_on="none", created_at=NOW - 200 * DAY)
        await _changes(pool, ended, **{stage: 2})
    await pool.execute(
        """INSERT INTO outbox (journey_id, step, kind, audience, message_id, created_at)
           VALUES ($1, 'review-escalation-1-1', 'review_escalation', 'medical_lead', $2, $3)""",
        uuid.UUID(consult),
        f"<{uuid.uuid4()}@test>",
        NOW - timedelta(minutes=1),
    )


async def _overview_reads(pool: asyncpg.Pool) -> list[tuple[str, str]]:
    """Who opened the overview and what they were answered, as the audit log keeps it."""
    rows = await pool.fetch(
        "SELECT actor_id, detail::text FROM audit_log WHERE action = 'GET /staff/overview'"
    )
    return [(r["actor_id"], r["detail"]) for r in rows]


async def _texts(chart: Locator) -> list[str]:
    """The words of an SVG chart in drawing order: each label, then its value."""
    return [text.strip() for text in await chart.locator("text").all_text_contents()]


async def _column_sums(table: Locator) -> list[int]:
    """Each numeric column of a table added up over its rows (twelve weeks)."""
    rows = [
        [int(cell.strip()) for cell in await row.locator("td").all_text_contents()]
        for row in await table.locator("tbody tr").all()
    ]
    assert len(rows) == 12
    return [sum(column) for column in zip(*rows, strict=True)]


@pytest.mark.usefixtures("journeys")
async def test_a_coordinator_reads_the_overview(
    page: Page, served_app: ServedApp, pool: asyncpg.Pool, screenshot: Screenshot
) -> None:
    await sign_in_as(page, served_app.url, Role.COORDINATOR)
    pages = page.get_by_role("navigation", name="Console pages")
    await pages.get_by_role("link", name="Overview").click()
    await page.wait_for_url(f"{served_app.url}/staff/overview")
    await expect(page.get_by_role("heading", level=1)).to_have_text("Overview")
    await expect(pages.get_by_role("link", name="Overview")).to_have_attribute(
        "aria-current", "page"
    )

    stages = page.get_by_role("img", name="Open journeys by stage")
    assert await _texts(stages) == [
        "Inquiry", "0",
        "Validation", "3",
        "Case manager", "0",
        "Teleconsultation", "1",
        "Plan", "0",
        "Travel", "2",
        "Treatment", "0",
        "Follow-up", "0",
    ]  # fmt: skip
    bars = stages.locator("rect")
    await expect(bars).to_have_count(3)
    widths = [float(await bar.get_attribute("width") or 0) for bar in await bars.all()]
    assert widths[0] == pytest.approx(3 * widths[1], rel=0.01)
    assert widths[2] == pytest.approx(2 * widths[1], rel=0.01)
    figures = page.get_by_role("table", name="Open journeys by stage")
    await expect(figures.get_by_role("row", name="Validation 3")).to_have_count(1)
    await expect(page.get_by_text("6 journeys are open.")).to_be_visible()

    times = page.get_by_role("table", name=re.compile("^Time spent in each stage"))
    # Stays of 2 and 6 days: the 90th percentile lies nine tenths of the way from one to
    # the other.
    await expect(
        times.get_by_role("row", name="Validation 2 4 days 5 days and 14 hours")
    ).to_have_count(1)
    await expect(times.get_by_role("row", name="Case manager 2 6 days 10 days")).to_have_count(1)
    durations = page.get_by_role("img", name=re.compile("^Median and 90th percentile"))
    assert "median 4d, 90th percentile 5d and 14h" in await _texts(durations)

    # Summed over the weeks: a test run just after midnight on a Monday still adds up.
    troubles = await _column_sums(
        page.get_by_role("table", name="Missed deadlines and incidents per week")
    )
    assert troubles == [1, 0, 0, 1, 1]
    assert await _column_sums(page.get_by_role("table", name="New journeys per week")) == [6]

    ended = page.get_by_role("img", name=re.compile("^Journeys ended in the last 90 days"))
    assert await _texts(ended) == ["Completed", "1", "Withdrawn: Financial reasons", "2"]
    await screenshot(page, "overview")
    await assert_accessible(page)

    assert await _overview_reads(pool) == [(demo_member(Role.COORDINATOR)[0], '{"status": 200}')]


@pytest.mark.usefixtures("journeys")
async def test_the_overview_in_spanish(
    page: Page, served_app: ServedApp, screenshot: Screenshot
) -> None:
    await sign_in_as(page, served_app.url, Role.MEDICAL_LEAD)
    await page.goto(f"{served_app.url}/staff/overview")
    await page.get_by_role("button", name="Español").click()
    await expect(page.get_by_role("heading", level=1)).to_have_text("Vista general")
    assert await page.get_attribute("html", "lang") == "es"
    stages = page.get_by_role("img", name="Procesos abiertos por etapa")
    assert (await _texts(stages))[:4] == ["Consulta", "0", "Validación", "3"]
    ended = page.get_by_role("img", name=re.compile("^Procesos terminados en los últimos 90 días"))
    assert "Retirado: Motivos económicos" in await _texts(ended)
    await expect(
        page.get_by_role("table", name=re.compile("^Tiempo en cada etapa"))
    ).to_contain_text("5 días y 14 horas")
    durations = page.get_by_role("img", name=re.compile("^Mediana y percentil 90"))
    assert "mediana 4d, percentil 90 5d y 14h" in await _texts(durations)
    # The weeks begin on Monday in the medical lead's zone, named as Spanish names them.
    mondays = week_starts(datetime.now(UTC), "Europe/Madrid")
    intake = page.get_by_role("img", name=re.compile("^Procesos iniciados"))
    weeks = await intake.locator("text.category").all_text_contents()
    assert weeks == week_labels(mondays, "es")
    assert weeks[0] == format_day_month(mondays[0], "es")
    await screenshot(page, "overview-spanish")
    await assert_accessible(page)


async def test_an_overview_with_nothing_yet_says_so(
    page: Page, served_app: ServedApp, screenshot: Screenshot
) -> None:
    await sign_in_as(page, served_app.url, Role.AUDITOR)
    await page.get_by_role("link", name="Overview").click()
    await expect(page.get_by_role("heading", level=1)).to_have_text("Overview")
    await expect(page.get_by_role("img")).to_have_count(0)
    for empty in (
        "No journey is open.",
        "No journey has left a stage in the last 90 days.",
        "No deadline was missed and no incident opened in the last 12 weeks.",
        "No journey started in the last 12 weeks.",
        "No journey ended in the last 90 days.",
    ):
        await expect(page.get_by_text(empty)).to_be_visible()
    await screenshot(page, "overview-empty")
    await assert_accessible(page)


async def test_a_reviewer_is_refused_the_overview(
    page: Page, served_app: ServedApp, pool: asyncpg.Pool, screenshot: Screenshot
) -> None:
    await sign_in_as(page, served_app.url, Role.REVIEWER)
    pages = page.get_by_role("navigation", name="Console pages")
    await expect(pages.get_by_role("link", name="Worklist")).to_be_visible()
    await expect(pages.get_by_role("link", name="Overview")).to_have_count(0)
    answer = await page.goto(f"{served_app.url}/staff/overview")
    assert answer is not None and answer.status == 403
    await expect(page.get_by_role("heading", level=1)).to_have_text("Not for your role")
    await expect(page.get_by_role("alert")).to_contain_text("Nothing was changed.")
    await screenshot(page, "overview-refused")
    await assert_accessible(page)
    assert await _overview_reads(pool) == [(demo_member(Role.REVIEWER)[0], '{"status": 403}')]
