"""The patient's own copy (GDPR Art. 15 and 20): everything held about them, as JSON or a FHIR
R4 Bundle, for their link or a privacy officer; and every table holding a journey's data is
classified for the copy and for erasure, so a new one cannot be forgotten by either."""

import base64
import hashlib
from pathlib import Path

import asyncpg
import httpx
import pytest
from fhir.resources.R4B.bundle import Bundle
from temporalio.testing import WorkflowEnvironment

from db.erasure import ERASED, KEPT
from db.subject_access import EXPORTED, NOT_EXPORTED
from domain.actors import Role
from settings import Settings
from tests.api_people import link, staff
from tests.journey_rows import add_document
from tests.journeys import JourneyDriver

DOCUMENT = b"%PDF-1.4 an MRI report " + bytes(range(256))
NOTES = "Plan: intrathecal, two-day visit; mild spasticity noted"


async def test_every_table_with_a_journey_or_a_patient_is_classified(pool: asyncpg.Pool) -> None:
    rows = await pool.fetch(
        """SELECT table_name, array_agg(column_name::text) AS columns
             FROM information_schema.columns
            WHERE table_schema = 'public' AND column_name IN ('journey_id', 'patient_id')
            GROUP BY table_name"""
    )
    holding = {r["table_name"]: set(r["columns"]) for r in rows}
    assert "documents" in holding and "audit_log" in holding
    unclassified = set(holding) - set(ERASED) - set(KEPT)
    assert unclassified == set(), "say in db/erasure.py what an erasure does to each"
    assert set(ERASED).isdisjoint(KEPT)
    with_journey = {t for t, columns in holding.items() if "journey_id" in columns}
    unexported = with_journey - set(EXPORTED) - set(NOT_EXPORTED)
    assert unexported == set(), "say in db/subject_access.py whether the copy holds each"


@pytest.mark.usefixtures("worker")
async def test_the_patient_downloads_everything_held_about_them(
    api: httpx.AsyncClient,
    temporal_env: WorkflowEnvironment,
    pool: asyncpg.Pool,
    settings: Settings,
    mail_dir: Path,
    driver: JourneyDriver,
) -> None:
    j = await driver.start()
    other = await JourneyDriver(temporal_env, pool, settings.task_queue, mail_dir).start(
        email="other@example.org"
    )
    await add_document(pool, j.journey_id, content=DOCUMENT, uploaded_by=j.patient.id)
    await j.approve()
    await j.hold_consult(notes=NOTES)
    base = f"/api/v1/journeys/{j.journey_id}/export"
    mine = link(settings, j.journey_id, j.patient.id)
    await api.get(f"/api/v1/journeys/{j.journey_id}", headers=staff(settings, Role.COORDINATOR))

    answer = await api.get(base, headers=mine)
    assert answer.status_code == 200, answer.text
    assert answer.headers["content-disposition"].startswith("attachment; filename=")
    copy = answer.json()
    assert copy["patient"]["full_name"] == "Ana García" and copy["patient"]["country"] == "ES"
    assert copy["inquiries"][0]["medical_history"].startswith("Two years of rehabilitation")
    [consent] = copy["consents"]
    [text] = copy["consent_texts"]
    assert (consent["text_version"], consent["text_language"]) == ("2026-01", "es")
    assert text["sha256"] == hashlib.sha256(text["body"].encode()).hexdigest()
    [document] = copy["documents"]
    assert base64.b64decode(document["content_base64"]) == DOCUMENT
    assert copy["treatment_plans"][0]["notes"] == NOTES
    assert copy["treatment_plans"][0]["price"] == "24500.00"
    assert [b["kind"] for b in copy["bookings"]] == ["consult"]
    assert [s["stage"] for s in copy["stage_changes"]][:2] == ["INQUIRY", "VALIDATION"]
    assert any(a["actor_role"] == "coordinator" for a in copy["accesses"]), "who saw it"
    assert copy["journey"]["journey_id"] == j.journey_id

    fhir = await api.get(base, params={"format": "fhir"}, headers=mine)
    assert fhir.status_code == 200 and fhir.headers["content-type"] == "application/fhir+json"
    bundle = Bundle.model_validate(fhir.json())
    kinds = sorted({e.resource.get_resource_type() for e in bundle.entry or [] if e.resource})
    assert kinds == ["Appointment", "Condition", "Consent", "DocumentReference", "Patient"]
    [reference] = [
        e["resource"]
        for e in fhir.json()["entry"]
        if e["resource"]["resourceType"] == "DocumentReference"
    ]
    assert base64.b64decode(reference["content"][0]["attachment"]["data"]) == DOCUMENT

    officer = await api.get(base, headers=staff(settings, Role.PRIVACY_OFFICER))
    assert officer.status_code == 200
    for refused in (
        staff(settings, Role.COORDINATOR),
        staff(settings, Role.AUDITOR),
        link(settings, other.journey_id, other.patient.id),
    ):
        assert (await api.get(base, headers=refused)).status_code == 403
    unknown = await api.get(
        "/api/v1/journeys/00000000-0000-4000-8000-000000000000/export",
        headers=staff(settings, Role.PRIVACY_OFFICER),
    )
    assert unknown.status_code == 404
    exported = await pool.fetchval(
        "SELECT count(*) FROM audit_log WHERE action = $1 AND detail->>'status' = '200'",
        "GET /api/v1/journeys/{journey_id}/export",
    )
    assert exported == 3, "each copy taken is in the audit log"
