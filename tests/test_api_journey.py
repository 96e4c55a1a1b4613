"""A whole journey driven through the API alone, as its people would, and the API's refusals."""

import asyncio
import uuid
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import asyncpg
import httpx
import pytest
from temporalio.testing import WorkflowEnvironment

from domain.actors import Role
from patient_links import mint_patient_link
from settings import Settings
from tests.api_people import clinic_event, link, link_from_email, staff
from tests.helpers import eventually, exam, valid_form
from tests.journeys import seed_staff

pytestmark = pytest.mark.usefixtures("worker")


@pytest.fixture
async def staffed(pool: asyncpg.Pool) -> None:
    await seed_staff(pool)


async def _stage(http: httpx.AsyncClient, settings: Settings, jid: str) -> dict[str, object]:
    answer = await http.get(f"/api/v1/journeys/{jid}", headers=staff(settings, Role.COORDINATOR))
    assert answer.status_code == 200, answer.text
    body: dict[str, object] = answer.json()
    return body


async def _reach(
    http: httpx.AsyncClient, settings: Settings, jid: str, stage: str, waiting_on: str | None = None
) -> dict[str, object]:
    return await eventually(
        lambda: _stage(http, settings, jid),
        until=lambda s: (
            s["stage"] == stage and (waiting_on is None or s["waiting_on"] == waiting_on)
        ),
        what=f"{stage}/{waiting_on}",
    )


