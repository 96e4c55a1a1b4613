"""Every API request leaves an audit row, chained and verifiable."""

import asyncpg
import httpx
import pytest

from audit.verify import verify_chain
from domain.actors import Role
from settings import Settings
from tests.api_people import staff
from tests.helpers import valid_form

pytestmark = pytest.mark.usefixtures("worker")


async def test_actions_and_reads_are_in_the_audit_log(
    api: httpx.AsyncClient, settings: Settings, pool: asyncpg.Pool
) -> None:
    answer = await api.post("/api/v1/inquiries", json=valid_form())
    jid = answer.json()["journey_id"]
    coordinator = staff(settings, Role.COORDINATOR)
    await api.get(f"/api/v1/journeys/{jid}/patient", headers=coordinator)
    await api.post(
        f"/api/v1/journeys/{jid}/review",
        json={"outcome": "approve"},
        headers=staff(settings, Role.COORDINATOR),
    )
    rows = await pool.fetch(
        "SELECT seq, actor_id, actor_role, action, journey_id, detail FROM audit_log ORDER BY seq"
    )
    assert [(r["actor_role"], r["action"]) for r in rows] == [
        ("public", "POST /api/v1/inquiries"),
        ("coordinator", "GET /api/v1/journeys/{journey_id}/patient"),
        ("coordinator", "POST /api/v1/journeys/{journey_id}/review"),
    ]
    assert str(rows[1]["journey_id"]) == jid
    assert '"status": 403' in rows[2]["detail"] or '"status":403' in rows[2]["detail"]
    async with pool.acquire() as conn:
        report = await verify_chain(conn, settings.audit_key.get_secret_value().encode())
    assert report.ok and report.rows_checked == 3
