"""Auditors read who did what and when in a journey's timeline, never what was decided about the
patient: on the API, on the console's case page and through `journeys timeline --as`, while a
coordinator still reads the decisions. One rule (`audit/timeline.py`, `disclosure_for`) says
what each reader gets; the committed histories hold it to every kind of entry, and a journey
full of distinctive decided values holds every surface to it."""

import asyncio
import json
import os
from pathlib import Path

import asyncpg
import httpx
import pytest
from temporalio.testing import WorkflowEnvironment

from audit.replay import load_history_file
from audit.timeline import EVERYTHING, Disclosure, TimelineEntry, build_timeline, disclosure_for
from domain.actors import Role
from domain.stages import Stage
from domain.steps import (
    DocumentKind,
    DocumentsReceived,
    RejectionReason,
)
from settings import Settings
from tests.api_people import staff
from tests.app_client import sign_in
from tests.helpers import journeys_command
from tests.journey_rows import add_document
from tests.journeys import REVIEWER, JourneyDriver
from workflows.journey import PatientJourney

ROOT = Path(__file__).resolve().parent.parent
HISTORIES = ROOT / "tests" / "histories"
# What every reader is given of an entry's details: ids, statuses, deadlines, steps.
WHO_WHAT_WHEN = {
    "status",
    "deadline",
    "step",
    "journey_id",
    "inquiry_id",
    "case_manager_id",
    "booking_id",
    "timer_id",
    "child_workflow_id",
    "child_run_id",
    "new_run_id",
    "stage",
}


def _corpus(name: str) -> list[TimelineEntry]:
    return build_timeline(load_history_file(HISTORIES / name), disclosure=EVERYTHING)


def _seen(name: str, disclosure: Disclosure) -> list[TimelineEntry]:
    return build_timeline(load_history_file(HISTORIES / name), disclosure=disclosure)


def test_the_rule_for_each_reader() -> None:
    for role in (Role.COORDINATOR, Role.REVIEWER, Role.SPECIALIST, Role.CASE_MANAGER):
        assert disclosure_for(role, erased=False) == EVERYTHING, role
        assert disclosure_for(role, erased=True) == Disclosure(typed_values=False), role
    for role in (Role.AUDITOR, Role.PRIVACY_OFFICER):
        for erased in (False, True):
            assert disclosure_for(role, erased=erased) == Disclosure(
                decided_values=False, typed_values=False
            ), role
    # The command's own account holds the payload keys: it reads every payload anyway.
    assert disclosure_for(None, erased=False) == EVERYTHING


@pytest.mark.parametrize("name", sorted(p.name for p in HISTORIES.glob("*.json")))
def test_auditors_get_every_entry_without_its_decided_values(name: str) -> None:
    full = _corpus(name)
    audited = _seen(name, disclosure_for(Role.AUDITOR, erased=False))

    assert len(audited) == len(full)
    for seen, whole in zip(audited, full, strict=True):
        # Who, when, which kind of entry, and every stage move as it is.
        assert (seen.at, seen.kind, seen.actor_id, seen.actor_role, seen.event_id) == (
            whole.at,
            whole.kind,
            whole.actor_id,
            whole.actor_role,
            whole.event_id,
        )
        assert set(seen.details) <= WHO_WHAT_WHEN, (seen.what, seen.details)
        assert {k: v for k, v in whole.details.items() if k in WHO_WHAT_WHEN} == seen.details
        if seen.kind == "step":
            # The step's name, never its outcome.
            assert ":" not in seen.what and whole.what.startswith(seen.what), seen.what
        else:
            assert seen.what == whole.what


def test_the_committed_histories_hold_the_decisions_auditors_are_not_given() -> None:
    """The test above could pass on histories with nothing to withhold: these hold some."""
    rejection = _corpus("rejection.clinic-by-email.journey.json")
    [review] = [e for e in rejection if e.what.startswith("review")]
    assert review.what == "review: reject" and review.details["reason"]
    audited = _seen("rejection.clinic-by-email.journey.json", Disclosure(decided_values=False))
    [review] = [e for e in audited if e.what.startswith("review")]
    assert review.what == "review" and review.details == {}

    travel = _corpus("happy-path.clinic-by-email.journey.json")
    withheld = {k for e in travel for k in e.details} - WHO_WHAT_WHEN
    assert {"eligible", "plan_id", "arrival_date", "clinic_reference"} <= withheld


def test_after_an_erasure_nobody_reads_the_clinics_reference() -> None:
    name = "happy-path.clinic-by-email.journey.json"
    full = _corpus(name)
    erased = _seen(name, disclosure_for(Role.COORDINATOR, erased=True))
    [confirmation] = [e for e in full if "clinic_reference" in e.details]
    assert confirmation.details["clinic_reference"]
    for seen, whole in zip(erased, full, strict=True):
        assert seen.what == whole.what
        assert seen.details == {k: v for k, v in whole.details.items() if k != "clinic_reference"}


# A journey full of distinctive decided values: documents asked for by kind, a document sent,
# then a rejection for a contraindication.
DECIDED = ("request_documents", "asia_exam", "discharge_summary", "contraindication")


