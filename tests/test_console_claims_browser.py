"""Two reviewers on one case in real browsers (Debian's chromium through Playwright), against
the app served on loopback with the real worker on Temporal's time-skipping server: the second
sees that the first holds the case, on the worklist and on the case page, and the review form
they opened before the claim is refused with the holder's name, nothing sent to the journey."""

from collections.abc import AsyncIterator

import asyncpg
import httpx
import pytest
from playwright.async_api import Browser, Page, expect

from domain.actors import Role
from tests.api_people import staff
from tests.browser import Screenshot, ServedApp, assert_accessible, demo_member, sign_in_named
from tests.case_setup import inquiry
from tests.test_console_claims import SECOND, SECOND_NAME, add_second_reviewer

pytestmark = pytest.mark.usefixtures("worker")


@pytest.fixture
async def other_page(browser: Browser) -> AsyncIterator[Page]:
    """A second browser, with cookies of its own: another reviewer's desk."""
    context = await browser.new_context()
    yield await context.new_page()
    await context.close()


async def test_the_second_reviewer_sees_who_holds_the_case_and_cannot_review_it_unknowingly(
    page: Page,
    other_page: Page,
    served_app: ServedApp,
    http: httpx.AsyncClient,
    pool: asyncpg.Pool,
    screenshot: Screenshot,
) -> None:
    await add_second_reviewer(pool)
    jid = await inquiry(http, served_app.settings)
    reference = jid[:8].upper()
    _, first_name = demo_member(Role.REVIEWER)

    # The second reviewer opens the case while nobody has claimed it.
    second = other_page
    await sign_in_named(second, served_app.url, SECOND_NAME)
    await second.goto(f"{served_app.url}/staff/journeys/{jid}")
    claims = second.get_by_role("region", name="Claims")
    await expect(claims).to_contain_text("Nobody has claimed this case.")
    await expect(claims).to_contain_text("a claim lapses after 2 hours without action")
    review = second.get_by_role("region", name="Review the case")
    await review.get_by_role("radio", name="Approve").check()
    await screenshot(second, "second-reviewer-opens-the-case")
    await assert_accessible(second)

    # Meanwhile the first claims it from the worklist.
    first = page
    await sign_in_named(first, served_app.url, first_name)
    row = first.get_by_role("row").filter(has_text=reference)
    await row.get_by_role("button", name=f"Claim {reference}").click()
    await first.wait_for_url(f"{served_app.url}/staff/")
    row = first.get_by_role("row").filter(has_text=reference)
    await expect(row.get_by_role("cell").last).to_contain_text("You")
    await expect(row.get_by_role("cell").last).to_contain_text("since ")
    await expect(row.get_by_role("button", name=f"Claim {reference}")).to_have_count(0)
    await screenshot(first, "first-reviewer-claimed-from-the-worklist")
    await assert_accessible(first)

    # The second sends the review form they had open: refused, naming who holds the case.
    await review.get_by_role("button", name="Review the case").click()
    refusal = second.get_by_role("alert").filter(has_text="Not taken")
    await expect(refusal).to_contain_text(f"{first_name} has claimed this case since ")
    await expect(refusal).to_contain_text("nothing was changed")
    # The page now says who holds it, and offers no review form to send again.
    claims = second.get_by_role("region", name="Claims")
    await expect(claims).to_contain_text(f"{first_name} (Medical reviewer) has claimed this case")
    await expect(claims.get_by_role("button")).to_have_count(0)
    review = second.get_by_role("region", name="Review the case")
    await expect(review.get_by_role("button", name="Review the case")).to_have_count(0)
    await expect(review).to_contain_text(f"{first_name} has claimed this case since ")
    await screenshot(second, "second-reviewer-refused")
    await assert_accessible(second)
    status = await http.get(
        f"/api/v1/journeys/{jid}", headers=staff(served_app.settings, Role.COORDINATOR)
    )
    assert (status.json()["stage"], status.json()["waiting_on"]) == ("VALIDATION", "reviewer")

    # Their worklist shows the holder, and the case no longer waits on them.
    await second.goto(f"{served_app.url}/staff/")
    row = second.get_by_role("row").filter(has_text=reference)
    await expect(row.get_by_role("cell").last).to_contain_text(first_name)
    await expect(row.get_by_role("button")).to_have_count(0)
    await expect(second.get_by_role("status")).to_contain_text("Nothing here waits on you")
    await screenshot(second, "second-reviewer-worklist")
    await assert_accessible(second)
    # Opened afresh, the case says who may review it, in place of the form.
    await row.get_by_role("link", name=reference).click()
    review = second.get_by_role("region", name="Review the case")
    await expect(review).to_contain_text(
        f"Only {first_name}, who has claimed this case, can review it for now."
    )
    await expect(review.get_by_role("button")).to_have_count(0)
    await screenshot(second, "second-reviewer-case-held")
    await assert_accessible(second)

    # The first releases it; the second claims it from the case page and reviews it.
    await first.goto(f"{served_app.url}/staff/journeys/{jid}")
    mine = first.get_by_role("region", name="Claims")
    await expect(mine).to_contain_text("You have claimed this case since ")
    await screenshot(first, "first-reviewer-holds-the-case")
    await assert_accessible(first)
    await mine.get_by_role("button", name="Release my claim").click()
    await expect(first.get_by_role("region", name="Claims")).to_contain_text(
        "Nobody has claimed this case."
    )

    await second.goto(f"{served_app.url}/staff/journeys/{jid}")
    await (
        second.get_by_role("region", name="Claims")
        .get_by_role("button", name="Claim this case")
        .click()
    )
    await expect(second.get_by_role("region", name="Claims")).to_contain_text(
        "You have claimed this case since "
    )
    review = second.get_by_role("region", name="Review the case")
    await review.get_by_role("radio", name="Approve").check()
    await review.get_by_role("button", name="Review the case").click()
    await expect(second.get_by_role("status").filter(has_text="Done")).to_contain_text(
        "Done: Review the case"
    )
    await screenshot(second, "second-reviewer-reviewed")
    actions = await pool.fetch(
        "SELECT action, actor_id FROM audit_log WHERE action LIKE 'claim.%' ORDER BY seq"
    )
    first_id, _ = demo_member(Role.REVIEWER)
    assert [(r["action"], r["actor_id"]) for r in actions] == [
        ("claim.claimed", first_id),
        ("claim.released", first_id),
        ("claim.claimed", SECOND),
        ("claim.step_taken", SECOND),
    ]
