"""Staff act on journeys from the case page in a real browser (Debian's chromium through
Playwright): each form sends the API's own step, a refused one shows the journey's words
beside the form with what was typed kept, a taken one shows the journey's new state."""

import re
from datetime import timedelta

import asyncpg
import httpx
import pytest
from playwright.async_api import Page, expect

from domain.actors import Role
from domain.stages import Stage, WaitingOn
from tests.api_people import staff
from tests.browser import (
    StaffPage,
    assert_accessible,
    demo_member,
)
from tests.case_setup import inquiry, waiting_on
from tests.helpers import eventually
from tests.journeys import JourneyDriver

pytestmark = pytest.mark.usefixtures("worker")


async def test_a_case_link_opened_signed_out_opens_the_case_after_sign_in(
    page: Page, staff_page: StaffPage, http: httpx.AsyncClient
) -> None:
    """As from a staff email: the case's address, signed out, then sign-in, then the case."""
    jid = await inquiry(http, staff_page.app.settings)
    await page.goto(f"{staff_page.app.url}/staff/journeys/{jid}")
    await page.wait_for_url(f"{staff_page.app.url}/staff/sign-in?next=*")
    await staff_page.snap("sign-in-for-a-case")
    _, name = demo_member(Role.REVIEWER)
    await page.get_by_role("button", name=re.compile(rf"^Sign in as {re.escape(name)} \(")).click()
    await page.wait_for_url(f"{staff_page.app.url}/staff/journeys/{jid}")
    await expect(page.get_by_role("heading", level=1)).to_contain_text(jid[:8].upper())
    await expect(page.get_by_role("banner")).to_contain_text(f"Signed in as {name}")
    await staff_page.snap("case-after-sign-in")

    # A `next` pointing elsewhere is ignored: sign-in ends on the worklist.
    await page.get_by_role("button", name="Sign out").click()
    await page.goto(f"{staff_page.app.url}/staff/sign-in?next=//evil.example/staff/")
    await page.get_by_role("button", name=re.compile(rf"^Sign in as {re.escape(name)} \(")).click()
    await page.wait_for_url(f"{staff_page.app.url}/staff/")
    await expect(page.get_by_role("heading", level=1)).to_have_text("Worklist")


async def test_a_reviewer_approves_from_the_case_page_after_a_refusal(
    page: Page, staff_page: StaffPage, http: httpx.AsyncClient
) -> None:
    jid = await inquiry(http, staff_page.app.settings)
    await staff_page.sign_in(Role.REVIEWER)
    await staff_page.open_case(jid)
    actions = page.get_by_role("region", name="What you can do now")
    review = actions.get_by_role("region", name="Review the case")
    await expect(review).to_have_count(1)
    # A reviewer is offered the review only: no withdrawal, no assignment.
    await expect(actions.get_by_role("button")).to_have_count(1)
    await assert_accessible(page)

    # Refused by the step's own rules: a rejection needs a reason. The choice stays made.
    await review.get_by_role("radio", name="Reject").check()
    await review.get_by_role("button", name="Review the case").click()
    refusal = page.get_by_role("alert").filter(has_text="Not taken")
    await expect(refusal).to_contain_text("a rejection needs a reason")
    again = page.get_by_role("region", name="Review the case")
    await expect(again.get_by_role("radio", name="Reject")).to_be_checked()
    await staff_page.check("review-refused")

    review = page.get_by_role("region", name="Review the case")
    await review.get_by_role("radio", name="Approve").check()
    await review.get_by_role("button", name="Review the case").click()
    await expect(page.get_by_role("status").filter(has_text="Done")).to_contain_text(
        "Done: Review the case"
    )
    await expect(page.locator("#waiting")).not_to_contain_text("medical reviewer to review")
    timeline = page.get_by_role("region", name="Timeline")
    for worded in ("Inquiry sent", "Review the case: approved", "Validation, waiting on a medical"):
        await expect(timeline).to_contain_text(worded)
    for code in ("INQUIRY", "CASE_MANAGER", "review: approve", "inquiry submitted"):
        await expect(timeline).not_to_contain_text(code)
    await staff_page.snap("review-done")
    status = await http.get(
        f"/api/v1/journeys/{jid}", headers=staff(staff_page.app.settings, Role.COORDINATOR)
    )
    transitions = status.json()["transitions"]
    assert {"actor_role": "reviewer", "stage": "CASE_MANAGER"}.items() <= next(
        t for t in transitions if t["stage"] == "CASE_MANAGER"
    ).items(), "the history says the reviewer moved the journey on"


