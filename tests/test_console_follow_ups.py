"""Follow-up consults from the staff console's case page, in a real browser (Debian's chromium
through Playwright): a coordinator books one of the times offered for the patient, on the
phone with her, and the specialist it is booked with marks it missed once it has started,
which offers the patient new times."""

import re
import uuid
from datetime import timedelta

import asyncpg
import pytest
from playwright.async_api import Page, expect

from domain.actors import Role
from domain.follow_up import ConsultPhase
from tests.browser import (
    StaffPage,
    demo_member,
)
from tests.journeys import JourneyDriver
from tests.test_api_follow_ups import follow_up_bookings

pytestmark = pytest.mark.usefixtures("worker")


async def test_a_coordinator_books_and_the_specialist_marks_a_missed_follow_up(
    page: Page, staff_page: StaffPage, driver: JourneyDriver, pool: asyncpg.Pool
) -> None:
    j = await driver.start()
    await j.book_and_treat()
    # The demo specialist is the patient's: her follow-up times are theirs.
    specialist, _ = demo_member(Role.SPECIALIST)
    await pool.execute(
        "UPDATE journeys SET specialist_id = $2 WHERE journey_id = $1",
        uuid.UUID(j.journey_id),
        specialist,
    )
    p = j.policy
    await j.sleep(p.follow_up_offsets[0] - p.follow_up_offer_before + timedelta(hours=1))
    offered = await j.offered(1)
    assert {s.specialist_id for s in offered.offered} == {specialist}

    await staff_page.sign_in(Role.COORDINATOR)
    await page.goto(f"{staff_page.app.url}/staff/journeys/{j.journey_id}")
    actions = page.get_by_role("region", name="What you can do now")
    book = actions.get_by_role("region", name="Book a follow-up consult for the patient")
    times = book.get_by_role("group", name=re.compile(r"^Times offered for follow-up consult 1 \("))
    await expect(times.get_by_role("radio")).to_have_count(len(offered.offered))
    await expect(
        actions.get_by_role("region", name="Offer other times for a follow-up consult")
    ).to_contain_text("the times offered now are withdrawn")
    await staff_page.check("coordinator-follow-up-times")
    await times.get_by_role("radio").first.check()
    await book.get_by_role("button", name="Book a follow-up consult for the patient").click()
    await expect(page.get_by_role("status").filter(has_text="Done")).to_contain_text(
        "Done: Book a follow-up consult for the patient"
    )
    assert await follow_up_bookings(pool, j.journey_id) == {"follow-up-1-1": "active"}
    consults = page.get_by_role("region", name="Follow-up consults")
    await expect(consults.get_by_role("row").nth(1)).to_contain_text("Booked for")
    await expect(actions.get_by_role("region", name="Withdraw the journey")).to_contain_text(
        "cancels what is still booked"
    )
    await staff_page.snap("coordinator-follow-up-booked")
    booked = (await j.year()).consults[0].booking
    assert booked is not None

    await page.get_by_role("button", name="Sign out").click()
    # The demo specialist shares a name with the journey driver's: signed in by their id.
    await page.goto(f"{staff_page.app.url}/staff/sign-in")
    await page.locator(f'button[name="staff_id"][value="{specialist}"]').click()
    await page.wait_for_url(f"{staff_page.app.url}/staff/")
    await j.sleep(booked.starts_at - await j.now() + timedelta(minutes=10))
    await page.goto(f"{staff_page.app.url}/staff/journeys/{j.journey_id}")
    missed = page.get_by_role("region", name="The patient did not attend a follow-up consult")
    await expect(missed).to_contain_text("Follow-up consult 1, booked for")
    await staff_page.check("specialist-follow-up-no-show")
    await missed.get_by_role(
        "button", name="The patient did not attend a follow-up consult"
    ).click()
    await expect(page.get_by_role("status").filter(has_text="Done")).to_contain_text(
        "Done: The patient did not attend a follow-up consult"
    )
    again = (await j.year()).consults[0]
    assert again.phase is ConsultPhase.CHOOSING and again.no_shows == 1
    assert await follow_up_bookings(pool, j.journey_id) == {"follow-up-1-1": "cancelled"}
    await staff_page.snap("specialist-follow-up-no-show-done")
