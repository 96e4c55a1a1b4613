"""Erasure (GDPR Art. 17): a whole journey's personal data goes, from every table and from the
specialist's calendar, and a `pg_dump` of the database holds none of it; the histories still
replay and the audit log still verifies."""

from datetime import date, timedelta
from decimal import Decimal
from pathlib import Path

import asyncpg
import httpx
import pytest
from temporalio.testing import WorkflowEnvironment

from activities.bookings import booking_uid
from db.clinical import ClinicalRepository
from devstack.postgres import EmbeddedPostgres
from domain.actors import Role
from domain.stages import Stage
from integrations.calendar import specialist_calendar
from settings import Settings
from tests.api_people import staff
from tests.journey_rows import add_document, store_inquiry
from tests.journeys import JourneyDriver, seed_staff
from tests.privacy_checks import chain_intact, dump, found_in, histories_replay, needles
from worker import calendar_client

pytestmark = pytest.mark.usefixtures("worker")

SENTINELS = {
    "full_name": "Zephyrine Quillfeather",
    "email": "zq.sentinel@example.org",
    "phone": "+34 699 000 111",
    "medical_history": "SENTINEL-HISTORY-7731 spasticity grade 3 since the fall",
}
NOTE = "SENTINEL-RECORD-NOTE-4410"
USER_AGENT = "SentinelBrowser/5150"
ADDRESS = "198.51.100.77"
FILENAME = "SENTINEL-FILE-3307.pdf"
FLIGHT = "SENTINEL-FLIGHT-IB6301"
CLINIC_REF = "SENTINEL-CLINIC-REF-8080"
# Past the size PostgreSQL keeps in the row: stored out of line, in the table's TOAST table.
DOCUMENT = b"%PDF-1.4 SENTINEL-DOCUMENT-9921 " + bytes(range(256)) * 40
# As stored: the phone number without its spaces, the document's bytes as bytea's hex.
TEXTS = [
    *(v for k, v in SENTINELS.items() if k != "phone"),
    "+34699000111",
    "Quillfeather",
    NOTE,
    USER_AGENT,
    ADDRESS,
    FILENAME,
    FLIGHT,
    CLINIC_REF,
]
BINARY = (b"SENTINEL-DOCUMENT-9921",)
REASON = "the patient's request by letter of 2026-11-02 (GDPR Art. 17)"


async def _complete_journey_full_of_sentinels(
    driver: JourneyDriver, pool: asyncpg.Pool
) -> JourneyDriver:
    j = await driver.start(**SENTINELS)
    await pool.execute(
        "UPDATE consents SET user_agent = $2, source_address = $3 WHERE journey_id = $1",
        j.journey_id,
        USER_AGENT,
        ADDRESS,
    )
    await add_document(
        pool, j.journey_id, filename=FILENAME, content=DOCUMENT, uploaded_by=j.patient.id
    )
    await j.approve()
    await j.hold_consult(notes=NOTE)
    await j.accept_plan()
    await j.send_travel()
    async with pool.acquire() as conn:
        clinical = ClinicalRepository(conn)
        await clinical.add_travel_record(
            journey_id=j.journey_id,
            arrival_date=date(2031, 1, 1),
            departure_date=date(2031, 1, 5),
            arrival_flight=FLIGHT,
            departure_flight=FLIGHT,
            companions=1,
            needs_visa=True,
            notes=NOTE,
            submitted_by=j.patient.id,
        )
    await pool.execute(
        "UPDATE bookings SET external_ref = $2 WHERE journey_id = $1 AND kind = 'clinic_visit'",
        j.journey_id,
        CLINIC_REF,
    )
    await j.sleep(timedelta(days=31))
    await j.treat(notes=NOTE)
    async with pool.acquire() as conn:
        await ClinicalRepository(conn).add_adverse_event(
            journey_id=j.journey_id, severity="mild", description=NOTE
        )
        await ClinicalRepository(conn).add_rehab_checkin(
            journey_id=j.journey_id,
            week=40,
            walking_hours_per_day=Decimal("6.0"),
            days_per_week=6,
            notes=NOTE,
        )
    await j.follow_up_year(notes=NOTE, checkin_weeks=2)
    assert (await j.result()).stage is Stage.COMPLETED
    return j


