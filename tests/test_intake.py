"""The first slice through the real API, Postgres, Temporal and SMTP."""

import asyncio
import json
import re
from collections.abc import AsyncIterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import asyncpg
import httpx
import pytest
from temporalio.client import Client

from api.intake import start_unstarted
from domain.journey import JourneyStatus
from domain.names import (
    JOURNEY_STAGE,
    NEXT_DEADLINE,
    PATIENT_COUNTRY,
    WAITING_ON,
    journey_workflow_id,
)
from domain.stages import Stage, WaitingOn
from patient_links import PATIENT_PAGE_PATH, verify_patient_link
from settings import Settings
from tests.helpers import eventually, read_mailbox, text_of, valid_form
from tests.journey_rows import store_inquiry
from workflows.journey import PatientJourney

pytestmark = pytest.mark.usefixtures("worker")


async def _status(client: Client, journey_id: str) -> JourneyStatus:
    handle = client.get_workflow_handle(journey_workflow_id(journey_id))
    return await handle.query(PatientJourney.status)


async def _counts(pool: asyncpg.Pool) -> dict[str, int]:
    return {
        table: await pool.fetchval(f"SELECT count(*) FROM {table}")
        for table in ("patients", "journeys", "inquiries", "consents", "idempotency_keys")
    }


async def test_inquiry_starts_a_journey_that_waits_for_validation(
    api: httpx.AsyncClient, client: Client, pool: asyncpg.Pool, mail_dir: Path, settings: Settings
) -> None:
    answer = await api.post(
        "/api/v1/inquiries", json=valid_form(), headers={"Idempotency-Key": "k1"}
    )

    assert answer.status_code == 202, answer.text
    journey_id = answer.json()["journey_id"]
    assert answer.headers["location"] == f"/api/v1/journeys/{journey_id}"

    status = await eventually(
        lambda: _status(client, journey_id),
        until=lambda s: s.stage is Stage.VALIDATION,
        what="stage VALIDATION",
    )
    assert status.waiting_on is WaitingOn.REVIEWER
    assert [t.stage for t in status.transitions] == [Stage.INQUIRY, Stage.VALIDATION]
    # The review is due 48 hours after the case reached the reviewer.
    assert status.deadline == status.transitions[-1].entered_at + timedelta(hours=48)

    handle = client.get_workflow_handle(journey_workflow_id(journey_id))
    description = await handle.describe()
    attrs = description.typed_search_attributes
    assert attrs.get(JOURNEY_STAGE) == "VALIDATION"
    assert attrs.get(WAITING_ON) == "reviewer"
    assert attrs.get(PATIENT_COUNTRY) == "ES"
    assert attrs.get(NEXT_DEADLINE) == status.deadline
    assert description.task_queue == settings.task_queue, "started on the configured queue"

    patient = await pool.fetchrow("SELECT * FROM patients")
    assert patient["full_name"] == "Ana García"
    assert patient["email"] == "ana.garcia@example.org"
    assert patient["phone"] == "+34600123456"
    inquiry = await pool.fetchrow("SELECT * FROM inquiries")
    assert str(inquiry["journey_id"]) == journey_id
    assert inquiry["injury_level"] == "T4"
    assert inquiry["recorded_at"] is not None, "the workflow's activity records the inquiry"
    consent = await pool.fetchrow("SELECT * FROM consents")
    assert consent["granted"] is True
    assert consent["text_version"] == "2026-01"
    assert consent["purpose"] == "health_data_processing"
    journey = await pool.fetchrow("SELECT stage, waiting_on FROM journeys")
    assert dict(journey) == {"stage": "VALIDATION", "waiting_on": "reviewer"}

    messages = await eventually(
        lambda: asyncio.sleep(0, read_mailbox(mail_dir)),
        until=lambda m: len(m) == 2,
        what="two emails",
    )
    by_to = {m["To"]: m for m in messages}
    ack = by_to["ana.garcia@example.org"]
    assert ack["Subject"].startswith("Hemos recibido su consulta"), "written in Spanish"
    assert "Ana García" in text_of(ack)
    assert ack["Message-ID"].strip() == f"<{journey_id}.acknowledgement@journeys.localhost>"
    # From the first email on, the patient can open their own page: a link to this journey.
    link = re.search(
        rf"{re.escape(settings.public_base_url)}{PATIENT_PAGE_PATH}\?token=(\S+)", text_of(ack)
    )
    assert link, text_of(ack)
    assert verify_patient_link(settings, link.group(1)).journey_id == journey_id
    staff = by_to["coordinators@journeys.localhost"]
    # Staff open the case in the console, where they can read it and act on it.
    assert f"{settings.public_base_url}/staff/journeys/{journey_id}" in text_of(staff)
    assert "Ana" not in text_of(staff), "staff notifications carry no patient details"
    sent = await pool.fetchval("SELECT count(*) FROM outbox WHERE status = 'sent'")
    assert sent == 2


