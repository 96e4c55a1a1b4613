"""Fixtures for browser tests: the real app served on a loopback port, Debian's chromium driven
by Playwright, signing in as demo staff, an axe-core check and screenshots kept for people.

Registered for every test module through `pytest_plugins` in tests/conftest.py. A test asks for
`served_app` (or `serve_app` with settings of its own), `page`, and `demo_journey` for a
journey in the care of the demo staff, then for example:

    name = await sign_in_as(page, served_app.url, Role.REVIEWER)
    await assert_accessible(page)
    await screenshot(page, "worklist")

or, through `staff_page` (the same page, served app and screenshots, as a `StaffPage`):

    await staff_page.sign_in(Role.REVIEWER)
    await staff_page.open_case(journey_id)
    await staff_page.check("case")  # a screenshot kept, and axe-core on the page
"""

import re
import shutil
import threading
import time
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import asyncpg
import httpx
import pytest
import uvicorn
from axe_playwright_python.async_playwright import Axe
from playwright.async_api import Browser, Page, async_playwright, expect
from temporalio.testing import WorkflowEnvironment

from api.app import create_app
from api.console.session import SessionStore
from api.tokens import Principal
from db.staff import StaffRepository
from devstack.demo_staff import DEMO_STAFF, seed_demo_staff
from devstack.ports import free_port
from domain.actors import Actor, Role
from settings import Settings
from tests.journeys import JourneyDriver
from tests.tls_certs import Issued

# Debian's chromium: Playwright's own browser download is neither wanted nor reachable.
CHROMIUM = "/usr/bin/chromium"
# Headless and quiet: without the background-networking switches chromium keeps calling out to
# its update and sync services, which a closed network answers with refusals and delays.
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
# Screenshots are kept here (git ignores it) for a person to look at after a run.
OUTPUT = Path(__file__).resolve().parents[1] / "test-output" / "browser"
# `await screenshot(page, "label")`: the `screenshot` fixture's callable.
Screenshot = Callable[[Page, str], Awaitable[Path]]
# axe-core impacts that fail a page.
FAILING_IMPACTS = frozenset({"serious", "critical"})


@dataclass(frozen=True)
class ServedApp:
    """The app answering on a loopback port, and the settings it runs with."""

    url: str
    settings: Settings


@pytest.fixture(scope="session")
async def browser() -> AsyncIterator[Browser]:
    # Never skipped: a machine without chromium fails here, saying what to install.
    if shutil.which(CHROMIUM) is None:
        pytest.fail(
            f"Debian's chromium is missing at {CHROMIUM}: install it with "
            "`apt-get install chromium` (.ci/run does before `make test`)"
        )
    async with async_playwright() as playwright:
        launched = await playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        yield launched
        await launched.close()


@pytest.fixture
async def page(browser: Browser) -> AsyncIterator[Page]:
    """A page in a browser context of its own: no cookies from other tests."""
    context = await browser.new_context()
    opened = await context.new_page()
    yield opened
    await context.close()


@pytest.fixture
def serve_uvicorn() -> Iterator[Callable[[uvicorn.Config], None]]:
    """Serves an app under uvicorn, as `config` says, in a thread of its own (its own event
    loop, like a separate server); returns once it listens, and stops it after the test."""
    servers: list[tuple[uvicorn.Server, threading.Thread]] = []

    def serve(config: uvicorn.Config) -> None:
        server = uvicorn.Server(config)
        thread = threading.Thread(target=server.run, daemon=True)
        thread.start()
        servers.append((server, thread))
        deadline = time.monotonic() + 30
        while not server.started:
            assert thread.is_alive(), "the server stopped while starting (see its log above)"
            assert time.monotonic() < deadline, "the server did not start within 30 s"
            time.sleep(0.02)

    yield serve
    for server, _ in servers:
        server.should_exit = True
    for _, thread in servers:
        thread.join(15)


@pytest.fixture
def serve_app(
    serve_uvicorn: Callable[[uvicorn.Config], None],
) -> Callable[..., ServedApp]:
    """Serves the real app with the given settings on a free loopback port (`serve_uvicorn`).

    `public_base_url` is set to the served address, so links and the OIDC redirect URL point
    at it. With `tls` (a certificate for 127.0.0.1 and its key) it serves HTTPS, as production
    must be reached: a browser context that opens it ignores the test CA it does not know.
    """

    def serve(settings: Settings, tls: Issued | None = None) -> ServedApp:
        port = free_port()
        url = f"{'https' if tls else 'http'}://127.0.0.1:{port}"
        served = settings.model_copy(update={"public_base_url": url})
        serve_uvicorn(
            uvicorn.Config(
                create_app(served),
                host="127.0.0.1",
                port=port,
                log_level="warning",
                ssl_certfile=tls.cert if tls else None,
                ssl_keyfile=tls.key if tls else None,
            )
        )
        return ServedApp(url=url, settings=served)

    return serve


@pytest.fixture
async def served_app(settings: Settings, serve_app: Callable[[Settings], ServedApp]) -> ServedApp:
    """The app in development with the demo staff in its database, as `journeys dev` runs it."""
    await seed_demo_staff(settings.require_database_url())
    return serve_app(settings)