async def _consult_busy(settings: Settings, pool: asyncpg.Pool, journey_id: str) -> int:
    """How many calendar entries the journey's consults still hold."""
    calendar = calendar_client(settings)
    assert calendar is not None
    rows = await pool.fetch(
        """SELECT b.booking_id, b.starts_at, b.ends_at, s.specialist_id
             FROM bookings b JOIN consult_slots s USING (slot_id) WHERE b.journey_id = $1""",
        journey_id,
    )
    assert rows, "the journey booked a consult"
    found = 0
    for r in rows:
        assert booking_uid(r["booking_id"])
        found += len(
            await calendar.busy(
                specialist_calendar(r["specialist_id"]), r["starts_at"], r["ends_at"]
            )
        )
    return found


async def test_an_erased_journey_leaves_no_personal_data_in_the_database(
    api: httpx.AsyncClient,
    temporal_env: WorkflowEnvironment,
    pool: asyncpg.Pool,
    settings: Settings,
    driver: JourneyDriver,
    pg_server: EmbeddedPostgres,
    database_url: str,
) -> None:
    j = await _complete_journey_full_of_sentinels(driver, pool)
    jid = j.journey_id
    wanted = needles(TEXTS, BINARY)
    # The dump finds every sentinel before: the test would prove nothing otherwise.
    assert found_in(await dump(pg_server, database_url), wanted) == wanted
    held = await _consult_busy(settings, pool, jid)
    assert held == 6, "the consultation and the five follow-up consults are in the calendar"
    seen = await api.get(
        f"/api/v1/journeys/{jid}/patient", headers=staff(settings, Role.COORDINATOR)
    )
    assert seen.json()["full_name"] == SENTINELS["full_name"]

    answer = await api.post(
        f"/api/v1/journeys/{jid}/erasure",
        json={"reason": REASON},
        headers=staff(settings, Role.PRIVACY_OFFICER),
    )
    assert answer.status_code == 200, answer.text
    tombstone = answer.json()
    assert tombstone["erased_by"] == "privacy-1" and tombstone["erased_role"] == "privacy_officer"
    assert tombstone["reason"] == REASON and tombstone["trigger"] == "request"
    assert tombstone["changed"]["documents"] == 1 and tombstone["changed"]["patients"] == 1

    assert found_in(await dump(pg_server, database_url), wanted) == []
    assert await _consult_busy(settings, pool, jid) == 0, "the calendar event went too"
    # What stays: ids, stages and dates.
    row = await pool.fetchrow("SELECT stage, created_at FROM journeys WHERE journey_id = $1", jid)
    assert row["stage"] == "COMPLETED" and row["created_at"] is not None
    assert await pool.fetchval("SELECT count(*) FROM stage_changes WHERE journey_id = $1", jid) > 5
    consent = await pool.fetchrow("SELECT * FROM consents WHERE journey_id = $1", jid)
    assert consent["text_version"] == "2026-01" and consent["granted_at"] is not None
    gone = await api.get(
        f"/api/v1/journeys/{jid}/patient", headers=staff(settings, Role.COORDINATOR)
    )
    assert gone.status_code == 410

    # The histories held no personal data, so nothing in them changed: they replay, and the
    # audit chain, which holds none either, verifies.
    assert await histories_replay(temporal_env.client, jid) >= 2
    assert await chain_intact(pool, settings)
    erase_row = await pool.fetchrow(
        "SELECT actor_id, detail FROM audit_log WHERE action = 'privacy.erase'"
    )
    assert erase_row["actor_id"] == "privacy-1"

    # Again, and for a journey that does not exist: refused, nothing changed.
    before = await pool.fetchval("SELECT count(*) FROM erasure_requests")
    again = await api.post(
        f"/api/v1/journeys/{jid}/erasure",
        json={"reason": REASON},
        headers=staff(settings, Role.PRIVACY_OFFICER),
    )
    assert again.status_code == 409 and "already erased" in again.json()["detail"]
    unknown = await api.post(
        "/api/v1/journeys/00000000-0000-4000-8000-000000000000/erasure",
        json={"reason": REASON},
        headers=staff(settings, Role.PRIVACY_OFFICER),
    )
    assert unknown.status_code == 404
    assert await pool.fetchval("SELECT count(*) FROM erasure_requests") == before
    assert await pool.fetchval("SELECT count(*) FROM erasures") == 1


