"""After an erasure no door stays open: the patient's old link opens nothing (410, a page that
says the data was erased) and writes nothing, the coordinator cannot put an address back nor
mail a new link, the clinic's reference is read by nobody, and the journey's search attributes
say nothing more about the patient. Each door is tried before the erasure too, so the test
shows it was open."""

import asyncio
import json
import os
from dataclasses import dataclass
from pathlib import Path

import asyncpg
import httpx
import pytest
from temporalio.api.common.v1 import WorkflowExecution
from temporalio.api.workflowservice.v1 import DescribeWorkflowExecutionRequest
from temporalio.testing import WorkflowEnvironment

from api.patient_page.form_token import FIELD, form_token
from domain.actors import Role
from domain.names import JOURNEY_STAGE, PATIENT_COUNTRY, TREATMENT_DATE, journey_workflow_id
from domain.stages import Stage, WaitingOn
from domain.steps import ClinicConfirmation
from patient_links import mint_patient_link
from settings import Settings
from tests.api_people import staff
from tests.helpers import journeys_command, read_mailbox
from tests.journeys import COORDINATOR, JourneyDriver, add_staff
from tests.privacy_checks import histories_replay
from workflows.journey import PatientJourney

pytestmark = pytest.mark.usefixtures("worker")

CLINIC_REF = "SENTINEL-CLINIC-REF-5521"
REASON = "the patient's request by letter (GDPR Art. 17)"


async def _journey_in_travel(driver: JourneyDriver) -> JourneyDriver:
    """A journey whose clinic visit a coordinator confirmed, typing the clinic's reference."""
    j = await driver.start()
    await j.approve()
    await j.hold_consult()
    await j.accept_plan()
    await j.reach(Stage.TRAVEL, WaitingOn.PATIENT)
    await j.handle.execute_update(PatientJourney.travel_details, await j.travel_details())
    await j.reach(Stage.TRAVEL, WaitingOn.COORDINATOR)
    await j.handle.execute_update(
        PatientJourney.clinic_confirmation,
        ClinicConfirmation(actor=COORDINATOR, confirmed=True, clinic_reference=CLINIC_REF),
    )
    await j.reach(Stage.TRAVEL, WaitingOn.PATIENT)
    return j


async def _search_attributes(j: JourneyDriver) -> dict[str, object]:
    """The run's search attributes as the server holds them, an unset one as None: the
    time-skipping server keeps a cleared attribute as a null value, the real one drops it (and
    the SDK's typed reading cannot parse a null kept for a Datetime)."""
    described = await j.client.workflow_service.describe_workflow_execution(
        DescribeWorkflowExecutionRequest(
            namespace=j.client.namespace,
            execution=WorkflowExecution(workflow_id=journey_workflow_id(j.journey_id)),
        )
    )
    fields = described.workflow_execution_info.search_attributes.indexed_fields
    return {
        name: json.loads(fields[name].data) if name in fields and fields[name].data else None
        for name in (PATIENT_COUNTRY.name, TREATMENT_DATE.name, JOURNEY_STAGE.name)
    }


async def _patient_row(pool: asyncpg.Pool, journey_id: str) -> asyncpg.Record:
    row = await pool.fetchrow(
        """SELECT p.email, p.phone, p.preferred_language FROM patients p
             JOIN journeys j USING (patient_id) WHERE j.journey_id = $1""",
        journey_id,
    )
    assert row is not None
    return row


@dataclass(frozen=True)
class Erased:
    """An erased journey, and what was handed out before its erasure."""

    journey: JourneyDriver
    token: str
    day: str
    emails: int

    @property
    def base(self) -> str:
        return f"/api/v1/journeys/{self.journey.journey_id}"


@pytest.fixture
async def erased(
    api: httpx.AsyncClient, driver: JourneyDriver, settings: Settings, mail_dir: Path
) -> Erased:
    """A journey in TRAVEL, its doors tried open, then erased by a privacy officer."""
    j = await _journey_in_travel(driver)
    jid = j.journey_id
    base = f"/api/v1/journeys/{jid}"
    token = mint_patient_link(settings, journey_id=jid, patient_id=j.patient.id)
    assert (await api.get("/my-journey", params={"token": token})).status_code == 200
    assert (await api.get(base, params={"token": token})).status_code == 200
    timeline = await api.get(f"{base}/timeline", headers=staff(settings, Role.COORDINATOR))
    assert CLINIC_REF in timeline.text
    attributes = await _search_attributes(j)
    assert attributes[PATIENT_COUNTRY.name] == "ES"
    assert attributes[TREATMENT_DATE.name] is not None

    answer = await api.post(
        f"{base}/erasure", json={"reason": REASON}, headers=staff(settings, Role.PRIVACY_OFFICER)
    )
    assert answer.status_code == 200, answer.text
    return Erased(j, token, answer.json()["erased_at"][:10], len(read_mailbox(mail_dir)))


async def test_the_old_link_opens_nothing(
    erased: Erased, api: httpx.AsyncClient, pool: asyncpg.Pool
) -> None:
    jid = erased.journey.journey_id
    generation = "SELECT generation FROM patient_links WHERE journey_id = $1"
    assert await pool.fetchval(generation, jid) == 1, "the erasure revoked every link"
    page = await api.get("/my-journey", params={"token": erased.token})
    assert page.status_code == 410
    assert "Your personal data was erased" in page.text
    assert page.headers["cache-control"] == "no-store"
    spanish = await api.get(
        "/my-journey", params={"token": erased.token}, headers={"Accept-Language": "es"}
    )
    assert spanish.status_code == 410 and "Sus datos personales se han borrado" in spanish.text
    status = await api.get(erased.base, params={"token": erased.token})
    assert status.status_code == 410
    assert status.headers["content-type"] == "application/problem+json"
    assert status.json()["detail"] == f"the patient's data was erased on {erased.day}"


