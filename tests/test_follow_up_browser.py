"""The follow-up year on the case page, in a real browser (Debian's chromium through Playwright,
axe-core on every page shown): a specialist records outcomes on the clinical scales and sees
their trend, a score off its scale refused in the reader's language; a case manager sees the
weeks of rehabilitation against the rule of six, chart and table, and records what was agreed."""

import re
import uuid
from datetime import timedelta

import asyncpg
import pytest
from playwright.async_api import Page, expect

from domain.actors import Role
from domain.stages import WaitingOn
from tests.browser import StaffPage
from tests.helpers import eventually
from tests.journeys import JourneyDriver

pytestmark = pytest.mark.usefixtures("worker")

# The Spanish form's score fields, by the start of their labels (which end with the range).
UEMS = re.compile("^Puntuación motora de extremidades superiores")
LEMS = re.compile("^Puntuación motora de extremidades inferiores")
LIGHT_TOUCH = re.compile("^Puntuación de tacto ligero")
PIN_PRICK = re.compile("^Puntuación de pinchazo")
SCIM = re.compile("^Total de la SCIM III")


async def _discharged(j: JourneyDriver) -> JourneyDriver:
    await j.start()
    await j.book_and_treat()
    return j


async def test_a_specialist_records_outcomes_on_the_scales_and_sees_their_trend(
    page: Page, staff_page: StaffPage, demo_journey: JourneyDriver, pool: asyncpg.Pool
) -> None:
    j = await _discharged(demo_journey)
    await j.sleep(timedelta(days=12))
    await staff_page.sign_in(Role.SPECIALIST)
    await staff_page.open_case(j.journey_id)
    await page.get_by_role("button", name="Español").click()
    form = page.get_by_role("region", name="Registrar una consulta de seguimiento")
    await form.get_by_label("Consulta de seguimiento").select_option("1")
    await form.get_by_label("Grado de la escala de deficiencia ASIA").select_option("C")
    await form.get_by_label("Nivel neurológico de la lesión (si se ha determinado)").select_option(
        "T6"
    )
    await form.get_by_label(UEMS).fill("60")
    await form.get_by_label(LEMS).fill("8")
    await form.get_by_label(LIGHT_TOUCH).fill("74")
    await form.get_by_label(PIN_PRICK).fill("70")
    await form.get_by_role("button", name="Registrar una consulta de seguimiento").click()

    refusal = page.get_by_role("alert").filter(has_text="No se realizó")
    await expect(refusal).to_contain_text(
        "Indique la puntuación motora de las extremidades superiores (UEMS) con un número entero "
        "del 0 al 50."
    )
    await staff_page.check("score-off-its-scale")
    stored = await pool.fetchval(
        "SELECT count(*) FROM follow_up_outcomes WHERE journey_id = $1", uuid.UUID(j.journey_id)
    )
    assert stored == 0, "nothing stored"
    form = page.get_by_role("region", name="Registrar una consulta de seguimiento")
    await expect(form.get_by_label(LIGHT_TOUCH)).to_have_value("74")
    await form.get_by_label(UEMS).fill("24")
    await form.get_by_label(SCIM).fill("41")
    await form.get_by_role("button", name="Registrar una consulta de seguimiento").click()
    await expect(page.get_by_role("status").filter(has_text="Hecho")).to_be_visible()

    # Six weeks after the discharge, the second consult: recorded by its specialist too.
    await j.sleep(timedelta(days=30))
    await j.record_outcome(2)
    await page.get_by_role("button", name="English").click()
    outcomes = page.get_by_role("region", name="Follow-up outcomes")
    motor = outcomes.get_by_role("img", name="ISNCSCI motor scores at each follow-up consult")
    await expect(motor).to_be_visible()
    # The table is the chart's text alternative: every value, consult by consult.
    await expect(motor).to_have_attribute("aria-describedby", "outcomes-table")
    table = outcomes.get_by_role("table", name="Outcomes of the follow-up consults")
    await expect(table.get_by_role("row")).to_have_count(3)
    await expect(table.get_by_role("row").nth(1)).to_contain_text("T6")
    await expect(table.get_by_role("row").nth(1)).to_contain_text("41")
    await expect(motor.locator("circle")).to_have_count(4)
    await expect(motor).to_contain_text("2 weeks")
    await expect(motor).to_contain_text("6 weeks")
    scim = outcomes.get_by_role("img", name="SCIM III total at each follow-up consult")
    await expect(scim.locator("circle")).to_have_count(1)
    await staff_page.check("outcome-trend")


async def test_a_case_manager_sees_the_weeks_against_the_rule_of_six_and_records_what_was_agreed(
    page: Page, staff_page: StaffPage, demo_journey: JourneyDriver
) -> None:
    j = await _discharged(demo_journey)
    every = j.policy.rehab_checkin_every
    await j.sleep(every - timedelta(days=1))
    await j.check_in(1, hours="6.5", days=6)
    await j.sleep(every)
    await j.check_in(2, hours="4", days=6)
    await j.sleep(every)
    await j.check_in(3, hours="5", days=4, notes="Tired after the flight home.")
    await eventually(j.status, until=lambda s: s.waiting_on is WaitingOn.CASE_MANAGER)

    await staff_page.sign_in(Role.CASE_MANAGER)
    row = page.get_by_role("row").filter(has_text=j.journey_id[:8].upper())
    await expect(row).to_contain_text("Case manager")
    await staff_page.snap("worklist")
    await staff_page.open_case(j.journey_id)
    await expect(page.locator("#waiting")).to_contain_text("waiting on the case manager")
    rehab = page.get_by_role("region", name="Rehabilitation, week by week")
    await expect(rehab.locator("#rehab-follow-up")).to_contain_text(
        "Weeks 2, 3 fell short of the rule of six."
    )
    chart = rehab.get_by_role(
        "img",
        name="Hours a day and days a week of each week of rehabilitation, against the rule of six",
    )
    await expect(chart).to_have_attribute("aria-describedby", "rehab-table")
    await expect(chart.locator("line.target")).to_have_count(1)
    table = rehab.get_by_role("table", name="Weekly check-ins against the rule of six")
    rows = table.get_by_role("row")
    await expect(rows.nth(1)).to_contain_text("Met")
    await expect(rows.nth(2)).to_contain_text("Short")
    await expect(rows.nth(3)).to_contain_text("Short")
    await expect(rehab).to_contain_text("Tired after the flight home.")
    await staff_page.check("rehab-weeks")

    form = page.get_by_role("region", name="Record the rehabilitation follow-up")
    await form.get_by_role("radio", name="The plan was adjusted").check()
    await form.get_by_label("Note of the conversation").fill(
        "Four hours on weekdays until the knee settles; physiotherapist booked for Monday."
    )
    await form.get_by_role("button", name="Record the rehabilitation follow-up").click()
    await expect(page.get_by_role("status").filter(has_text="Done")).to_be_visible()
    await expect(page.locator("#waiting")).to_contain_text("waiting on the patient")
    done = page.get_by_role("region", name="Rehabilitation, week by week")
    await expect(done).to_contain_text("The plan was adjusted")
    await expect(done).to_contain_text("physiotherapist booked for Monday")
    await staff_page.check("follow-up-recorded")
    status = await j.status()
    assert status.waiting_on is WaitingOn.PATIENT
    assert status.transitions[-1].actor_role == "case_manager"