@pytest.mark.usefixtures("staffed")
async def test_a_whole_journey_through_the_api(
    api: httpx.AsyncClient,
    settings: Settings,
    temporal_env: WorkflowEnvironment,
    mail_dir: Path,
) -> None:
    answer = await api.post(
        "/api/v1/inquiries", json=valid_form(), headers={"Idempotency-Key": "whole-journey"}
    )
    jid = answer.json()["journey_id"]
    base = f"/api/v1/journeys/{jid}"
    await _reach(api, settings, jid, "VALIDATION", "reviewer")

    reviewed = await api.post(
        f"{base}/review", json={"outcome": "approve"}, headers=staff(settings, Role.REVIEWER)
    )
    assert reviewed.status_code == 200, reviewed.text
    await _reach(api, settings, jid, "TELECONSULT", "patient")

    patient = await link_from_email(mail_dir, jid)
    mine = (await api.get(base, headers=patient)).json()
    assert mine["action_needed"] is True and "choose a time" in mine["message"]
    assert "transitions" not in mine, "the patient sees plain words, not the staff view"
    slots = (await api.get(f"{base}/consult/slots", headers=patient)).json()
    booked = await api.post(
        f"{base}/consult/booking", json={"slot_id": slots[0]["slot_id"]}, headers=patient
    )
    assert booked.status_code == 200, booked.text
    await temporal_env.sleep(timedelta(days=10))

    outcome = await api.post(
        f"{base}/consult/outcome",
        json={"eligible": True, "plan": {"price": "24500.00", "currency": "EUR"}},
        headers=staff(settings, Role.SPECIALIST),
    )
    assert outcome.status_code == 200, outcome.text
    await _reach(api, settings, jid, "PLAN", "patient")
    decided = await api.post(f"{base}/plan/decision", json={"accept": True}, headers=patient)
    assert decided.status_code == 200, decided.text
    await _reach(api, settings, jid, "TRAVEL", "patient")

    now = await temporal_env.get_current_time()
    arrival = (now + timedelta(days=30)).date()
    travel = await api.post(
        f"{base}/travel",
        headers=patient,
        json={
            "arrival_date": arrival.isoformat(),
            "departure_date": (arrival + timedelta(days=4)).isoformat(),
            "arrival_flight": "IB3170",
            "needs_visa": True,
        },
    )
    assert travel.status_code == 200, travel.text
    await _reach(api, settings, jid, "TRAVEL", "coordinator")
    confirmed = await api.post(
        f"{base}/clinic/confirmation",
        json={"confirmed": True, "clinic_reference": "CL-2291"},
        headers=staff(settings, Role.COORDINATOR),
    )
    assert confirmed.status_code == 200, confirmed.text
    waiting = await _reach(api, settings, jid, "TRAVEL", "patient")
    # Past the visit's first morning, whatever time of day the test started at.
    visit = datetime.fromisoformat(str(waiting["deadline"]))
    await temporal_env.sleep(visit - await temporal_env.get_current_time() + timedelta(hours=1))
    await _reach(api, settings, jid, "TREATMENT", "clinic")

    payloads: list[tuple[str, dict[str, Any]]] = [
        ("admission", {}),
        ("procedure", {"procedure": {"cells_given": 150_000_000, "minutes": 45, "lot": "LOT-7"}}),
        ("discharge", {}),
    ]
    for kind, payload in payloads:
        event_id = str(uuid.uuid4())
        delivered = await clinic_event(api, settings, jid, kind, event_id=event_id, **payload)
        assert delivered.status_code == 200, delivered.text
        assert delivered.json() == {"event_id": event_id, "duplicate": False}
        # The clinic's retry of the same delivery changes nothing.
        again = await clinic_event(api, settings, jid, kind, event_id=event_id, **payload)
        assert again.status_code == 200 and again.json()["duplicate"] is True
    await _reach(api, settings, jid, "FOLLOW_UP")

    specialist = staff(settings, Role.SPECIALIST)
    offsets = [14, 42, 91, 182, 365]
    elapsed = 0
    week = 0
    for n, day in enumerate(offsets, 1):
        while (week + 1) * 7 - 1 <= day and week < 26:
            week += 1
            await temporal_env.sleep(timedelta(days=week * 7 - 1 - elapsed))
            elapsed = week * 7 - 1
            checkin = await api.post(
                f"{base}/rehab-checkins",
                headers=patient,
                json={"week": week, "walking_hours_per_day": 6.5, "days_per_week": 6},
            )
            assert checkin.status_code == 200, checkin.text
        await temporal_env.sleep(timedelta(days=day - elapsed))
        elapsed = day
        recorded = await api.post(
            f"{base}/follow-ups/{n}/outcome",
            headers=specialist,
            json=exam(n),
        )
        assert recorded.status_code == 200, recorded.text
    await temporal_env.sleep(timedelta(days=30))
    final = await _reach(api, settings, jid, "COMPLETED")
    roles = {t["actor_role"] for t in final["transitions"]}  # type: ignore[attr-defined]
    assert {"reviewer", "patient", "specialist", "clinic"} <= roles
    timeline = await api.get(f"{base}/timeline", headers=staff(settings, Role.AUDITOR))
    assert timeline.status_code == 200, timeline.text
    account = timeline.json()
    assert account["names"] == {}, "auditors read ids, not names"
    assert any(e["kind"] == "stage" and "COMPLETED" in e["what"] for e in account["entries"])
    assert "Ana" not in timeline.text
    named = await api.get(f"{base}/timeline", headers=staff(settings, Role.CASE_MANAGER))
    assert "Ana García" in named.json()["names"].values()


