"""The Temporal Web UI of `journeys dev`, as a coordinator signed in to the staff console opens
a journey in it: input, summary, current details and history decoded, with nothing set in the
UI. A reviewer, though the journey waits on them, sees them encoded: the codec server cannot
tell whose journey a payload is, so it decodes only for the roles that reach every journey. A
browser with no console session sees none decoded and the UI's codec error.

One `journeys dev` on free ports, Debian's chromium through Playwright; screenshots are kept
under test-output/browser/.
"""

import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from playwright.async_api import Browser, Page, Response, ViewportSize, expect

from domain.actors import Role
from domain.names import journey_workflow_id
from integrations.temporal_ui import journey_page
from tests.browser import Screenshot, sign_in_as
from tests.dev_process import Dev, dev_ports
from tests.helpers import eventually, valid_form

pytestmark = pytest.mark.e2e

# The UI's banner when its codec endpoint fails or refuses.
CODEC_ERROR = "Codec Server could not connect"
# The UI's words where a summary it could not decode would be.
NO_SUMMARY = "No summary available"
# The UI and its codec answer slowly on a busy machine; Playwright's default is 5 s.
UI_MS = 30_000
# Tall enough for the screenshots to show a journey's input and metadata whole: the UI scrolls
# inside its own frame, which a full-page screenshot does not unroll.
VIEWPORT = ViewportSize(width=1280, height=1400)


@pytest.fixture
def dev(tmp_path: Path) -> Iterator[Dev]:
    run = Dev(tmp_path / "state", dev_ports())
    try:
        run.wait_ready()
        yield run
    finally:
        if run.process.poll() is None:
            run.interrupt()


def _is_codec(ui: str) -> Any:
    return lambda response: response.url.startswith(f"{ui}/codec/")


async def _user_metadata(page: Page) -> None:
    await page.get_by_role("tab", name=re.compile(r"^User Metadata")).click()
    await expect(page.get_by_role("heading", name="Current Details")).to_be_visible(timeout=UI_MS)


async def _event_history(page: Page) -> None:
    await page.get_by_role("tab", name=re.compile(r"^Event History")).click()
    # The activity's type is never encoded: the rows are there.
    await expect(page.get_by_role("main")).to_contain_text("record_stage", timeout=UI_MS)


async def test_the_temporal_ui_decodes_for_the_console_session_and_no_one_else(
    dev: Dev, browser: Browser, screenshot: Screenshot
) -> None:
    api = f"http://127.0.0.1:{dev.ports['api']}"
    ui = f"http://127.0.0.1:{dev.ports['ui']}"
    printed = "".join(dev.output).splitlines()
    assert f"  Temporal Web UI   {ui}" in printed
    [codec_line] = [line for line in printed if "Codec server" in line]
    assert f"{ui}/codec" in codec_line and f"{api}/codec" in codec_line, codec_line

    async with httpx.AsyncClient(base_url=ui) as http:
        # As the UI comes: its codec endpoint on its own origin, and no credentials setting.
        codec = (await http.get("/api/v1/settings")).json()["Codec"]
        assert codec["Endpoint"] == f"{ui}/codec"
        assert codec["IncludeCredentials"] is codec["PassAccessToken"] is False

        answer = await http.post(f"{api}/api/v1/inquiries", json=valid_form())
        assert answer.status_code == 202, answer.text
        journey_id = answer.json()["journey_id"]
        workflow_id = journey_workflow_id(journey_id)

        async def in_validation() -> list[Any]:
            query = f"WorkflowId = '{workflow_id}' AND JourneyStage = 'VALIDATION'"
            listed = await http.get("/api/v1/namespaces/default/workflows", params={"query": query})
            return list(listed.json().get("executions", []))

        await eventually(in_validation, within=60, what="the journey waiting on a reviewer")
        history = (
            await http.get(f"/api/v1/namespaces/default/workflows/{workflow_id}/history")
        ).json()
    started = history["history"]["events"][0]["workflowExecutionStartedEventAttributes"]
    ciphertext = started["input"]["payloads"][0]["data"]
    page_url = journey_page(ui, "default", journey_id)

    # A coordinator: from the case page to the UI, which shows the journey decoded.
    coordinator = await browser.new_context(viewport=VIEWPORT)
    page = await coordinator.new_page()
    answers: list[int] = []
    page.on("response", lambda r: answers.append(r.status) if _is_codec(ui)(r) else None)
    await sign_in_as(page, api, Role.COORDINATOR)
    await page.goto(f"{api}/staff/journeys/{journey_id}")
    await page.get_by_role("link", name="Open this journey in the Temporal Web UI").click()
    await page.wait_for_url(f"{page_url}**")
    main = page.get_by_role("main")
    await expect(main).to_contain_text(f'"journey_id": "{journey_id}"', timeout=UI_MS)
    await screenshot(page, "coordinator-input")
    await _user_metadata(page)
    await expect(page.frame_locator("#user-metadata-summary").locator("body")).to_contain_text(
        f"Patient journey {journey_id}", timeout=UI_MS
    )
    await expect(
        page.frame_locator("#user-metadata-current-details").locator("body")
    ).to_contain_text("VALIDATION: waiting on a medical reviewer", timeout=UI_MS)
    await screenshot(page, "coordinator-user-metadata")
    await _event_history(page)
    summary = main.get_by_text("Record stage VALIDATION (reviewer)")
    await expect(summary).to_be_visible(timeout=UI_MS)
    await screenshot(page, "coordinator-event-history")
    await expect(page.get_by_text(CODEC_ERROR)).to_have_count(0)
    assert answers and set(answers) == {200}, answers
    await coordinator.close()

    # A reviewer: the codec answers, with every payload still encoded.
    reviewer = await browser.new_context(viewport=VIEWPORT)
    page = await reviewer.new_page()
    await sign_in_as(page, api, Role.REVIEWER)
    async with page.expect_response(_is_codec(ui), timeout=UI_MS) as first:
        await page.goto(page_url)
    assert (await first.value).status == 200
    main = page.get_by_role("main")
    await expect(main).to_contain_text(ciphertext[:40], timeout=UI_MS)
    await expect(main).not_to_contain_text(f'"journey_id": "{journey_id}"')
    await screenshot(page, "reviewer-input")
    await _user_metadata(page)
    await expect(main).to_contain_text(NO_SUMMARY, timeout=UI_MS)
    await expect(page.locator("iframe#user-metadata-summary")).to_have_count(0)
    await _event_history(page)
    await expect(main).not_to_contain_text("Record stage VALIDATION")
    await expect(page.get_by_text(CODEC_ERROR)).to_have_count(0)
    await reviewer.close()

    # No console session: the codec refuses, and the UI says so.
    nobody = await browser.new_context(viewport=VIEWPORT)
    page = await nobody.new_page()
    async with page.expect_response(_is_codec(ui), timeout=UI_MS) as first:
        await page.goto(page_url)
    refused: Response = await first.value
    assert refused.status == 401
    main = page.get_by_role("main")
    await expect(main.get_by_text(CODEC_ERROR)).to_be_visible(timeout=UI_MS)
    await expect(main).not_to_contain_text(f'"journey_id": "{journey_id}"')
    await _user_metadata(page)
    await expect(main).to_contain_text(NO_SUMMARY, timeout=UI_MS)
    await expect(page.locator("iframe#user-metadata-summary")).to_have_count(0)
    await screenshot(page, "no-session-user-metadata")
    await nobody.close()
