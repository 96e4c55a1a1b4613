"""Incidents through the API: a coordinator sees one, corrects the patient's contact and
resolves it; steps whose answer is lost keep their records; coordinators record the clinic's
events when the clinic reports by phone."""

import uuid
from datetime import timedelta
from pathlib import Path

import asyncpg
import httpx
import pytest
from temporalio.client import WorkflowExecutionStatus
from temporalio.testing import WorkflowEnvironment

from api.app import create_app
from domain.actors import Role
from settings import Settings
from tests.api_people import staff
from tests.faults import USER_UNKNOWN, RefusingMailbox, start_refusing_mailbox
from tests.helpers import current_details, eventually, read_mailbox, valid_form
from tests.journeys import JourneyDriver, assert_no_needles, seed_staff
from worker import running_worker

SENTINEL_ADDRESS = "zq.api.sentinel@refused.example"


async def _status(api: httpx.AsyncClient, settings: Settings, jid: str) -> dict:
    answer = await api.get(f"/api/v1/journeys/{jid}", headers=staff(settings, Role.COORDINATOR))
    assert answer.status_code == 200, answer.text
    body: dict = answer.json()
    return body


async def test_a_coordinator_corrects_the_address_and_retries(
    api: httpx.AsyncClient,
    settings: Settings,
    pool: asyncpg.Pool,
    relay: RefusingMailbox,
    temporal_env: WorkflowEnvironment,
) -> None:
    await seed_staff(pool)
    relay.refuse("refused.example", USER_UNKNOWN)
    jid = (await api.post("/api/v1/inquiries", json=valid_form(email=SENTINEL_ADDRESS))).json()[
        "journey_id"
    ]
    base = f"/api/v1/journeys/{jid}"
    coordinator = staff(settings, Role.COORDINATOR)
    status = await eventually(
        lambda: _status(api, settings, jid), until=lambda s: s["incident"] is not None
    )
    assert (status["stage"], status["waiting_on"]) == ("INQUIRY", "coordinator")
    assert status["incident"]["kind"] == "email_refused"
    assert status["incident"]["actions"] == ["retry", "skip", "withdraw"]

    # Bad corrections change nothing.
    for body in ({}, {"email": "not an address"}, {"phone": "12"}, {"email": None}):
        answer = await api.post(f"{base}/contact", json=body, headers=coordinator)
        assert answer.status_code == 422, (body, answer.text)
    assert (
        await pool.fetchval(
            "SELECT email FROM patients p JOIN journeys j USING (patient_id) WHERE journey_id = $1",
            uuid.UUID(jid),
        )
        == SENTINEL_ADDRESS
    )
    answer = await api.post(
        f"{base}/incident/resolution",
        json={"action": "retry", "incident_number": 2},
        headers=coordinator,
    )
    assert answer.status_code == 409
    assert (answer.json()["code"], answer.json()["params"]) == (
        "incident_superseded",
        {"incident_number": 2, "open_incident": 1},
    )

    answer = await api.post(
        f"{base}/contact", json={"email": "ana.fixed@example.org"}, headers=coordinator
    )
    assert answer.status_code == 200, answer.text
    assert answer.json()["email"] == "ana.fixed@example.org"
    answer = await api.post(
        f"{base}/incident/resolution",
        json={"action": "retry", "incident_number": 1},
        headers=coordinator,
    )
    assert answer.status_code == 200, answer.text
    assert answer.json()["incident"] is None
    await eventually(
        lambda: _status(api, settings, jid),
        until=lambda s: (s["stage"], s["waiting_on"]) == ("VALIDATION", "reviewer"),
    )
    acknowledged = [
        m
        for m in read_mailbox(relay.directory)
        if m["Message-ID"].strip().startswith(f"<{jid}.acknowledgement@")
    ]
    assert [m["To"] for m in acknowledged] == ["ana.fixed@example.org"]

    # Nothing left to resolve now; the audit log names who corrected the contact.
    answer = await api.post(
        f"{base}/incident/resolution", json={"action": "retry"}, headers=coordinator
    )
    assert answer.status_code == 409
    assert answer.json()["code"] == "no_open_incident"
    actions = await pool.fetch(
        "SELECT actor_id, action FROM audit_log WHERE journey_id = $1 AND action LIKE '%contact'",
        uuid.UUID(jid),
    )
    assert {(r["actor_id"], r["action"]) for r in actions} == {
        ("coord-1", "POST /api/v1/journeys/{journey_id}/contact")
    }
    await assert_no_needles(temporal_env.client, jid, [SENTINEL_ADDRESS])