@pytest.mark.usefixtures("staffed")
async def test_refusals_are_clear_and_change_nothing(
    api: httpx.AsyncClient,
    settings: Settings,
    pool: asyncpg.Pool,
) -> None:
    jid = (await api.post("/api/v1/inquiries", json=valid_form())).json()["journey_id"]
    base = f"/api/v1/journeys/{jid}"
    patient_id = str(await pool.fetchval("SELECT patient_id FROM journeys"))
    patient = link(settings, jid, patient_id)
    await _reach(api, settings, jid, "VALIDATION", "reviewer")

    refused = await api.post(f"{base}/plan/decision", json={"accept": True}, headers=patient)
    assert refused.status_code == 409
    assert refused.headers["content-type"] == "application/problem+json"
    problem = refused.json()
    # The code and what it names, for the client to word; the English beside them.
    assert (problem["code"], problem["params"]) == (
        "wrong_stage",
        {"step": "plan_decision", "expected_stage": "PLAN", "stage": "VALIDATION"},
    )
    assert (
        problem["detail"]
        == "a decision on the plan belongs to stage PLAN; the journey is at VALIDATION"
    )

    travel = await api.post(
        f"{base}/travel",
        headers=patient,
        json={"arrival_date": "2030-01-01", "departure_date": "2030-01-05"},
    )
    assert travel.status_code == 409
    assert travel.json()["code"] == "wrong_stage"
    assert await pool.fetchval("SELECT count(*) FROM travel_records") == 0, "nothing stored"

    bad = await api.post(
        f"{base}/review", json={"outcome": "reject"}, headers=staff(settings, Role.REVIEWER)
    )
    assert bad.status_code == 422 and "needs a reason" in bad.text
    unknown_field = await api.post(
        f"{base}/review",
        json={"outcome": "approve", "stage": "PLAN"},
        headers=staff(settings, Role.REVIEWER),
    )
    assert unknown_field.status_code == 422
    assert unknown_field.json()["errors"][0]["field"] == "stage"

    missing = await api.get(
        f"/api/v1/journeys/{uuid.uuid4()}", headers=staff(settings, Role.COORDINATOR)
    )
    assert missing.status_code == 404
    assert (await api.get(base)).status_code == 401
    assert (await api.get(base, headers={"Authorization": "Bearer nonsense"})).status_code == 401
    other = link(settings, str(uuid.uuid4()), patient_id)
    assert (await api.get(base, headers=other)).status_code == 403
    wrong_role = await api.post(
        f"{base}/review", json={"outcome": "approve"}, headers=staff(settings, Role.COORDINATOR)
    )
    assert wrong_role.status_code == 403
    status = await _stage(api, settings, jid)
    assert status["stage"] == "VALIDATION" and status["waiting_on"] == "reviewer"


@pytest.mark.usefixtures("staffed")
async def test_clinic_webhook_signatures_and_duplicates(
    api: httpx.AsyncClient, settings: Settings, pool: asyncpg.Pool
) -> None:
    jid = (await api.post("/api/v1/inquiries", json=valid_form())).json()["journey_id"]
    await _reach(api, settings, jid, "VALIDATION", "reviewer")
    forged = await clinic_event(api, settings, jid, "admission", secret="not-the-secret")
    assert forged.status_code == 401 and "does not match" in forged.json()["detail"]
    expired = await clinic_event(api, settings, jid, "admission", at=1_000_000_000)
    assert expired.status_code == 401 and "window" in expired.json()["detail"]
    early = await clinic_event(api, settings, jid, "admission")
    assert early.status_code == 409, "no admission before the treatment stage"
    assert early.json()["code"] == "wrong_stage"
    # Nothing taken: the refused event keeps its id with the refusal, nothing else.
    assert await pool.fetchval("SELECT count(*) FROM clinic_events WHERE refusal IS NULL") == 0


async def test_form_is_rate_limited_per_client(api: httpx.AsyncClient, settings: Settings) -> None:
    answers = [
        await api.post("/api/v1/inquiries", json={"x": 1})
        for _ in range(settings.form_rate_limit_per_minute + 1)
    ]
    assert [a.status_code for a in answers[:-1]] == [422] * settings.form_rate_limit_per_minute
    assert answers[-1].status_code == 429
    assert int(answers[-1].headers["Retry-After"]) > 0


@pytest.mark.usefixtures("staffed")
async def test_documents_upload_sends_the_case_back_to_review(
    api: httpx.AsyncClient, settings: Settings, pool: asyncpg.Pool
) -> None:
    jid = (await api.post("/api/v1/inquiries", json=valid_form())).json()["journey_id"]
    base = f"/api/v1/journeys/{jid}"
    patient = link(settings, jid, str(await pool.fetchval("SELECT patient_id FROM journeys")))
    await _reach(api, settings, jid, "VALIDATION", "reviewer")

    async def upload(filename: str, content: bytes, content_type: str) -> httpx.Response:
        """A file sent from the patient's link as their MRI scan."""
        return await api.post(
            f"{base}/documents",
            headers=patient,
            data={"kind": "mri"},
            files={"files": (filename, content, content_type)},
        )

    early = await upload("mri.pdf", b"%PDF-1.4 scan", "application/pdf")
    assert early.status_code == 409
    assert await pool.fetchval("SELECT count(*) FROM documents") == 0
    await api.post(
        f"{base}/review",
        headers=staff(settings, Role.REVIEWER),
        json={"outcome": "request_documents", "documents": ["mri"]},
    )
    await _reach(api, settings, jid, "VALIDATION", "patient")
    sent = await upload("mri.pdf", b"%PDF-1.4 scan", "application/pdf")
    assert sent.status_code == 200, sent.text
    assert sent.json()["message"] == "A medical reviewer is reading your case."
    listed = (await api.get(f"{base}/documents", headers=staff(settings, Role.REVIEWER))).json()
    assert [d["filename"] for d in listed] == ["mri.pdf"]
    wrong_type = await upload("x.exe", b"MZ", "application/x-msdownload")
    assert wrong_type.status_code == 415


