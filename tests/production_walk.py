"""A journey from the form to a booked consultation, as its people take it in browsers, on any
running stack: the production-shaped test walks it behind the TLS proxy, and

    .venv/bin/python -m tests.production_walk http://127.0.0.1:8000 .journeys/mail

walks it on a running `journeys dev` (the reviewer signing in on the development page), so the
two figures can be read side by side. Each walk keeps its time from the form to the booked
consultation and how long each request the people's browsers made took to answer.
"""

import asyncio
import json
import re
import statistics
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

from playwright.async_api import Page, Request, expect

from tests.helpers import eventually, read_mailbox, text_of

PATIENT = "Ngozi Okonkwo-Ibe"
PATIENT_EMAIL = "ngozi.okonkwo@example.org"
# How long an email, or a journey's move, may take to show (seconds), and a form's answer
# (milliseconds): generous, as other work may share the machine.
WAIT = 60.0
ANSWER_MS = 45_000


@dataclass
class Walk:
    """The stack's address and mailbox, the two people's pages, and what the walk measured."""

    url: str
    mail_dir: Path
    patient: Page
    reviewer: Page
    journey_id: str = ""
    started: float = field(default_factory=time.monotonic)
    steps: list[float] = field(default_factory=list)
    pages: list[float] = field(default_factory=list)

    @property
    def reference(self) -> str:
        return self.journey_id.split("-", 1)[0].upper()

    def measure(self, page: Page) -> None:
        """Keep how long each of the page's own requests (its documents and its forms, not
        their assets) took, from sending to the last byte of the answer."""

        def finished(request: Request) -> None:
            if request.resource_type != "document":
                return
            seconds = request.timing["responseEnd"] / 1000
            if seconds >= 0:
                (self.steps if request.method == "POST" else self.pages).append(seconds)

        page.on("requestfinished", finished)

    async def email(self, subject_part: str) -> str:
        async def find() -> str | None:
            for message in read_mailbox(self.mail_dir):
                if message["To"] == PATIENT_EMAIL and subject_part in message["Subject"]:
                    return text_of(message)
            return None

        found = await eventually(find, within=WAIT, what=f"the email {subject_part!r}")
        assert found is not None
        return found

    def patient_link(self, text: str) -> str:
        found = re.search(r"https?://\S+/my-journey\?token=[\w.-]+", text)
        assert found, "no link to the patient's page"
        assert found.group(0).startswith(f"{self.url}/my-journey?"), found.group(0)
        return found.group(0)

    def figures(self) -> dict[str, object]:
        def p95(values: list[float]) -> float | None:
            if len(values) < 2:
                return round(values[0], 3) if values else None
            return round(statistics.quantiles(values, n=20, method="inclusive")[-1], 3)

        return {
            "walk_seconds_form_to_booked_consultation": round(time.monotonic() - self.started, 2),
            "step_requests": len(self.steps),
            "step_answer_p95_seconds": p95(self.steps),
            "step_answer_max_seconds": round(max(self.steps), 3) if self.steps else None,
            "page_requests": len(self.pages),
            "page_p95_seconds": p95(self.pages),
        }


async def patient_sends_the_form(walk: Walk) -> str:
    """The form, sent; answers the acknowledgement's text."""
    page = walk.patient
    await page.goto(f"{walk.url}/")
    await page.get_by_label("Full name").fill(PATIENT)
    await page.get_by_label("Email").fill(PATIENT_EMAIL)
    await page.get_by_label("Phone, with country code").fill("+234 803 123 4567")
    await page.get_by_label("Country (two letters").fill("NG")
    await page.get_by_label("Preferred language").select_option(label="English")
    await page.get_by_label("Time zone").fill("Africa/Lagos")
    await page.get_by_label("Level of injury").fill("C7")
    await page.get_by_label("Complete or incomplete injury").select_option("incomplete")
    await page.get_by_label("Date of injury").fill("2023-08-02")
    await page.get_by_label("Cause").select_option("traffic")
    await page.get_by_role("checkbox", name=re.compile("I consent")).check()
    await page.get_by_role("button", name="Send my inquiry").click()
    await page.wait_for_url(re.compile(r"/submitted/[0-9a-f-]{36}\?"))
    walk.journey_id = page.url.rsplit("/", 1)[1].split("?")[0]
    return await walk.email(f"We received your inquiry (reference {walk.reference})")


async def reviewer_approves(walk: Walk) -> None:
    """The signed-in reviewer opens the case from the worklist and approves it."""
    page = walk.reviewer
    await page.goto(f"{walk.url}/staff/")
    await page.get_by_role("link", name=walk.reference).click()
    actions = page.get_by_role("region", name="What you can do now")
    review = actions.get_by_role("region", name="Review the case")
    await review.get_by_role("radio", name="Approve").check()
    await review.get_by_role("button", name="Review the case").click()
    await expect(page.get_by_role("status").filter(has_text="Done")).to_contain_text(
        "Done: Review the case", timeout=ANSWER_MS
    )


async def patient_books_a_consultation(walk: Walk) -> None:
    """From the email that offers times to her page, where she books the first one."""
    page = walk.patient
    proposals = await walk.email(
        f"Choose a time for your video consultation (reference {walk.reference})"
    )
    await page.goto(walk.patient_link(proposals))
    times = page.get_by_role("group", name=re.compile("Times available"))
    await times.get_by_role("radio").first.check()
    await page.get_by_role("button", name="Book this time").click()
    outcome = page.locator("#outcome")
    await expect(outcome).to_be_focused(timeout=ANSWER_MS)
    await expect(outcome).to_contain_text("Your video consultation is booked")


async def _walk_on_dev(url: str, mail_dir: Path) -> dict[str, object]:
    from playwright.async_api import async_playwright

    from domain.actors import Role
    from tests.browser import CHROMIUM, CHROMIUM_ARGS, sign_in_as

    async with async_playwright() as playwright:
        browser = await playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        patient = await (await browser.new_context(locale="en-GB")).new_page()
        reviewer = await (await browser.new_context(locale="en-GB")).new_page()
        walk = Walk(url, mail_dir, patient, reviewer)
        walk.measure(patient)
        walk.measure(reviewer)
        await patient_sends_the_form(walk)
        await sign_in_as(reviewer, url, Role.REVIEWER)
        await reviewer_approves(walk)
        await patient_books_a_consultation(walk)
        await browser.close()
        return walk.figures()


if __name__ == "__main__":
    print(json.dumps(asyncio.run(_walk_on_dev(sys.argv[1], Path(sys.argv[2]))), indent=2))