async def _running_journey(api: httpx.AsyncClient, settings: Settings, pool: asyncpg.Pool) -> str:
    from tests.helpers import eventually, valid_form

    await seed_staff(pool)
    jid = str((await api.post("/api/v1/inquiries", json=valid_form())).json()["journey_id"])

    async def waiting() -> str:
        answer = await api.get(f"/api/v1/journeys/{jid}", headers=staff(settings, Role.COORDINATOR))
        return str(answer.json().get("waiting_on"))

    await eventually(waiting, until=lambda w: w == "reviewer")
    return jid


async def test_a_running_journey_is_withdrawn_first_and_its_bookings_undone(
    api: httpx.AsyncClient, settings: Settings, pool: asyncpg.Pool, mail_dir: Path
) -> None:
    from tests.helpers import eventually, read_mailbox, text_of

    jid = await _running_journey(api, settings, pool)
    base = f"/api/v1/journeys/{jid}"
    coordinator = staff(settings, Role.COORDINATOR)
    await api.post(
        f"{base}/review", json={"outcome": "approve"}, headers=staff(settings, Role.REVIEWER)
    )

    async def slots() -> list[dict[str, str]]:
        answer = await api.get(f"{base}/consult/slots", headers=coordinator)
        found: list[dict[str, str]] = answer.json() if answer.status_code == 200 else []
        return found

    offered = await eventually(slots, what="consult slots")
    booked = await api.post(
        f"{base}/consult/booking", json={"slot_id": offered[0]["slot_id"]}, headers=coordinator
    )
    assert booked.status_code == 200, booked.text
    assert await _consult_busy(settings, pool, jid) == 1

    answer = await api.post(
        f"{base}/erasure", json={"reason": REASON}, headers=staff(settings, Role.PRIVACY_OFFICER)
    )
    assert answer.status_code == 200, answer.text
    status = (await api.get(base, headers=coordinator)).json()
    assert status["stage"] == "WITHDRAWN"
    assert status["transitions"][-1]["actor_role"] == "privacy_officer"
    assert (
        await pool.fetchval(
            "SELECT status FROM bookings WHERE journey_id = $1 AND kind = 'consult'", jid
        )
        == "cancelled"
    )
    assert await _consult_busy(settings, pool, jid) == 0
    # The confirmation was written before the address went, in the patient's language.
    [confirmation] = [m for m in read_mailbox(mail_dir) if f"{jid}.withdrawal@" in m["Message-ID"]]
    assert "se están borrando sus datos personales" in text_of(confirmation)
    assert (
        await pool.fetchval(
            "SELECT email FROM patients p JOIN journeys j USING (patient_id) WHERE journey_id = $1",
            jid,
        )
        == ""
    )


async def test_a_legal_hold_refuses_erasure_until_it_is_lifted(
    api: httpx.AsyncClient, settings: Settings, pool: asyncpg.Pool
) -> None:
    jid = await _running_journey(api, settings, pool)
    base = f"/api/v1/journeys/{jid}"
    officer = staff(settings, Role.PRIVACY_OFFICER)
    hold = {"reason": "records requested by the regulator, case 2026/114"}
    refused = await api.post(
        f"{base}/legal-hold", json=hold, headers=staff(settings, Role.COORDINATOR)
    )
    assert refused.status_code == 403
    placed = await api.post(f"{base}/legal-hold", json=hold, headers=officer)
    assert placed.status_code == 201, placed.text
    twice = await api.post(f"{base}/legal-hold", json=hold, headers=officer)
    assert twice.status_code == 409 and hold["reason"] in twice.json()["detail"]

    erase = await api.post(f"{base}/erasure", json={"reason": REASON}, headers=officer)
    assert erase.status_code == 409
    assert hold["reason"] in erase.json()["detail"], "the hold's reason says why"
    assert (await api.get(base, headers=officer)).status_code == 403, "officers read privacy"
    status = (await api.get(base, headers=staff(settings, Role.COORDINATOR))).json()
    assert status["stage"] == "VALIDATION", "nothing changed: not even withdrawn"
    assert await pool.fetchval("SELECT count(*) FROM erasure_requests") == 0

    lifted = await api.post(
        f"{base}/legal-hold/lift", json={"reason": "case closed"}, headers=officer
    )
    assert lifted.status_code == 200 and lifted.json()["lifted_by"] == "privacy-1"
    again = await api.post(
        f"{base}/legal-hold/lift", json={"reason": "case closed"}, headers=officer
    )
    assert again.status_code == 409
    erase = await api.post(f"{base}/erasure", json={"reason": REASON}, headers=officer)
    assert erase.status_code == 200, erase.text