async def test_a_step_whose_answer_is_lost_keeps_its_records(
    settings: Settings,
    pool: asyncpg.Pool,
    dev_env: WorkflowEnvironment,
    mail_dir: Path,
) -> None:
    """No worker answers: the upload answers 504 and keeps the documents (the journey may have
    taken them), and says to read the status before sending again, which is what then works.
    On the dev server, which hands a journey whose worker went away to the next one, as a
    production server does."""
    await seed_staff(pool)
    temporal_env = dev_env
    quick = settings.model_copy(
        update={
            "step_answer_seconds": 2.0,
            "temporal_address": dev_env.client.service_client.config.target_host,
        }
    )
    app = create_app(quick)
    async with app.router.lifespan_context(app):
        http = httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://t")
        async with running_worker(temporal_env.client, settings=quick, pool=pool):
            jid = (await http.post("/api/v1/inquiries", json=valid_form())).json()["journey_id"]
            await eventually(
                lambda: _status(http, quick, jid), until=lambda s: s["waiting_on"] == "reviewer"
            )
            answer = await http.post(
                f"/api/v1/journeys/{jid}/review",
                json={"outcome": "request_documents", "documents": ["mri"]},
                headers=staff(quick, Role.REVIEWER),
            )
            assert answer.status_code == 200, answer.text
            await eventually(
                lambda: _status(http, quick, jid), until=lambda s: s["waiting_on"] == "patient"
            )
        answer = await http.post(
            f"/api/v1/journeys/{jid}/documents",
            data={"kind": "mri"},
            files={"files": ("mri.pdf", b"%PDF-1.4 scan", "application/pdf")},
            headers=staff(quick, Role.COORDINATOR),
        )
        assert answer.status_code == 504, answer.text
        assert "read the journey's status" in answer.json()["detail"]
        assert answer.headers["retry-after"] == "10"
        kept = await pool.fetchval(
            "SELECT count(*) FROM documents WHERE journey_id = $1", uuid.UUID(jid)
        )
        assert kept == 1
        async with running_worker(temporal_env.client, settings=quick, pool=pool):
            # What the status says decides: an upload the journey never saw is sent again.
            async def status() -> dict:
                answer = await http.get(
                    f"/api/v1/journeys/{jid}", headers=staff(quick, Role.COORDINATOR)
                )
                return answer.json()

            seen = await eventually(status, until=lambda s: "waiting_on" in s, within=30)
            if seen["waiting_on"] == "patient":
                # The first upload may still reach the journey meanwhile: then the second is
                # refused as not expected, and its documents are not kept.
                answer = await http.post(
                    f"/api/v1/journeys/{jid}/documents",
                    data={"kind": "mri"},
                    files={"files": ("mri.pdf", b"%PDF-1.4 scan", "application/pdf")},
                    headers=staff(quick, Role.COORDINATOR),
                )
                assert answer.status_code in (200, 409), answer.text
                stored = await pool.fetchval(
                    "SELECT count(*) FROM documents WHERE journey_id = $1", uuid.UUID(jid)
                )
                assert stored == (2 if answer.status_code == 200 else 1)
            await eventually(
                status,
                until=lambda s: (s["stage"], s["waiting_on"]) == ("VALIDATION", "reviewer"),
                within=30,
            )
        await http.aclose()


