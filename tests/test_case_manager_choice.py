"""Who becomes a journey's case manager: among the active case managers who speak the patient's
language (else English), the one with the fewest open journeys, ties going to the staff id that
sorts first (db/staff.py, `least_loaded_case_manager`); when none fits, a coordinator chooses.
Real worker, PostgreSQL, SMTP, CalDAV and Temporal's time-skipping server; the console in
Debian's chromium."""

import json
from collections.abc import Callable
from datetime import timedelta
from pathlib import Path

import asyncpg
import httpx
import pytest
from playwright.async_api import Page, expect
from temporalio.api.common.v1 import WorkflowExecution
from temporalio.api.workflowservice.v1 import DescribeWorkflowExecutionRequest
from temporalio.testing import WorkflowEnvironment

from db.staff import StaffRepository
from domain.actors import Role
from domain.names import CASE_MANAGER, JOURNEY_STAGE, WAITING_ON
from domain.stages import Stage, Task, WaitingOn
from settings import Settings
from tests.api_people import staff
from tests.browser import StaffPage
from tests.helpers import text_of
from tests.journey_rows import add_journey
from tests.journeys import JourneyDriver, add_specialist

pytestmark = pytest.mark.usefixtures("worker")

NewJourney = Callable[[], JourneyDriver]


@pytest.fixture
def journey(
    temporal_env: WorkflowEnvironment, pool: asyncpg.Pool, settings: Settings, mail_dir: Path
) -> NewJourney:
    return lambda: JourneyDriver(temporal_env, pool, settings.task_queue, mail_dir)


async def directory(pool: asyncpg.Pool, *case_managers: tuple[str, list[str]]) -> None:
    """A specialist to offer consults, and these case managers (id, languages), in this order;
    each is reached at `<id>@clinic.test`."""
    async with pool.acquire() as conn:
        repo = StaffRepository(conn)
        await add_specialist(repo)
        for staff_id, languages in case_managers:
            await repo.add(
                staff_id=staff_id,
                full_name=f"Case manager {staff_id}",
                email=f"{staff_id}@clinic.test",
                role="case_manager",
                languages=languages,
            )


async def load(pool: asyncpg.Pool, who: str, *, open_: int, ended: int = 0) -> None:
    """Journeys already in a case manager's care: open ones, and ones that have ended."""
    for _ in range(open_):
        await add_journey(pool, stage="TELECONSULT", waiting_on="patient", case_manager=who)
    for stage in ("COMPLETED", "WITHDRAWN", "NOT_ELIGIBLE", "LOST_CONTACT")[:ended]:
        await add_journey(pool, stage=stage, waiting_on="none", case_manager=who)


async def shown(j: JourneyDriver) -> dict[str, object]:
    """The search attributes as the Temporal UI shows them, read from the raw description:
    the time-skipping server's unset datetimes do not parse as typed search attributes."""
    described = await j.client.workflow_service.describe_workflow_execution(
        DescribeWorkflowExecutionRequest(
            namespace=j.client.namespace, execution=WorkflowExecution(workflow_id=j.handle.id)
        )
    )
    fields = described.workflow_execution_info.search_attributes.indexed_fields
    return {name: json.loads(p.data) for name, p in fields.items() if p.data}


async def assigned_to(j: JourneyDriver) -> str:
    """Who the journey chose, as staff see it: its status, its search attribute, its email."""
    status = await j.reach(Stage.TELECONSULT, WaitingOn.PATIENT)
    chosen = status.case_manager_id
    assert chosen is not None
    assert (await shown(j))[CASE_MANAGER.name] == chosen
    assert (await j.emailed("case-assigned-1"))["To"] == f"{chosen}@clinic.test"
    return chosen


async def test_the_case_manager_with_fewer_open_journeys_is_chosen(
    journey: NewJourney, pool: asyncpg.Pool
) -> None:
    # Both speak Spanish. cm-busy sorts first and has fewer journeys in all, but more open
    # ones: ended journeys are no load. cm-idle has none, and speaks English only.
    await directory(pool, ("cm-busy", ["es", "en"]), ("cm-light", ["es"]), ("cm-idle", ["en"]))
    await load(pool, "cm-busy", open_=2)
    await load(pool, "cm-light", open_=1, ended=4)

    j = await journey().start()  # a Spanish-speaking patient
    await j.approve()
    assert await assigned_to(j) == "cm-light"


async def test_a_tie_goes_to_the_id_that_sorts_first_and_the_next_journey_to_the_other(
    journey: NewJourney, pool: asyncpg.Pool
) -> None:
    # Entered in the directory in the other order, so that order cannot be what decides.
    await directory(pool, ("cm-b", ["es"]), ("cm-a", ["es"]))
    await load(pool, "cm-b", open_=1)
    await load(pool, "cm-a", open_=1)

    first = await journey().start()
    await first.approve()
    assert await assigned_to(first) == "cm-a"
    second = await journey().start()
    await second.approve()
    assert await assigned_to(second) == "cm-b", "cm-a now has one journey more"


async def test_a_language_no_case_manager_speaks_goes_to_an_english_speaking_one(
    journey: NewJourney, pool: asyncpg.Pool
) -> None:
    await directory(pool, ("cm-en", ["en"]), ("cm-es", ["es"]))
    await load(pool, "cm-en", open_=3)

    j = await journey().start(preferred_language="de", country="DE", time_zone="Europe/Berlin")
    await j.approve()
    assert await assigned_to(j) == "cm-en", "English before a lighter load in another language"