async def test_a_refused_step_is_worded_from_its_code_in_the_readers_zone(
    page: Page, staff_page: StaffPage, demo_journey: JourneyDriver
) -> None:
    j = await demo_journey.start()
    await j.approve()
    await j.book_first_slot()

    # Before the consultation has started, its outcome is refused.
    await staff_page.sign_in(Role.SPECIALIST)
    await staff_page.open_case(j.journey_id)
    outcome = page.get_by_role("region", name="Record the consultation outcome")
    await outcome.get_by_role("radio", name="Yes, with this plan").check()
    await outcome.get_by_label("Price").fill("24500")
    await outcome.get_by_role("button", name="Record the consultation outcome").click()
    refusal = page.get_by_role("alert").filter(has_text="Not taken")
    # The console's words for the code, with the start in the specialist's zone: not the
    # journey's English, which gives it in UTC.
    await expect(refusal).to_contain_text(
        "This can be recorded once the consultation has started: "
    )
    await expect(refusal).to_contain_text("(Europe/Madrid).")
    await expect(refusal).not_to_contain_text("UTC")
    await staff_page.check("outcome-before-the-consult")
    assert (await j.status()).stage is Stage.TELECONSULT


async def test_a_specialist_records_the_consult_outcome_with_a_plan(
    page: Page, staff_page: StaffPage, demo_journey: JourneyDriver, pool: asyncpg.Pool
) -> None:
    j = await demo_journey.start()
    await j.approve()
    starts_at = await j.book_first_slot()
    await j.sleep(starts_at - await j.now() + timedelta(minutes=5))

    await staff_page.sign_in(Role.SPECIALIST)
    await staff_page.open_case(j.journey_id)
    outcome = page.get_by_role("region", name="Record the consultation outcome")
    await outcome.get_by_role("radio", name="Yes, with this plan").check()
    await outcome.get_by_label("Price").fill("24500")
    await outcome.get_by_label("Notes for the plan").fill("Intrathecal, two-day visit")
    await outcome.get_by_role("button", name="Record the consultation outcome").click()
    await expect(page.get_by_role("status").filter(has_text="Done")).to_be_visible()
    await expect(page.locator("#waiting")).to_contain_text("Plan")
    await staff_page.check("outcome-done")
    status = await j.reach(Stage.PLAN, WaitingOn.PATIENT)
    assert status.transitions[-1].actor_role == "specialist"
    price = await pool.fetchval("SELECT price FROM treatment_plans")
    assert str(price) == "24500.00"