@pytest.mark.usefixtures("worker")
async def test_a_coordinator_records_the_clinics_events_after_the_admission_alert(
    api: httpx.AsyncClient,
    settings: Settings,
    pool: asyncpg.Pool,
    driver: JourneyDriver,
) -> None:
    j = await driver.start()
    await j.book_the_trip()
    await j.sleep(timedelta(days=32))
    status = await _status(api, settings, j.journey_id)
    assert (status["stage"], status["waiting_on"]) == ("TREATMENT", "coordinator")
    assert "admission-overdue" in j.mail_kinds()
    base = f"/api/v1/journeys/{j.journey_id}/clinic"
    coordinator = staff(settings, Role.COORDINATOR)

    # Out of order: refused, and the report it carried is not kept.
    answer = await api.post(
        f"{base}/procedure",
        json={"cells_given": 90_000_000, "minutes": 45, "lot": "LOT-7"},
        headers=coordinator,
    )
    assert answer.status_code == 409, answer.text
    assert answer.json()["code"] == "admission_missing"
    assert await pool.fetchval("SELECT count(*) FROM procedure_reports") == 0
    answer = await api.post(f"{base}/admission", headers=staff(settings, Role.SPECIALIST))
    assert answer.status_code == 403

    answer = await api.post(f"{base}/admission", headers=coordinator)
    assert answer.status_code == 200, answer.text
    assert answer.json()["waiting_on"] == "clinic"
    answer = await api.post(
        f"{base}/procedure",
        json={"cells_given": 90_000_000, "minutes": 45, "lot": "LOT-7"},
        headers=coordinator,
    )
    assert answer.status_code == 200, answer.text
    answer = await api.post(
        f"{base}/adverse-events",
        json={"severity": "moderate", "description": "headache after the puncture"},
        headers=staff(settings, Role.CASE_MANAGER),
    )
    assert answer.status_code == 200, answer.text
    answer = await api.post(f"{base}/discharge", headers=coordinator)
    assert answer.status_code == 200, answer.text
    await eventually(
        lambda: _status(api, settings, j.journey_id), until=lambda s: s["stage"] == "FOLLOW_UP"
    )
    kinds = j.mail_kinds()
    assert "dose-escalation" in kinds
    assert any(k.startswith("adverse-event-") for k in kinds)
    recorded = await pool.fetchrow("SELECT cells_given, lot FROM procedure_reports")
    assert (recorded["cells_given"], recorded["lot"]) == (90_000_000, "LOT-7")


@pytest.mark.e2e
async def test_a_refused_address_end_to_end_on_the_dev_server(
    settings: Settings,
    pool: asyncpg.Pool,
    dev_env: WorkflowEnvironment,
    tmp_path: Path,
) -> None:
    """The form, the API, the worker and a relay refusing the address, on the dev server: the
    coordinators' query `Incident != ''` finds the journey, and the API resolves it."""
    await seed_staff(pool)
    controller, relay, port = start_refusing_mailbox(tmp_path / "mail")
    relay.refuse("refused.example", USER_UNKNOWN)
    live = settings.model_copy(
        update={
            "smtp_port": port,
            "temporal_address": dev_env.client.service_client.config.target_host,
        }
    )
    app = create_app(live)
    try:
        async with (
            app.router.lifespan_context(app),
            httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://t") as http,
            running_worker(dev_env.client, settings=live, pool=pool),
        ):
            answer = await http.post("/api/v1/inquiries", json=valid_form(email=SENTINEL_ADDRESS))
            jid = answer.json()["journey_id"]

            async def with_incident() -> set[str]:
                query = "Incident != ''"
                return {w.id async for w in dev_env.client.list_workflows(query)}

            found = await eventually(
                with_incident, until=lambda ids: f"journey-{jid}" in ids, within=30
            )
            assert found == {f"journey-{jid}"}
            listed = [w async for w in dev_env.client.list_workflows("Incident = 'email_refused'")]
            assert [w.search_attributes["WaitingOn"] for w in listed] == [["coordinator"]]
            assert listed[0].status is WorkflowExecutionStatus.RUNNING

            # The UI's details say what broke and lead to the case page.
            details = await current_details(dev_env.client.get_workflow_handle(f"journey-{jid}"))
            assert "email_refused" in details
            assert f"({live.public_base_url}/staff/journeys/{jid})" in details
            coordinator = staff(live, Role.COORDINATOR)
            base = f"/api/v1/journeys/{jid}"
            answer = await http.post(
                f"{base}/contact", json={"email": "ana.fixed@example.org"}, headers=coordinator
            )
            assert answer.status_code == 200, answer.text
            answer = await http.post(
                f"{base}/incident/resolution", json={"action": "retry"}, headers=coordinator
            )
            assert answer.status_code == 200, answer.text
            await eventually(
                with_incident, until=lambda ids: f"journey-{jid}" not in ids, within=30
            )
            await eventually(
                lambda: _status(http, live, jid), until=lambda s: s["waiting_on"] == "reviewer"
            )
            await assert_no_needles(dev_env.client, jid, [SENTINEL_ADDRESS])
    finally:
        controller.stop()
