"""Every read of health data is audited and fails closed; the log keeps address tags, not
addresses; and it answers "who saw my data?"."""

import uuid
from collections.abc import AsyncIterator

import asyncpg
import httpx
import pytest

from audit.log import address_key, address_tag
from domain.actors import Role
from settings import Settings
from tests.api_people import staff
from tests.app_client import app_client
from tests.journey_rows import store_inquiry

NAME = "Zephyrine Quillfeather"


async def _stored_journey(pool: asyncpg.Pool) -> str:
    async with pool.acquire() as conn:
        stored = await store_inquiry(conn, full_name=NAME)
    return stored.journey_id


@pytest.fixture
async def app_role(pool: asyncpg.Pool, database_url: str) -> AsyncIterator[tuple[str, str]]:
    """A login role for the API with the rights a deployment gives it (not a superuser, whom
    no REVOKE binds), and the database URL that connects as it."""
    role = f"journeys_app_{uuid.uuid4().hex[:8]}"
    await pool.execute(f"CREATE ROLE {role} LOGIN")
    await pool.execute(f"GRANT USAGE ON SCHEMA public TO {role}")
    await pool.execute(
        f"GRANT SELECT, INSERT, UPDATE, DELETE ON ALL TABLES IN SCHEMA public TO {role}"
    )
    assert database_url.startswith("postgresql://postgres:@")
    try:
        yield role, database_url.replace("postgresql://postgres:@", f"postgresql://{role}:@", 1)
    finally:
        await pool.execute(f"DROP OWNED BY {role}")
        await pool.execute(f"DROP ROLE {role}")


async def test_no_health_data_leaves_without_its_audit_row(
    settings: Settings, pool: asyncpg.Pool, app_role: tuple[str, str]
) -> None:
    role, url = app_role
    jid = await _stored_journey(pool)
    path = f"/api/v1/journeys/{jid}/patient"
    coordinator = staff(settings, Role.COORDINATOR)
    async with app_client(settings.model_copy(update={"database_url": url})) as http:
        read = await http.get(path, headers=coordinator)
        assert read.status_code == 200 and read.json()["full_name"] == NAME
        rows = await pool.fetchval("SELECT count(*) FROM audit_log")

        # The audit log refuses the API's role for real: the write fails in PostgreSQL.
        await pool.execute(f"REVOKE INSERT ON audit_log FROM {role}")
        refused = await http.get(path, headers=coordinator)
        assert refused.status_code == 503, refused.text
        assert refused.headers["content-type"] == "application/problem+json"
        assert NAME not in refused.text and "Quillfeather" not in refused.text
        assert "audit log" in refused.json()["detail"]
        assert await pool.fetchval("SELECT count(*) FROM audit_log") == rows

        await pool.execute(f"GRANT INSERT ON audit_log TO {role}")
        again = await http.get(path, headers=coordinator)
        assert again.status_code == 200 and again.json()["full_name"] == NAME


async def test_the_log_keeps_a_keyed_tag_of_the_client_address(
    api: httpx.AsyncClient, settings: Settings, pool: asyncpg.Pool
) -> None:
    jid = await _stored_journey(pool)
    await api.get(f"/api/v1/journeys/{jid}/patient", headers=staff(settings, Role.COORDINATOR))
    sources = {r["source"] for r in await pool.fetch("SELECT source FROM audit_log")}
    # httpx's in-process transport calls from 127.0.0.1.
    key = address_key(settings.audit_key.get_secret_value().encode())
    assert sources == {address_tag(key, "127.0.0.1")}
    assert address_tag(key, "127.0.0.2") not in sources


async def test_a_privacy_officer_sees_who_accessed_the_patient_s_data(
    api: httpx.AsyncClient, settings: Settings, pool: asyncpg.Pool
) -> None:
    jid = await _stored_journey(pool)
    other = await _stored_journey(pool)
    # With the reviewers, whom every reviewer reaches.
    await pool.execute(
        "UPDATE journeys SET stage = 'VALIDATION', waiting_on = 'reviewer' WHERE journey_id = $1",
        uuid.UUID(jid),
    )
    base = f"/api/v1/journeys/{jid}"
    await api.get(f"{base}/patient", headers=staff(settings, Role.COORDINATOR))
    await api.get(f"{base}/patient", headers=staff(settings, Role.REVIEWER))
    await api.get(f"/api/v1/journeys/{other}/patient", headers=staff(settings, Role.SPECIALIST))

    for refused in (Role.COORDINATOR, Role.REVIEWER, Role.CASE_MANAGER):
        answer = await api.get(f"{base}/accesses", headers=staff(settings, refused))
        assert answer.status_code == 403, refused
    answer = await api.get(f"{base}/accesses", headers=staff(settings, Role.PRIVACY_OFFICER))
    assert answer.status_code == 200, answer.text
    seen = [(a["actor_id"], a["actor_role"], a["action"], a["status"]) for a in answer.json()]
    patient = "GET /api/v1/journeys/{journey_id}/patient"
    assert seen[:2] == [
        ("coord-1", "coordinator", patient, 200),
        ("rev-1", "reviewer", patient, 200),
    ]
    assert all(actor != "spec-1" for actor, *_ in seen), "another journey's reads are not listed"
    assert [a["actor_role"] for a in answer.json()][2:5] == [
        "coordinator",
        "reviewer",
        "case_manager",
    ], "the refused attempts are accesses too"
    audited = await api.get(f"{base}/accesses", headers=staff(settings, Role.AUDITOR))
    assert audited.status_code == 200
