"""The pages run under a strict Content-Security-Policy (no inline script or style, forms to
this origin), and their own scripts and styles still work under it; documents are sandboxed."""

from collections.abc import AsyncIterator

import httpx
import pytest
from playwright.async_api import Browser, ConsoleMessage, FilePayload, Page, expect

from api.security_headers import FILE_POLICY, page_policy
from domain.actors import Role
from domain.steps import DocumentKind
from tests.browser import ServedApp, sign_in_as
from tests.journeys import JourneyDriver
from tests.patient_pages import page_url

pytestmark = pytest.mark.usefixtures("worker")

POLICY = page_policy()


@pytest.fixture
async def watched(browser: Browser) -> AsyncIterator[tuple[Page, list[str]]]:
    """A page, and every console message and script error it gives: a policy violation is
    reported there ("Refused to execute inline script because it violates …")."""
    context = await browser.new_context()
    opened = await context.new_page()
    said: list[str] = []

    def note(message: ConsoleMessage) -> None:
        said.append(message.text)

    opened.on("console", note)
    opened.on("pageerror", lambda error: said.append(str(error)))
    yield opened, said
    await context.close()


def _violations(said: list[str]) -> list[str]:
    return [s for s in said if "Content Security Policy" in s or "Refused to" in s]


async def test_the_form_page_runs_under_the_policy(
    watched: tuple[Page, list[str]], served_app: ServedApp
) -> None:
    page, said = watched
    answer = await page.goto(f"{served_app.url}/")
    assert answer is not None
    assert answer.headers["content-security-policy"] == POLICY
    # Its stylesheet is applied: the body is as narrow as the sheet says.
    await expect(page.locator("body")).to_have_css("max-width", "704px")
    assert _violations(said) == []


async def test_the_patient_page_and_its_script_run_under_the_policy(
    watched: tuple[Page, list[str]], served_app: ServedApp, driver: JourneyDriver
) -> None:
    page, said = watched
    await driver.start()
    await driver.request_documents(DocumentKind.MRI)
    answer = await page.goto(page_url(served_app, driver))
    assert answer is not None
    assert answer.headers["content-security-policy"] == POLICY
    # The page's script checks files before they are sent: it runs.
    await page.get_by_label("Resonancia magnética de la columna").set_input_files(
        files=[FilePayload(name="programa.exe", mimeType="application/x-msdownload", buffer=b"MZ")]
    )
    await page.get_by_role("button", name="Enviar los documentos").click()
    await expect(page.locator("#upload-problem")).to_contain_text("programa.exe")
    assert _violations(said) == []


async def test_the_console_runs_under_the_policy(
    watched: tuple[Page, list[str]], served_app: ServedApp
) -> None:
    page, said = watched
    await sign_in_as(page, served_app.url, Role.COORDINATOR)
    for path in ("/staff/", "/staff/overview"):
        answer = await page.goto(f"{served_app.url}{path}")
        assert answer is not None
        assert answer.headers["content-security-policy"] == POLICY, path
        await expect(page.locator("body")).to_have_css("background-color", "rgb(246, 247, 249)")
    assert _violations(said) == []


async def test_an_inline_script_does_not_run(served_app: ServedApp, page: Page) -> None:
    """What the policy is for: markup that got into a page does not run."""
    await page.goto(f"{served_app.url}/")
    await page.evaluate(
        """() => {
            const script = document.createElement("script");
            script.textContent = "document.body.dataset.ran = 'yes'";
            document.body.appendChild(script);
        }"""
    )
    assert await page.evaluate("document.body.dataset.ran") is None


async def test_static_files_and_answers_are_not_sniffed(served_app: ServedApp) -> None:
    async with httpx.AsyncClient(base_url=served_app.url) as http:
        for path, kind in (("/static/patient.js", "javascript"), ("/static/site.css", "css")):
            answer = await http.get(path)
            assert answer.status_code == 200 and kind in answer.headers["content-type"]
            assert answer.headers["x-content-type-options"] == "nosniff"
        assert (await http.get("/healthz")).headers["x-content-type-options"] == "nosniff"


def test_a_file_is_sandboxed() -> None:
    assert FILE_POLICY.split(";")[0] == "sandbox"