async def _sign_in(console: httpx.AsyncClient, staff_id: str) -> None:
    """Signs in as `staff_id` afresh, whoever was signed in before."""
    console.cookies.clear()
    await sign_in(console, staff_id)


def _timeline_section(page: httpx.Response) -> str:
    assert page.status_code == 200, page.text
    start = page.text.index('id="timeline-heading"')
    return page.text[start : page.text.index("</section>", start)]


async def _rejected_journey(driver: JourneyDriver, pool: asyncpg.Pool) -> tuple[JourneyDriver, str]:
    j = await driver.start()
    await j.request_documents(DocumentKind.ASIA_EXAM, DocumentKind.DISCHARGE_SUMMARY)
    document_id = await add_document(
        pool,
        j.journey_id,
        kind="asia_exam",
        filename="exam.pdf",
        content=b"%PDF-1.4 exam",
        uploaded_by=j.patient.id,
    )
    await j.handle.execute_update(
        PatientJourney.documents_received,
        DocumentsReceived(actor=j.patient, document_ids=(document_id,)),
    )
    await j.reject(RejectionReason.CONTRAINDICATION)
    assert (await j.result()).stage is Stage.NOT_ELIGIBLE
    return j, document_id


@pytest.mark.usefixtures("worker")
async def test_an_auditor_reads_no_decided_value_on_any_surface(
    api: httpx.AsyncClient,
    console: httpx.AsyncClient,
    temporal_env: WorkflowEnvironment,
    pool: asyncpg.Pool,
    settings: Settings,
    driver: JourneyDriver,
) -> None:
    j, document_id = await _rejected_journey(driver, pool)
    jid = j.journey_id
    decided = (*DECIDED, document_id)

    # The API: a coordinator reads every decision, an auditor none, in the same entries.
    path = f"/api/v1/journeys/{jid}/timeline"
    coordinator = await api.get(path, headers=staff(settings, Role.COORDINATOR))
    assert coordinator.status_code == 200, coordinator.text
    for value in decided:
        assert value in coordinator.text, value
    auditor = await api.get(path, headers=staff(settings, Role.AUDITOR))
    assert auditor.status_code == 200, auditor.text
    for value in decided:
        assert value not in auditor.text, value
    audited, whole = auditor.json(), coordinator.json()
    assert audited["shown"] == {"decided_values": False, "typed_values": False}
    assert whole["shown"] == {"decided_values": True, "typed_values": True}
    assert [(e["at"], e["kind"], e["actor_id"]) for e in audited["entries"]] == [
        (e["at"], e["kind"], e["actor_id"]) for e in whole["entries"]
    ]
    steps = [(e["what"], e["actor_id"]) for e in audited["entries"] if e["kind"] == "step"]
    assert steps == [
        ("inquiry submitted", j.patient.id),
        ("review", REVIEWER.id),
        ("documents received", j.patient.id),
        ("review", REVIEWER.id),
    ]
    stages = [e["what"] for e in audited["entries"] if e["kind"] == "stage"]
    assert stages[-1] == "NOT_ELIGIBLE"

    # The console's case page: its timeline words the decisions for a coordinator only.
    await _sign_in(console, "demo-coordinator")
    worded = _timeline_section(await console.get(f"/staff/journeys/{jid}"))
    assert "documents asked for" in worded and "rejected" in worded
    await _sign_in(console, "demo-auditor")
    worded = _timeline_section(await console.get(f"/staff/journeys/{jid}"))
    for value in ("documents asked for", "rejected", *decided):
        assert value not in worded, value
    assert "what was decided about the patient is not shown to your role" in worded
    assert "Review the case" in worded, "the step is still named"

    # The command, for the member of staff it runs for.
    env = os.environ | {"JOURNEYS_DATABASE_URL": settings.database_url or ""}
    target = temporal_env.client.service_client.config.target_host

    async def timeline_as(staff_id: str, *options: str) -> str:
        command = ("timeline", jid, "--address", target, *options, "--as", staff_id)
        ran = await asyncio.to_thread(journeys_command, *command, env=env)
        assert ran.returncode == 0, ran.stderr
        return ran.stdout

    as_auditor = await timeline_as("demo-auditor", "--json")
    for value in decided:
        assert value not in as_auditor, value
    body = json.loads(as_auditor)
    assert body["shown"] == audited["shown"] and body["names"] == {}
    assert [e["what"] for e in body["entries"]] == [e["what"] for e in audited["entries"]]
    markdown = await timeline_as("demo-auditor")
    assert "what was decided about the patient left out" in markdown
    for value in decided:
        assert value not in markdown, value
    as_coordinator = await timeline_as("demo-coordinator", "--json")
    for value in decided:
        assert value in as_coordinator, value
    rows = await pool.fetch(
        "SELECT actor_id, actor_role FROM audit_log WHERE action = 'cli.timeline' ORDER BY seq"
    )
    assert [(r["actor_id"], r["actor_role"]) for r in rows] == [
        ("demo-auditor", "auditor"),
        ("demo-auditor", "auditor"),
        ("demo-coordinator", "coordinator"),
    ]