async def test_a_coordinator_records_the_admission_after_the_alert_and_resolves_an_incident(
    page: Page,
    staff_page: StaffPage,
    demo_journey: JourneyDriver,
    pool: asyncpg.Pool,
    http: httpx.AsyncClient,
) -> None:
    late = demo_journey
    await late.start()
    await late.book_the_trip()
    await late.sleep(timedelta(days=32))
    await late.reach(Stage.TREATMENT, WaitingOn.COORDINATOR)

    # A second journey held by an incident: no specialist can take its consultation.
    await pool.execute("UPDATE staff SET active = false WHERE role = 'specialist'")
    held = await inquiry(http, staff_page.app.settings)
    answer = await http.post(
        f"/api/v1/journeys/{held}/review",
        json={"outcome": "approve"},
        headers=staff(staff_page.app.settings, Role.REVIEWER),
    )
    assert answer.status_code == 200, answer.text

    async def incident() -> object:
        status = await http.get(
            f"/api/v1/journeys/{held}", headers=staff(staff_page.app.settings, Role.COORDINATOR)
        )
        return status.json().get("incident")

    await eventually(incident, what="the incident")

    await staff_page.sign_in(Role.COORDINATOR)
    await staff_page.open_case(late.journey_id)
    admission = page.get_by_role("region", name="Record the admission")
    await admission.get_by_role("button", name="Record the admission").click()
    await expect(page.get_by_role("status").filter(has_text="Done")).to_contain_text(
        "Record the admission"
    )
    await expect(page.get_by_role("region", name="Record the procedure")).to_have_count(1)
    await staff_page.snap("admission-done")
    status = await late.status()
    assert status.waiting_on is WaitingOn.CLINIC
    assert status.transitions[-1].actor_role == "coordinator"

    await pool.execute("UPDATE staff SET active = true WHERE role = 'specialist'")
    await staff_page.open_case(held)
    resolve = page.get_by_role("region", name="Resolve the incident")
    await expect(resolve).to_contain_text("No specialist")
    await resolve.get_by_role("radio", name="retry").check()
    await resolve.get_by_role("button", name="Resolve the incident").click()
    await expect(page.get_by_role("status").filter(has_text="Done")).to_be_visible()
    await staff_page.check("incident-resolved")
    await waiting_on(http, staff_page.app.settings, held, "patient")


async def test_withdrawing_asks_for_confirmation_and_lists_only_what_is_still_booked(
    page: Page, staff_page: StaffPage, demo_journey: JourneyDriver
) -> None:
    j = await demo_journey.start()
    await j.book_the_trip()

    await staff_page.sign_in(Role.COORDINATOR)
    await staff_page.open_case(j.journey_id)
    withdraw = page.get_by_role("region", name="Withdraw the journey")
    cancels = withdraw.locator("ul.hint")
    # The consultation is over: only the visit, the hotel and the transfers are still booked.
    await expect(cancels.get_by_role("listitem")).to_have_count(3)
    for kind in ("Clinic visit", "Hotel", "Airport transfers"):
        await expect(cancels).to_contain_text(kind)
    await expect(cancels).not_to_contain_text("Video consultation")
    button = withdraw.get_by_role("button", name="Withdraw the journey")
    await expect(button).to_have_class("danger")
    confirm = withdraw.get_by_role("checkbox", name="I confirm: withdraw this journey")
    await expect(confirm).to_have_attribute("required", "")
    await staff_page.check("withdraw-form")

    # Sent without the box ticked (the browser's own check taken away): refused, nothing done.
    await confirm.evaluate("box => box.removeAttribute('required')")
    await button.click()
    await expect(page.get_by_role("alert")).to_contain_text(
        "Tick the box to confirm the withdrawal: the journey was not withdrawn."
    )
    await staff_page.snap("withdraw-refused")
    assert (await j.status()).stage is Stage.TRAVEL

    withdraw = page.get_by_role("region", name="Withdraw the journey")
    await withdraw.get_by_role("checkbox", name="I confirm: withdraw this journey").check()
    await withdraw.get_by_role("button", name="Withdraw the journey").click()
    await expect(page.get_by_role("status").filter(has_text="Done")).to_contain_text(
        "Withdraw the journey"
    )
    await j.reach(Stage.WITHDRAWN)
    assert all(b.cancelled or b.completed for b in (await j.status()).bookings)