@pytest.fixture
async def http(served_app: ServedApp) -> AsyncIterator[httpx.AsyncClient]:
    """A client of the served app over loopback, as a script or another system calls it."""
    async with httpx.AsyncClient(base_url=served_app.url, timeout=30) as client:
        yield client


@pytest.fixture
def demo_journey(
    served_app: ServedApp, temporal_env: WorkflowEnvironment, pool: asyncpg.Pool, mail_dir: Path
) -> JourneyDriver:
    """A journey to start on the served app's task queue, in the care of its demo staff."""
    return JourneyDriver(temporal_env, pool, served_app.settings.task_queue, mail_dir)


async def console_cookie(settings: Settings, staff_id: str) -> str:
    """The console's cookie for a session started on the server for `staff_id`, an active
    member of staff in the test's database, as signing in starts one."""
    store = SessionStore.from_settings(settings)
    pool = await asyncpg.create_pool(settings.require_database_url(), min_size=1, max_size=1)
    try:
        async with pool.acquire() as conn:
            member = await StaffRepository(conn).active_member(staff_id=staff_id)
        assert member is not None, f"{staff_id} is no active member of staff"
        principal = Principal(
            actor=Actor(id=member.staff_id, role=Role(member.role)), name=member.full_name
        )
        session = await store.start(pool, principal=principal, method="development", language=None)
    finally:
        await pool.close()
    return store.codec.dumps(session)


def demo_member(role: Role) -> tuple[str, str]:
    """The id and name of the first demo member of staff with `role`."""
    for member in DEMO_STAFF:
        if member.role == role.value:
            return member.staff_id, member.full_name
    raise LookupError(f"no demo staff with the role {role.value}")


async def sign_in_as(page: Page, base_url: str, role: Role) -> str:
    """Signs in on the development sign-in page as the demo member with `role`; returns their
    name once the console's first page shows them signed in."""
    _, name = demo_member(role)
    # Each role's first page: the directory for staff administrators, else the worklist.
    home = "directory" if role is Role.STAFF_ADMIN else ""
    await sign_in_named(page, base_url, name, home=home)
    return name


async def sign_in_named(page: Page, base_url: str, name: str, *, home: str = "") -> None:
    """Signs in on the development sign-in page as the active member of staff called `name`
    (a demo member, or one the test added); returns once their first page (`home`, under
    /staff/) shows."""
    await page.goto(f"{base_url}/staff/sign-in")
    await page.get_by_role("button", name=re.compile(rf"^Sign in as {re.escape(name)} \(")).click()
    await page.wait_for_url(f"{base_url}/staff/{home}")


@dataclass(frozen=True)
class ServedPage:
    """A page of the served app in the browser, and the screenshots kept of what it showed."""

    page: Page
    app: ServedApp
    screenshot: Screenshot

    async def snap(self, label: str) -> None:
        """A screenshot of the page as it is, kept for a person to look at."""
        await self.screenshot(self.page, label)

    async def check(self, label: str) -> None:
        """The page as it is: a screenshot kept, and axe-core run on it."""
        await self.snap(label)
        await assert_accessible(self.page)


@dataclass(frozen=True)
class StaffPage(ServedPage):
    """A member of staff at the console."""

    async def sign_in(self, role: Role) -> str:
        """Signed in as the demo member with `role` (`sign_in_as`); returns their name."""
        return await sign_in_as(self.page, self.app.url, role)

    async def open_case(self, journey_id: str) -> None:
        """The journey's case page, once its heading names the journey's reference."""
        await self.page.goto(f"{self.app.url}/staff/journeys/{journey_id}")
        await expect(self.page.get_by_role("heading", level=1)).to_contain_text(
            journey_id[:8].upper()
        )


@pytest.fixture
def staff_page(page: Page, served_app: ServedApp, screenshot: Screenshot) -> StaffPage:
    """The console on `page`, served by the app with the demo staff."""
    return StaffPage(page, served_app, screenshot)


async def assert_accessible(page: Page) -> None:
    """Runs axe-core (the script the axe-playwright-python package ships, no download) on the
    page as it is, and fails on any serious or critical violation."""
    results = await Axe().run(page)
    failing = [v for v in results.response["violations"] if v["impact"] in FAILING_IMPACTS]
    assert not failing, f"axe-core on {page.url}:\n" + "\n".join(
        f"- {v['id']} ({v['impact']}): {v['help']}; at "
        + ", ".join(str(node["target"]) for node in v["nodes"])
        for v in failing
    )


@pytest.fixture
def screenshot(request: pytest.FixtureRequest) -> Screenshot:
    """`await screenshot(page, "label")` saves the whole page under
    test-output/browser/<test>/, numbered in the order taken."""
    folder = OUTPUT / re.sub(r"[^\w.-]+", "_", request.node.name)
    shutil.rmtree(folder, ignore_errors=True)
    folder.mkdir(parents=True)
    taken: list[Path] = []

    async def take(page: Page, label: str) -> Path:
        path = folder / f"{len(taken) + 1:02d}-{label}.png"
        await page.screenshot(path=str(path), full_page=True)
        taken.append(path)
        return path

    return take
