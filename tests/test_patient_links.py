"""Revoking a journey's patient links over the API: who may, what stops working, the new
link's email (once per generation, in the patient's language), and a relay that is down."""

import uuid
from pathlib import Path

import asyncpg
import httpx
import pytest

from api.app import create_app
from devstack.ports import free_port
from domain.actors import Role
from patient_links import mint_patient_link
from settings import Settings
from tests.api_people import link, link_from_email, staff
from tests.case_setup import inquiry
from tests.helpers import eventually, read_mailbox, text_of
from tests.journeys import seed_staff

pytestmark = pytest.mark.usefixtures("worker")


async def _journey(
    api: httpx.AsyncClient, settings: Settings, pool: asyncpg.Pool
) -> tuple[str, str]:
    await seed_staff(pool)
    jid = await inquiry(api, settings)
    pid = str(await pool.fetchval("SELECT patient_id FROM journeys WHERE journey_id = $1", jid))
    return jid, pid


async def test_only_a_coordinator_revokes_links(
    api: httpx.AsyncClient, settings: Settings, pool: asyncpg.Pool
) -> None:
    jid, pid = await _journey(api, settings, pool)
    route = f"/api/v1/journeys/{jid}/patient-link"
    for role in (
        Role.REVIEWER,
        Role.SPECIALIST,
        Role.CASE_MANAGER,
        Role.MEDICAL_LEAD,
        Role.AUDITOR,
    ):
        answer = await api.post(route, headers=staff(settings, role))
        assert answer.status_code == 403, (role, answer.text)
    assert (await api.post(route, headers=link(settings, jid, pid))).status_code == 403
    assert (await api.post(route)).status_code == 401
    unknown = await api.post(
        f"/api/v1/journeys/{uuid.uuid4()}/patient-link", headers=staff(settings, Role.COORDINATOR)
    )
    assert unknown.status_code == 404
    assert await pool.fetchval("SELECT count(*) FROM patient_links") == 0


async def test_revoking_stops_every_earlier_link_and_emails_a_new_one(
    api: httpx.AsyncClient, settings: Settings, pool: asyncpg.Pool, mail_dir: Path
) -> None:
    jid, pid = await _journey(api, settings, pool)
    base = f"/api/v1/journeys/{jid}"
    first = link(settings, jid, pid)
    assert (await api.get(base, headers=first)).status_code == 200

    renewed = await api.post(f"{base}/patient-link", headers=staff(settings, Role.COORDINATOR))
    assert renewed.status_code == 200, renewed.text
    assert renewed.json()["generation"] == 1
    refused = await api.get(base, headers=first)
    assert refused.status_code == 401
    assert "replaced by a newer one" in refused.json()["detail"]

    second = await link_from_email(mail_dir, jid)
    assert (await api.get(base, headers=second)).status_code == 200
    email = next(m for m in read_mailbox(mail_dir) if f"<{jid}.patient-link-1@" in m["Message-ID"])
    assert email["Content-Language"] == "es"
    assert "Estimada" in text_of(email) or "Estimado" in text_of(email)
    assert "/my-journey?token=" in text_of(email)

    # Again: the link of generation 1 stops too; each generation's email goes once.
    again = await api.post(f"{base}/patient-link", headers=staff(settings, Role.COORDINATOR))
    assert again.json()["generation"] == 2
    assert (await api.get(base, headers=second)).status_code == 401
    steps = [m["Message-ID"] for m in read_mailbox(mail_dir) if ".patient-link-" in m["Message-ID"]]
    assert len(steps) == len(set(steps)) == 2
    audit = await pool.fetch(
        "SELECT actor_id, detail->>'status' AS status FROM audit_log "
        "WHERE journey_id = $1 AND action = 'POST /api/v1/journeys/{journey_id}/patient-link'",
        uuid.UUID(jid),
    )
    assert [(r["actor_id"], r["status"]) for r in audit] == [("coord-1", "200")] * 2


async def test_links_the_journey_emails_after_a_revocation_carry_the_new_generation(
    api: httpx.AsyncClient, settings: Settings, pool: asyncpg.Pool, mail_dir: Path
) -> None:
    jid, _ = await _journey(api, settings, pool)
    base = f"/api/v1/journeys/{jid}"
    await api.post(f"{base}/patient-link", headers=staff(settings, Role.COORDINATOR))
    await api.post(
        f"{base}/review",
        json={"outcome": "request_documents", "documents": ["mri"]},
        headers=staff(settings, Role.REVIEWER),
    )

    async def documents_request_link() -> dict[str, str]:
        for message in read_mailbox(mail_dir):
            if f"<{jid}.documents-request-1@" in message["Message-ID"]:
                token = text_of(message).split("token=", 1)[1].split()[0]
                return {"Authorization": f"Bearer {token}"}
        return {}

    worker_link = await eventually(documents_request_link, what="the documents request")
    mine = await api.get(base, headers=worker_link)
    assert mine.status_code == 200, mine.text
    assert mine.json()["documents_requested"] == ["mri"]


async def test_a_relay_that_is_down_leaves_the_links_revoked_and_says_to_ask_again(
    settings: Settings, pool: asyncpg.Pool, api: httpx.AsyncClient
) -> None:
    jid, pid = await _journey(api, settings, pool)
    down = create_app(settings.model_copy(update={"smtp_port": free_port()}))
    async with down.router.lifespan_context(down):
        transport = httpx.ASGITransport(app=down)
        async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as http:
            answer = await http.post(
                f"/api/v1/journeys/{jid}/patient-link",
                headers=staff(settings, Role.COORDINATOR),
            )
            assert answer.status_code == 503
            assert "send this request again" in answer.json()["detail"]
            refused = await http.get(f"/api/v1/journeys/{jid}", headers=link(settings, jid, pid))
            assert refused.status_code == 401
    assert (
        await pool.fetchval(
            "SELECT status FROM outbox WHERE journey_id = $1 AND step = 'patient-link-1'",
            uuid.UUID(jid),
        )
        == "pending"
    )


async def test_the_patients_plain_words_come_in_the_language_asked_for(
    api: httpx.AsyncClient, settings: Settings, pool: asyncpg.Pool
) -> None:
    jid, pid = await _journey(api, settings, pool)
    token = mint_patient_link(settings, journey_id=jid, patient_id=pid)
    headers = {"Authorization": f"Bearer {token}"}
    english = (await api.get(f"/api/v1/journeys/{jid}", headers=headers)).json()
    assert english["message"] == "A medical reviewer is reading your case."
    assert english["waiting_on"] == "reviewer" and english["waiting_until"]
    spanish = (
        await api.get(f"/api/v1/journeys/{jid}", headers={**headers, "accept-language": "es"})
    ).json()
    assert spanish["message"] == "Un revisor médico está estudiando su caso."