async def test_the_page_writes_no_language_on_the_erased_row(
    erased: Erased, api: httpx.AsyncClient, pool: asyncpg.Pool, settings: Settings
) -> None:
    jid = erased.journey.journey_id
    form = {FIELD: form_token(settings, link_token=erased.token, journey_id=jid), "language": "en"}
    chosen = await api.post("/my-journey/language", params={"token": erased.token}, data=form)
    assert chosen.status_code == 410
    assert "Your personal data was erased" in chosen.text
    assert (await _patient_row(pool, jid))["preferred_language"] == "und", "nothing written"


async def test_no_address_is_put_back_and_no_link_is_mailed(
    erased: Erased,
    api: httpx.AsyncClient,
    pool: asyncpg.Pool,
    settings: Settings,
    mail_dir: Path,
) -> None:
    jid = erased.journey.journey_id
    coordinator = staff(settings, Role.COORDINATOR)
    gone = f"the patient's data was erased on {erased.day}"
    contact = await api.post(
        f"{erased.base}/contact", json={"email": "back.again@example.org"}, headers=coordinator
    )
    assert contact.status_code == 410, contact.text
    assert contact.headers["content-type"] == "application/problem+json"
    assert contact.json()["detail"] == gone
    assert (await _patient_row(pool, jid))["email"] == ""

    renewed = await api.post(f"{erased.base}/patient-link", headers=coordinator)
    assert renewed.status_code == 410, renewed.text
    assert renewed.headers["content-type"] == "application/problem+json"
    assert renewed.json()["detail"] == gone
    generation = "SELECT generation FROM patient_links WHERE journey_id = $1"
    assert await pool.fetchval(generation, jid) == 1
    assert len(read_mailbox(mail_dir)) == erased.emails, "no email went out"

    env = os.environ | {"JOURNEYS_DATABASE_URL": settings.database_url or ""}
    printed = await asyncio.to_thread(journeys_command, "patient-link", jid, env=env)
    assert printed.returncode == 1, printed.stdout + printed.stderr
    assert printed.stdout == "" and f"erased on {erased.day}" in printed.stderr


async def test_nobody_reads_the_clinics_reference(
    erased: Erased,
    api: httpx.AsyncClient,
    temporal_env: WorkflowEnvironment,
    pool: asyncpg.Pool,
    settings: Settings,
) -> None:
    jid = erased.journey.journey_id
    coordinator = staff(settings, Role.COORDINATOR)
    timeline = await api.get(f"{erased.base}/timeline", headers=coordinator)
    assert timeline.status_code == 200, timeline.text
    assert CLINIC_REF not in timeline.text
    assert timeline.json()["shown"] == {"decided_values": True, "typed_values": False}
    steps = [e["what"] for e in timeline.json()["entries"] if e["kind"] == "step"]
    assert "clinic confirmation: confirmed" in steps, "what was decided stays for staff"
    case = await api.get(f"{erased.base}/case", headers=coordinator)
    assert case.status_code == 200 and CLINIC_REF not in case.text

    await add_staff(pool, "coord-1", "Ana Ruiz", "ana.ruiz@clinic.test", "coordinator")
    env = os.environ | {"JOURNEYS_DATABASE_URL": settings.database_url or ""}
    target = temporal_env.client.service_client.config.target_host
    for as_staff in ((), ("--as", "coord-1")):
        told = await asyncio.to_thread(
            journeys_command, "timeline", jid, "--address", target, "--json", *as_staff, env=env
        )
        assert told.returncode == 0, told.stderr
        assert CLINIC_REF not in told.stdout and "clinic confirmation: confirmed" in told.stdout


async def test_the_search_attributes_say_nothing_more_of_the_patient(
    erased: Erased, temporal_env: WorkflowEnvironment
) -> None:
    attributes = await _search_attributes(erased.journey)
    assert attributes[PATIENT_COUNTRY.name] is None
    assert attributes[TREATMENT_DATE.name] is None
    assert attributes[JOURNEY_STAGE.name] == "WITHDRAWN"
    # The history that cleared them replays against today's code.
    assert await histories_replay(temporal_env.client, erased.journey.journey_id) >= 1


async def test_without_the_database_the_command_leaves_the_reference_out(
    driver: JourneyDriver, temporal_env: WorkflowEnvironment, settings: Settings
) -> None:
    """`journeys timeline` cannot tell an erased journey without PostgreSQL, so it leaves out
    what staff typed about the patient; with it, it shows the reference of a journey that
    was not erased."""
    j = await _journey_in_travel(driver)
    target = temporal_env.client.service_client.config.target_host
    blind = await asyncio.to_thread(
        journeys_command, "timeline", j.journey_id, "--address", target, env=os.environ
    )
    assert blind.returncode == 0, blind.stderr
    assert CLINIC_REF not in blind.stdout
    assert "what staff typed about the patient left out" in blind.stdout
    env = os.environ | {"JOURNEYS_DATABASE_URL": settings.database_url or ""}
    seeing = await asyncio.to_thread(
        journeys_command, "timeline", j.journey_id, "--address", target, env=env
    )
    assert seeing.returncode == 0, seeing.stderr
    assert CLINIC_REF in seeing.stdout