async def test_language_without_templates_falls_back_to_english(
    api: httpx.AsyncClient, client: Client, mail_dir: Path
) -> None:
    answer = await api.post("/api/v1/inquiries", json=valid_form(preferred_language="de"))
    assert answer.status_code == 202
    messages = await eventually(
        lambda: asyncio.sleep(0, read_mailbox(mail_dir)),
        until=lambda m: len(m) == 2,
        what="two emails",
    )
    ack = next(m for m in messages if m["To"] == "ana.garcia@example.org")
    assert ack["Subject"].startswith("We received your inquiry")


async def test_same_idempotency_key_returns_the_same_journey(
    api: httpx.AsyncClient, client: Client, pool: asyncpg.Pool
) -> None:
    headers = {"Idempotency-Key": "form-123"}
    first = await api.post("/api/v1/inquiries", json=valid_form(), headers=headers)
    second = await api.post("/api/v1/inquiries", json=valid_form(), headers=headers)

    assert first.status_code == second.status_code == 202
    assert first.json()["journey_id"] == second.json()["journey_id"]
    assert first.json()["duplicate"] is False
    assert second.json()["duplicate"] is True
    assert await _counts(pool) == {
        "patients": 1,
        "journeys": 1,
        "inquiries": 1,
        "consents": 1,
        "idempotency_keys": 1,
    }
    journey_id = first.json()["journey_id"]
    await eventually(
        lambda: _status(client, journey_id), until=lambda s: s.stage is Stage.VALIDATION
    )


async def test_concurrent_duplicates_give_one_journey(
    api: httpx.AsyncClient, pool: asyncpg.Pool
) -> None:
    headers = {"Idempotency-Key": "double-click"}
    answers = await asyncio.gather(
        *(api.post("/api/v1/inquiries", json=valid_form(), headers=headers) for _ in range(10))
    )
    assert {a.status_code for a in answers} == {202}
    assert len({a.json()["journey_id"] for a in answers}) == 1
    assert sum(not a.json()["duplicate"] for a in answers) == 1
    assert (await _counts(pool))["journeys"] == 1


async def test_key_reused_with_another_body_is_a_conflict(
    api: httpx.AsyncClient, pool: asyncpg.Pool
) -> None:
    headers = {"Idempotency-Key": "reused"}
    assert (
        await api.post("/api/v1/inquiries", json=valid_form(), headers=headers)
    ).status_code == 202
    other = await api.post(
        "/api/v1/inquiries", json=valid_form(full_name="Someone Else"), headers=headers
    )
    assert other.status_code == 409
    assert other.headers["content-type"] == "application/problem+json"
    assert "different submission" in other.json()["detail"]
    assert (await _counts(pool))["patients"] == 1


INVALID: list[tuple[str, dict[str, Any], str]] = [
    ("missing consent", {"consent_health_data": None}, "consent_health_data"),
    ("refused consent", {"consent_health_data": False}, "consent_health_data"),
    ("malformed email", {"email": "ana.example.org"}, "email"),
    ("injury in the future", {"injury_date": "2099-01-01"}, "injury_date"),
    ("unknown country", {"country": "XX"}, "country"),
    ("phone without country code", {"phone": "600123456"}, "phone"),
    ("impossible injury level", {"injury_level": "C9"}, "injury_level"),
    ("a field the form does not have", {"stage": "TREATMENT"}, "stage"),
    ("missing consent text version", {"consent_text_version": None}, "consent_text_version"),
]