async def test_the_case_manager_form_preselects_nobody(
    page: Page, staff_page: StaffPage, demo_journey: JourneyDriver
) -> None:
    j = await demo_journey.start()
    await j.approve()
    before = await j.reach(Stage.TELECONSULT)
    assert before.case_manager_id

    await staff_page.sign_in(Role.COORDINATOR)
    await staff_page.open_case(j.journey_id)
    assign = page.get_by_role("region", name="Assign the case manager")
    choice = assign.get_by_label("Case manager")
    await expect(choice).to_have_value("")
    await expect(choice.locator("option:checked")).to_have_text("Choose a case manager")
    assert await choice.evaluate("s => s.required && s.validity.valueMissing")
    await staff_page.check("case-manager-form")

    # A click without a choice (the browser's check taken away) assigns nobody.
    await choice.evaluate("s => s.removeAttribute('required')")
    await assign.get_by_role("button", name="Assign the case manager").click()
    await expect(page.get_by_role("alert")).to_be_visible()
    assert (await j.status()).case_manager_id == before.case_manager_id

    assign = page.get_by_role("region", name="Assign the case manager")
    others = assign.locator("option:not([disabled]):not([value=''])")
    other = await others.first.get_attribute("value")
    assert other and other != before.case_manager_id
    await assign.get_by_label("Case manager").select_option(other)
    await assign.get_by_role("button", name="Assign the case manager").click()
    await expect(page.get_by_role("status").filter(has_text="Done")).to_be_visible()
    await eventually(j.status, until=lambda s: s.case_manager_id == other, what="reassigned")


async def test_a_coordinator_records_a_partners_answer_and_changes_the_dates(
    page: Page, staff_page: StaffPage, demo_journey: JourneyDriver
) -> None:
    trip = await demo_journey.start()
    await trip.book_the_trip(confirm_partners=False)
    await staff_page.sign_in(Role.COORDINATOR)
    await staff_page.open_case(trip.journey_id)
    summary = page.get_by_role("region", name="Summary")
    await expect(summary.get_by_text("not confirmed yet")).to_have_count(2)

    confirm = page.get_by_role("region", name="Record a partner's confirmation")
    await confirm.get_by_label("Request confirmed").select_option("hotel")
    await confirm.get_by_label("The partner's reference").fill("HX-4471")
    await confirm.get_by_label("Confirmed by (the partner's name)").fill("Marta, front desk")
    await confirm.get_by_role("button", name="Record a partner's confirmation").click()
    await expect(page.get_by_role("status").filter(has_text="Done")).to_be_visible()
    await expect(summary.get_by_text("confirmed by the partner")).to_have_count(1)
    travel = page.get_by_role("region", name="Travel", exact=True)
    await expect(travel).to_contain_text("reference HX-4471, confirmed by Marta, front desk")
    await expect(travel).to_contain_text("recorded by a coordinator")
    await staff_page.snap("partner-confirmed")

    # New dates the patient gave by phone, refused first: a departure before the arrival.
    change = page.get_by_role("region", name="Change the travel dates for the patient")
    arrival = (await trip.now()).date() + timedelta(days=40)
    await change.get_by_label("New arrival date").fill(arrival.isoformat())
    await change.get_by_label("New departure date").fill((arrival - timedelta(days=1)).isoformat())
    await change.get_by_role("button", name="Change the travel dates for the patient").click()
    refused = page.get_by_role("alert")
    await expect(refused).to_contain_text("at least three days after the arrival")
    await expect(change.get_by_label("New arrival date")).to_have_value(arrival.isoformat())
    await change.get_by_label("New departure date").fill((arrival + timedelta(days=4)).isoformat())
    await change.get_by_role("button", name="Change the travel dates for the patient").click()
    await expect(page.get_by_role("status").filter(has_text="Done")).to_be_visible()
    await staff_page.check("dates-changed")
    await trip.confirm_visit_if_asked()
    status = await eventually(
        trip.status,
        until=lambda s: s.task is not None and s.task.value == "travel_to_clinic",
        what="the new dates booked",
    )
    assert (await trip.bookings())["hotel-change-1"] == "active"
    actors = {t.actor_role for t in status.transitions if t.stage is Stage.TRAVEL}
    assert "coordinator" in actors