@pytest.mark.usefixtures("staffed")
async def test_staff_list_filters_and_pages(api: httpx.AsyncClient, settings: Settings) -> None:
    ids = [
        (await api.post("/api/v1/inquiries", json=valid_form(country=c))).json()["journey_id"]
        for c in ("ES", "MX", "ES")
    ]
    for jid in ids:
        await _reach(api, settings, jid, "VALIDATION", "reviewer")
    coordinator = staff(settings, Role.COORDINATOR)
    page = (await api.get("/api/v1/journeys?country=es&limit=1", headers=coordinator)).json()
    assert page["total"] == 2 and len(page["items"]) == 1
    assert page["items"][0]["patient_name"] == "Ana García"
    waiting = (
        await api.get("/api/v1/journeys?waiting_on=reviewer&overdue=false", headers=coordinator)
    ).json()
    assert waiting["total"] == 3
    misspelt = await api.get("/api/v1/journeys?waitng_on=reviewer", headers=coordinator)
    assert misspelt.status_code == 422
    assert [(e["field"], e["message"]) for e in misspelt.json()["errors"]] == [
        ("waitng_on", "unknown query parameter")
    ]
    audit = (await api.get("/api/v1/journeys", headers=staff(settings, Role.AUDITOR))).json()
    assert [item["patient_name"] for item in audit["items"]] == [None, None, None]
    patient = (await api.get("/api/v1/journeys", headers=link(settings, ids[0], "p"))).json()
    assert patient["status"] == 403
    await asyncio.sleep(0)


async def test_routes_refuse_query_parameters_they_do_not_take(
    api: httpx.AsyncClient, settings: Settings, pool: asyncpg.Pool
) -> None:
    jid = (await api.post("/api/v1/inquiries", json=valid_form())).json()["journey_id"]
    base = f"/api/v1/journeys/{jid}"
    coordinator = staff(settings, Role.COORDINATOR)
    privacy_officer = staff(settings, Role.PRIVACY_OFFICER)
    for method, url, headers, unknown in (
        ("GET", f"{base}?aftre=1", coordinator, ["aftre"]),
        ("GET", f"{base}/case?x=1&y=2", coordinator, ["x", "y"]),
        ("GET", f"{base}/accesses?limt=5", privacy_officer, ["limt"]),
        ("POST", f"{base}/legal-hold?reason=r", privacy_officer, ["reason"]),
        ("POST", f"{base}/withdrawal?reason=other", coordinator, ["reason"]),
        ("POST", "/api/v1/inquiries?source=ad", {}, ["source"]),
    ):
        answer = await api.request(method, url, headers=headers, json={})
        assert answer.status_code == 422, (url, answer.text)
        assert answer.headers["content-type"] == "application/problem+json"
        # Beside whatever else is wrong (these bodies are empty).
        errors = {(e["field"], e["message"]) for e in answer.json()["errors"]}
        assert {(name, "unknown query parameter") for name in unknown} <= errors, url
    assert await pool.fetchval("SELECT count(*) FROM legal_holds") == 0
    assert await pool.fetchval("SELECT count(*) FROM journeys") == 1

    # A patient link's token may come in the query on any route, beside the route's own.
    patient_id = str(await pool.fetchval("SELECT patient_id FROM journeys"))
    token = mint_patient_link(settings, journey_id=jid, patient_id=patient_id)
    for url in (f"{base}?token={token}&after=0", f"{base}/documents?token={token}"):
        answer = await api.get(url)
        assert answer.status_code == 200, (url, answer.text)
