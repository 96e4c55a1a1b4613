"""The case reads of the JSON API: the case file, the patient with the medical history, and
documents, each opened as an audited read; the same reads the staff console shows."""

import json
import uuid

import asyncpg
import httpx
import pytest

from domain.actors import Role
from settings import Settings
from tests.api_people import STAFF_IDS, staff
from tests.case_setup import journey_with_document
from tests.journeys import seed_staff

pytestmark = pytest.mark.usefixtures("worker")

HISTORY = "Sentinel history: autonomic dysreflexia twice in 2024."
SCAN = b"%PDF-1.4 discharge summary"


@pytest.fixture
async def case(api: httpx.AsyncClient, settings: Settings, pool: asyncpg.Pool) -> tuple[str, str]:
    await seed_staff(pool)
    return await journey_with_document(
        api,
        settings,
        filename="alta médica.pdf",
        content=SCAN,
        content_type="application/pdf",
        medical_history=HISTORY,
    )


async def test_the_case_file_for_clinical_staff_and_for_auditors(
    api: httpx.AsyncClient, settings: Settings, case: tuple[str, str]
) -> None:
    jid, document_id = case
    answer = await api.get(f"/api/v1/journeys/{jid}/case", headers=staff(settings, Role.REVIEWER))
    assert answer.status_code == 200, answer.text
    body = answer.json()
    assert body["journey"]["reference"] == jid[:8].upper()
    assert (body["status"]["stage"], body["status"]["waiting_on"]) == ("VALIDATION", "reviewer")
    assert (body["status"]["task"], body["status"]["waiting_for"]) == (
        "review_case",
        "to review the case",
    )
    assert body["patient"]["medical_history"] == HISTORY
    assert [d["document_id"] for d in body["records"]["documents"]] == [document_id]
    assert body["temporal_ui_url"].endswith(f"/namespaces/default/workflows/journey-{jid}")

    audited = await api.get(f"/api/v1/journeys/{jid}/case", headers=staff(settings, Role.AUDITOR))
    assert audited.status_code == 200
    assert audited.json()["patient"] is None and audited.json()["records"] is None
    assert "Ana" not in audited.text and "dysreflexia" not in audited.text


async def test_the_patient_with_the_medical_history_never_for_auditors(
    api: httpx.AsyncClient, settings: Settings, pool: asyncpg.Pool, case: tuple[str, str]
) -> None:
    jid, _ = case
    read = await api.get(f"/api/v1/journeys/{jid}/patient", headers=staff(settings, Role.REVIEWER))
    assert read.status_code == 200
    assert read.json()["medical_history"] == HISTORY
    assert (read.json()["injury_cause"], read.json()["injury_date"]) == ("traffic", "2023-05-01")
    refused = await api.get(
        f"/api/v1/journeys/{jid}/patient", headers=staff(settings, Role.AUDITOR)
    )
    assert refused.status_code == 403
    assert refused.headers["content-type"] == "application/problem+json"
    assert "Ana" not in refused.text
    rows = await pool.fetch(
        "SELECT actor_role, journey_id, detail FROM audit_log WHERE action = $1 ORDER BY seq",
        "GET /api/v1/journeys/{journey_id}/patient",
    )
    assert [(r["actor_role"], str(r["journey_id"]), json.loads(r["detail"])) for r in rows] == [
        ("reviewer", jid, {"status": 200}),
        ("auditor", jid, {"status": 403, "reason": "role"}),
    ]


async def test_a_document_opens_and_every_read_is_audited(
    api: httpx.AsyncClient, settings: Settings, pool: asyncpg.Pool, case: tuple[str, str]
) -> None:
    jid, document_id = case
    stranger = str(uuid.uuid4())
    reviewer = staff(settings, Role.REVIEWER)
    opened = await api.get(f"/api/v1/journeys/{jid}/documents/{document_id}", headers=reviewer)
    assert opened.status_code == 200 and opened.content == SCAN
    assert opened.headers["content-type"] == "application/pdf"
    # A PDF is downloaded: Chromium's viewer does not run in the sandbox every file gets.
    assert opened.headers["content-disposition"] == (
        "attachment; filename=\"alta m?dica.pdf\"; filename*=UTF-8''alta%20m%C3%A9dica.pdf"
    )
    assert opened.headers["content-security-policy"].startswith("sandbox")
    assert opened.headers["x-content-type-options"] == "nosniff"
    missing = await api.get(
        f"/api/v1/journeys/{stranger}/documents/{document_id}", headers=reviewer
    )
    assert missing.status_code == 404 and SCAN not in missing.content
    auditor = await api.get(
        f"/api/v1/journeys/{jid}/documents/{document_id}", headers=staff(settings, Role.AUDITOR)
    )
    assert auditor.status_code == 403

    rows = await pool.fetch(
        """SELECT action, actor_id, journey_id, detail FROM audit_log
            WHERE action LIKE 'document.%' ORDER BY seq"""
    )
    assert [
        (r["action"], r["actor_id"], str(r["journey_id"]), json.loads(r["detail"])) for r in rows
    ] == [
        ("document.read", STAFF_IDS[Role.REVIEWER], jid, {"document_id": document_id}),
        ("document.not_found", STAFF_IDS[Role.REVIEWER], stranger, {"document_id": document_id}),
    ]
