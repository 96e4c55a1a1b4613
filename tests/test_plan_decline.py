"""A patient declines the treatment plan, from their page in a real browser (Debian's chromium
at phone width) and through the JSON API: the journey is withdrawn by the patient, with the
ending reason `plan_declined` (workflows/stages/travel.py, `plan`), waits on nobody, and the
patient gets the withdrawal email in their language. Nothing is booked at that point but the
consultation already held, which stays as it was: no cancellation goes out."""

import uuid

import asyncpg
import httpx
import pytest
from playwright.async_api import Page, expect

from domain.actors import Role
from domain.reasons import EndingReason
from domain.stages import Stage, WaitingOn
from settings import Settings
from tests.api_people import link, staff
from tests.helpers import text_of
from tests.journeys import JourneyDriver
from tests.patient_pages import PatientPage, outcome

pytestmark = pytest.mark.usefixtures("worker")


async def at_the_plan(driver: JourneyDriver, **form: str) -> None:
    """Reviewed, consulted, and offered a plan and quote that the patient now decides on."""
    await driver.start(**form)
    await driver.approve()
    await driver.hold_consult()
    await driver.reach(Stage.PLAN, WaitingOn.PATIENT)


async def assert_withdrawn_by_the_patient(driver: JourneyDriver, pool: asyncpg.Pool) -> None:
    """Ended as a withdrawal the patient made, declining the plan; the consultation, held, is
    neither cancelled nor told of."""
    status = await driver.reach(Stage.WITHDRAWN)
    assert status.waiting_on is WaitingOn.NONE and status.deadline is None
    assert status.ending_reason == EndingReason.PLAN_DECLINED
    assert status.transitions[-1].actor_role == "patient"
    assert (await driver.result()).stage is Stage.WITHDRAWN
    ended = await pool.fetchrow(
        "SELECT stage, reason, actor_role FROM stage_changes WHERE journey_id = $1 "
        "ORDER BY seq DESC LIMIT 1",
        uuid.UUID(driver.journey_id),
    )
    assert dict(ended) == {"stage": "WITHDRAWN", "reason": "plan_declined", "actor_role": "patient"}
    [consult] = status.bookings
    assert consult.completed and not consult.cancelled
    assert await driver.bookings() == {"consult-1": "active"}
    steps = driver.mail_kinds()
    assert steps[steps.index("plan-and-quote") + 1 :] == ["withdrawal"]


async def test_a_patient_declines_the_plan_from_their_page(
    phone: Page, patient_page: PatientPage, driver: JourneyDriver, pool: asyncpg.Pool
) -> None:
    await at_the_plan(driver)  # the form's patient: Spanish
    await patient_page.open_emailed("plan-and-quote")
    plan = phone.get_by_role("region", name="Su plan de tratamiento y su presupuesto")
    await expect(plan).to_contain_text(
        "Si lo rechaza, su proceso se cierra y se cancela lo que esté reservado."
    )
    understood = plan.get_by_role("checkbox", name="Lo entiendo y rechazo el plan")
    decline = plan.get_by_role("button", name="Rechazo el plan")
    await expect(understood).not_to_be_checked()
    await expect(understood).to_have_attribute("required", "")
    await patient_page.check("plan-to-decline")

    # Sent without the box ticked (the browser's own check taken away): refused, nothing done.
    await understood.evaluate("box => box.removeAttribute('required')")
    await decline.click()
    said = await outcome(phone)
    assert "Para rechazarlo, marque la casilla que indica que lo entiende." in said
    plan = phone.get_by_role("region", name="Su plan de tratamiento y su presupuesto")
    understood = plan.get_by_role("checkbox", name="Lo entiendo y rechazo el plan")
    await expect(understood).to_have_attribute("aria-invalid", "true")
    await expect(plan).to_contain_text("Marque esta casilla para rechazar el plan.")
    await patient_page.check("decline-unconfirmed")
    status = await driver.status()
    assert (status.stage, status.waiting_on) == (Stage.PLAN, WaitingOn.PATIENT)

    await understood.check()
    await plan.get_by_role("button", name="Rechazo el plan").click()
    said = await outcome(phone)
    assert "Ha rechazado el plan." in said
    assert "Su proceso está cerrado. Puede volver a escribirnos cuando quiera." in said
    await expect(
        phone.get_by_text("Su proceso se ha cerrado y se han cancelado todas las reservas.")
    ).to_be_visible()
    await expect(phone.get_by_role("button", name="Rechazo el plan")).to_have_count(0)
    await expect(phone.get_by_role("button", name="Acepto el plan")).to_have_count(0)
    await patient_page.check("plan-declined")

    await assert_withdrawn_by_the_patient(driver, pool)
    closed = await driver.emailed("withdrawal")
    reference = driver.journey_id.split("-", 1)[0].upper()
    assert closed["To"] == "ana.garcia@example.org"
    assert closed["Content-Language"] == "es"
    assert closed["Subject"] == f"Su proceso ha sido cerrado (referencia {reference})"
    assert "Motivo: a petición suya." in text_of(closed)
    steps = await pool.fetch(
        "SELECT action FROM audit_log WHERE journey_id = $1 AND actor_role = 'patient' "
        "AND action LIKE 'POST %' ORDER BY seq",
        uuid.UUID(driver.journey_id),
    )
    assert [r["action"] for r in steps] == ["POST /my-journey/plan", "POST /my-journey/plan"]


async def test_a_patient_declines_the_plan_through_the_api(
    api: httpx.AsyncClient,
    settings: Settings,
    driver: JourneyDriver,
    pool: asyncpg.Pool,
) -> None:
    await at_the_plan(driver, preferred_language="en", time_zone="America/New_York")
    base = f"/api/v1/journeys/{driver.journey_id}"
    patient = link(settings, driver.journey_id, driver.patient.id)

    declined = await api.post(f"{base}/plan/decision", json={"accept": False}, headers=patient)
    assert declined.status_code == 200, declined.text
    await assert_withdrawn_by_the_patient(driver, pool)

    seen_by_staff = await api.get(base, headers=staff(settings, Role.COORDINATOR))
    body = seen_by_staff.json()
    assert (body["stage"], body["waiting_on"], body["ending_reason"]) == (
        "WITHDRAWN",
        "none",
        "plan_declined",
    )
    mine = (await api.get(base, headers=patient)).json()
    assert mine["action_needed"] is False
    assert mine["message"] == "Your journey was closed and any bookings cancelled."

    closed = await driver.emailed("withdrawal")
    reference = driver.journey_id.split("-", 1)[0].upper()
    assert closed["Content-Language"] == "en"
    assert closed["Subject"] == f"Your journey has been closed (reference {reference})"
    assert "Reason: at your request." in text_of(closed)

    # The decision is taken once: a second one is refused, as any step of an ended journey.
    again = await api.post(f"{base}/plan/decision", json={"accept": True}, headers=patient)
    assert again.status_code == 409, again.text
    assert again.json()["code"] == "journey_ended"
    assert again.json()["params"]["stage"] == "WITHDRAWN"
    assert (await driver.status()).stage is Stage.WITHDRAWN