async def coordinators_asked(j: JourneyDriver, settings: Settings) -> None:
    """The journey waits on a coordinator to assign a case manager, shows it in the Temporal
    UI, and has emailed the coordinators' mailbox, and no case manager."""
    status = await j.reach(Stage.CASE_MANAGER, WaitingOn.COORDINATOR)
    assert status.task is Task.ASSIGN_CASE_MANAGER
    assert status.case_manager_id is None and status.deadline is None
    attributes = await shown(j)
    assert attributes[JOURNEY_STAGE.name] == "CASE_MANAGER"
    assert attributes[WAITING_ON.name] == "coordinator"
    assert CASE_MANAGER.name not in attributes
    needed = await j.emailed("case-manager-needed")
    reference = j.journey_id.split("-", 1)[0].upper()
    assert needed["To"] == settings.staff_notify_email
    assert needed["Subject"] == f"Case {reference} needs a case manager"
    text = text_of(needed)
    assert "Please assign a case manager manually." in text
    assert f"/staff/journeys/{j.journey_id}" in text
    assert not any(s.startswith("case-assigned") for s in j.mail_kinds())


async def test_with_no_active_case_manager_a_coordinator_assigns_one(
    journey: NewJourney,
    pool: asyncpg.Pool,
    settings: Settings,
    api: httpx.AsyncClient,
) -> None:
    # Both case managers who would fit are on leave.
    await directory(pool, ("cm-es", ["es", "en"]), ("cm-en", ["en"]))
    await pool.execute("UPDATE staff SET active = false WHERE role = 'case_manager'")
    j = await journey().start()
    await j.approve()
    await coordinators_asked(j, settings)

    # The staff API lists it among the journeys waiting on a coordinator.
    coordinator = staff(settings, Role.COORDINATOR)
    listed = await api.get("/api/v1/journeys?waiting_on=coordinator", headers=coordinator)
    assert listed.status_code == 200, listed.text
    [item] = [i for i in listed.json()["items"] if i["journey_id"] == j.journey_id]
    assert (item["stage"], item["case_manager_id"]) == ("CASE_MANAGER", None)

    # It waits without a deadline: days later, still the coordinator's.
    await j.sleep(timedelta(days=5))
    assert (await j.status()).waiting_on is WaitingOn.COORDINATOR

    base = f"/api/v1/journeys/{j.journey_id}"
    refused = await api.post(
        f"{base}/case-manager", json={"case_manager_id": "cm-en"}, headers=coordinator
    )
    assert refused.status_code == 422
    assert "cm-en is not an active case manager" in refused.json()["detail"]
    assert refused.json()["code"] == "case_manager_inactive"
    assert (await j.status()).stage is Stage.CASE_MANAGER

    # Back from leave, and assigned by the coordinator: the journey moves on.
    await pool.execute("UPDATE staff SET active = true WHERE staff_id = 'cm-es'")
    assigned = await api.post(
        f"{base}/case-manager", json={"case_manager_id": "cm-es"}, headers=coordinator
    )
    assert assigned.status_code == 200, assigned.text
    assert await assigned_to(j) == "cm-es"
    told = await j.emailed("case-assigned-1")
    assert told["Content-Language"] == "es", "she works in Spanish first"
    assert "case-manager-intro-1" in j.mail_kinds()
    entered = [t for t in (await j.status()).transitions if t.stage is Stage.TELECONSULT]
    assert entered, "the journey went on to the teleconsultation"


async def test_when_none_speaks_the_language_the_console_shows_it_and_a_coordinator_assigns(
    page: Page, staff_page: StaffPage, demo_journey: JourneyDriver, pool: asyncpg.Pool
) -> None:
    # The demo's Spanish and English case managers are away; those at work speak neither the
    # patient's Spanish nor English.
    await pool.execute("UPDATE staff SET active = false WHERE role = 'case_manager'")
    await directory(pool, ("cm-fr", ["fr"]), ("cm-de", ["de"]))
    j = await demo_journey.start()
    await j.approve()
    await coordinators_asked(j, staff_page.app.settings)
    reference = j.journey_id.split("-", 1)[0].upper()

    await staff_page.sign_in(Role.COORDINATOR)
    await page.goto(f"{staff_page.app.url}/staff/?waiting_on=coordinator")
    await expect(page.get_by_role("status")).to_contain_text("1 journey waits on you or your role")
    row = page.get_by_role("row").filter(has=page.get_by_role("link", name=reference))
    await expect(row).to_contain_text("Case manager")
    await expect(row).to_contain_text("Coordinator")
    await expect(row).to_contain_text("Not assigned yet")
    await staff_page.check("worklist-waiting-on-coordinator")

    await row.get_by_role("link", name=reference).click()
    await expect(page.locator("#waiting")).to_contain_text(
        "Case manager: waiting on a coordinator to assign a case manager."
    )
    assign = page.get_by_role("region", name="Assign the case manager")
    choice = assign.get_by_label("Case manager")
    await expect(choice.locator("option:not([value=''])")).to_have_text(
        ["Case manager cm-de", "Case manager cm-fr"]
    )
    await staff_page.check("case-waiting-for-a-case-manager")
    await choice.select_option("cm-fr")
    await assign.get_by_role("button", name="Assign the case manager").click()
    await expect(page.get_by_role("status").filter(has_text="Done")).to_contain_text(
        "Assign the case manager"
    )
    await staff_page.snap("case-manager-assigned")

    assert await assigned_to(j) == "cm-fr"
    told = await j.emailed("case-assigned-1")
    assert told["Content-Language"] == "en", "no French catalogue: English"
    await page.reload()
    await expect(page.locator("#waiting")).not_to_contain_text("to assign a case manager")
    await expect(page.locator("#waiting")).to_contain_text("Teleconsultation")
