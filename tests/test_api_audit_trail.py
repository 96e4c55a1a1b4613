"""Every API request leaves an audit row, chained and verifiable."""

import json

import asyncpg
import httpx
import pytest

from api.app import create_app
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
    assert answer.status_code == 202, answer.text
    jid = answer.json()["journey_id"]
    coordinator = staff(settings, Role.COORDINATOR)
    read = await api.get(f"/api/v1/journeys/{jid}/patient", headers=coordinator)
    # A coordinator may not review: the refusal is recorded too.
    refused = await api.post(
        f"/api/v1/journeys/{jid}/review",
        json={"outcome": "approve"},
        headers=staff(settings, Role.COORDINATOR),
    )
    assert (read.status_code, refused.status_code) == (200, 403)
    rows = await pool.fetch(
        "SELECT seq, actor_id, actor_role, action, journey_id, detail FROM audit_log ORDER BY seq"
    )
    assert [(r["actor_role"], r["action"]) for r in rows] == [
        ("public", "POST /api/v1/inquiries"),
        ("coordinator", "GET /api/v1/journeys/{journey_id}/patient"),
        ("coordinator", "POST /api/v1/journeys/{journey_id}/review"),
    ]
    assert str(rows[1]["journey_id"]) == jid
    assert [json.loads(r["detail"])["status"] for r in rows] == [202, 200, 403]
    async with pool.acquire() as conn:
        report = await verify_chain(conn, settings.audit_key.get_secret_value().encode())
    assert report.ok and report.rows_checked == 3


async def test_a_request_that_fails_unexpectedly_is_recorded_as_a_500(
    settings: Settings, pool: asyncpg.Pool
) -> None:
    """A route that raises past every handler still leaves its row, with the status the
    client got."""
    app = create_app(settings)

    async def broken() -> None:
        raise RuntimeError("a bug")

    app.add_api_route("/api/v1/broken", broken, methods=["GET"])
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app, raise_app_exceptions=False)
        async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as http:
            answer = await http.get("/api/v1/broken")
    assert answer.status_code == 500
    rows = await pool.fetch("SELECT action, detail FROM audit_log ORDER BY seq")
    assert [(r["action"], json.loads(r["detail"])) for r in rows] == [
        ("GET /api/v1/broken", {"status": 500})
    ]