@pytest.mark.parametrize(("case", "change", "field"), INVALID, ids=[c for c, _, _ in INVALID])
async def test_invalid_inquiry_is_refused_and_nothing_is_stored(
    api: httpx.AsyncClient,
    pool: asyncpg.Pool,
    mail_dir: Path,
    case: str,
    change: dict[str, Any],
    field: str,
) -> None:
    body = valid_form(**{k: v for k, v in change.items() if v is not None})
    for key, value in change.items():
        if value is None:
            del body[key]

    answer = await api.post("/api/v1/inquiries", json=body, headers={"Idempotency-Key": case})

    assert answer.status_code == 422, answer.text
    assert answer.headers["content-type"] == "application/problem+json"
    problem = answer.json()
    assert problem["status"] == 422
    assert [e["field"] for e in problem["errors"]] == [field]
    assert field in problem["detail"]
    assert set((await _counts(pool)).values()) == {0}
    assert read_mailbox(mail_dir) == []


async def test_consent_message_is_plain(api: httpx.AsyncClient) -> None:
    answer = await api.post("/api/v1/inquiries", json=valid_form(consent_health_data=False))
    assert answer.json()["errors"][0]["message"] == (
        "explicit consent to process health data is required"
    )


@pytest.mark.parametrize(
    "body", [b"{not json", b"", b"\xff\xfe{}"], ids=["broken", "empty", "bytes"]
)
async def test_body_that_is_not_json_is_a_clear_422(api: httpx.AsyncClient, body: bytes) -> None:
    answer = await api.post(
        "/api/v1/inquiries", content=body, headers={"content-type": "application/json"}
    )
    assert answer.status_code == 422
    assert answer.headers["content-type"] == "application/problem+json"
    assert [(e["field"], e["message"]) for e in answer.json()["errors"]] == [
        ("body", "the body is not valid JSON")
    ]


async def test_other_media_types_are_refused(api: httpx.AsyncClient) -> None:
    answer = await api.post(
        "/api/v1/inquiries", content=b"hello", headers={"content-type": "text/plain"}
    )
    assert answer.status_code == 415
    assert answer.headers["content-type"] == "application/problem+json"


async def test_oversized_body_is_refused(api: httpx.AsyncClient, pool: asyncpg.Pool) -> None:
    answer = await api.post("/api/v1/inquiries", json=valid_form(medical_history="x" * 200_000))
    assert answer.status_code == 413
    assert answer.headers["content-type"] == "application/problem+json"
    assert (await _counts(pool))["patients"] == 0


async def test_oversized_body_without_a_length_is_refused_while_read(
    api: httpx.AsyncClient, pool: asyncpg.Pool
) -> None:
    body = json.dumps(valid_form(medical_history="x" * 200_000)).encode()

    async def chunks() -> AsyncIterator[bytes]:
        for start in range(0, len(body), 16_384):
            yield body[start : start + 16_384]

    answer = await api.post(
        "/api/v1/inquiries", content=chunks(), headers={"content-type": "application/json"}
    )
    assert answer.status_code == 413
    assert answer.headers["content-type"] == "application/problem+json"
    assert (await _counts(pool))["patients"] == 0


async def test_a_lost_start_is_picked_up(
    client: Client, pool: asyncpg.Pool, settings: Settings
) -> None:
    """Records stored, then the API died before starting the journey: the sweep starts it."""
    async with pool.acquire() as conn:
        stored = await store_inquiry(conn)
    started = await start_unstarted(
        pool=pool, client=client, task_queue=settings.task_queue, older_than=timedelta(0)
    )
    assert started == 1
    await eventually(
        lambda: _status(client, stored.journey_id), until=lambda s: s.stage is Stage.VALIDATION
    )
    again = await start_unstarted(
        pool=pool, client=client, task_queue=settings.task_queue, older_than=timedelta(0)
    )
    assert again == 0, "a journey that runs is not started again"