async def test_coordinators_request_an_erasure_and_a_privacy_officer_carries_it_out(
    api: httpx.AsyncClient, settings: Settings, pool: asyncpg.Pool
) -> None:
    jid = await _running_journey(api, settings, pool)
    base = f"/api/v1/journeys/{jid}"
    coordinator, officer = staff(settings, Role.COORDINATOR), staff(settings, Role.PRIVACY_OFFICER)

    executed = await api.post(f"{base}/erasure", json={"reason": REASON}, headers=coordinator)
    assert executed.status_code == 403
    assert "erasure-requests" in executed.json()["detail"]
    for role in (Role.REVIEWER, Role.AUDITOR, Role.SPECIALIST):
        answer = await api.post(
            f"{base}/erasure", json={"reason": REASON}, headers=staff(settings, role)
        )
        assert answer.status_code == 403, role
    assert (await api.get(base, headers=coordinator)).json()["stage"] == "VALIDATION"

    asked = await api.post(f"{base}/erasure-requests", json={"reason": REASON}, headers=coordinator)
    assert asked.status_code == 201, asked.text
    request_id = asked.json()["request_id"]
    assert (await api.get("/api/v1/erasure-requests", headers=coordinator)).status_code == 403
    waiting = (await api.get("/api/v1/erasure-requests", headers=officer)).json()
    assert [r["request_id"] for r in waiting] == [request_id]

    wrong = await api.post(
        f"{base}/erasure",
        json={"request_id": "00000000-0000-4000-8000-000000000000"},
        headers=officer,
    )
    assert wrong.status_code == 404
    done = await api.post(f"{base}/erasure", json={"request_id": request_id}, headers=officer)
    assert done.status_code == 200, done.text
    assert done.json()["requested_by"] == "coord-1" and done.json()["erased_by"] == "privacy-1"
    assert done.json()["reason"] == REASON
    record = (await api.get(f"{base}/privacy", headers=coordinator)).json()
    assert record["erasure"]["request_id"] == request_id
    assert record["erasure_requests"][0]["executed_by"] == "privacy-1"
    assert (await api.get("/api/v1/erasure-requests", headers=officer)).json() == []


async def test_an_erasure_retried_after_it_committed_answers_as_the_first(
    pool: asyncpg.Pool, settings: Settings
) -> None:
    import uuid as uuid_module

    from temporalio.exceptions import ApplicationError
    from temporalio.testing import ActivityEnvironment

    from activities.privacy import PrivacyActivities
    from db.legal_holds import LegalHoldRepository
    from domain.actors import Actor
    from domain.privacy import ErasureOrder, ErasureRefusal

    async with pool.acquire() as conn:
        # Stored, its journey never started: nothing runs, so it may be erased at once.
        stored = await store_inquiry(conn)
        holds = LegalHoldRepository(conn)
        first_request = await holds.request_erasure(
            journey_id=stored.journey_id,
            reason=REASON,
            requested_by="coord-1",
            requested_role="coordinator",
        )
        second_request = await holds.request_erasure(
            journey_id=stored.journey_id,
            reason=REASON,
            requested_by="coord-1",
            requested_role="coordinator",
        )
    officer = Actor(id="privacy-1", role=Role.PRIVACY_OFFICER)
    activities = PrivacyActivities(pool, None, settings.audit_key.get_secret_value().encode())
    order = ErasureOrder(
        journey_id=stored.journey_id, request_id=first_request.request_id, actor=officer
    )
    env = ActivityEnvironment()
    first = await env.run(activities.erase_journey, order)
    retried = await env.run(activities.erase_journey, order)
    assert retried == first
    assert await pool.fetchval("SELECT count(*) FROM audit_log WHERE action = 'privacy.erase'") == 1

    other = order.model_copy(update={"request_id": second_request.request_id})
    with pytest.raises(ApplicationError) as refused:
        await env.run(activities.erase_journey, other)
    assert refused.value.type == ErasureRefusal.ALREADY_ERASED and refused.value.non_retryable
    stranger = order.model_copy(update={"request_id": str(uuid_module.uuid4())})
    with pytest.raises(ApplicationError) as unknown:
        await env.run(activities.erase_journey, stranger)
    assert unknown.value.type == ErasureRefusal.NO_SUCH_REQUEST
