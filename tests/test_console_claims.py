"""Claims in the console over HTTP (the browser's part is tests/test_console_claims_browser.py):
the forms carry the form token, the worklist and the case page name who holds a case, a
refused claim or step says why in the reader's language and changes nothing, and the medical
lead takes a claim over. Against the real worker on Temporal's time-skipping server."""

import html
import json
import re
import uuid
from collections.abc import AsyncIterator

import asyncpg
import httpx
import pytest
from fastapi import FastAPI

from db.staff import StaffRepository
from devstack.demo_staff import seed_demo_staff
from settings import Settings
from tests.app_client import running_app, signed_in
from tests.helpers import eventually, valid_form

pytestmark = pytest.mark.usefixtures("worker")

FIRST, SECOND, LEAD = "demo-reviewer", "second-reviewer", "demo-lead"
FIRST_NAME, SECOND_NAME = "Dr. Omar Haddad", "Dr. Ana Ruiz"


async def add_second_reviewer(pool: asyncpg.Pool, languages: list[str] | None = None) -> None:
    """A reviewer in Madrid besides the demo one, to hold or be refused the same case."""
    async with pool.acquire() as conn:
        await StaffRepository(conn).add(
            staff_id=SECOND,
            full_name=SECOND_NAME,
            email="ana.ruiz@journeys.localhost",
            role="reviewer",
            languages=languages,
            time_zone="Europe/Madrid",
        )


@pytest.fixture
async def app(settings: Settings, pool: asyncpg.Pool) -> AsyncIterator[FastAPI]:
    await seed_demo_staff(settings.require_database_url())
    await add_second_reviewer(pool, languages=["es", "en"])
    async with running_app(settings) as served:
        yield served


async def _case(app: FastAPI) -> str:
    """A new inquiry, once it waits on a reviewer."""
    async with signed_in(app, "demo-coordinator") as (http, _):
        answer = await http.post("/api/v1/inquiries", json=valid_form())
        assert answer.status_code == 202, answer.text
        jid = str(answer.json()["journey_id"])

        async def case_page() -> str:
            return (await http.get(f"/staff/journeys/{jid}")).text

        await eventually(
            case_page,
            until=lambda text: "waiting on a medical reviewer to review" in text,
            what="the case with a reviewer",
        )
    return jid


def _text(page: httpx.Response) -> str:
    """The page's words, without its tags, as a reader reads them."""
    return " ".join(html.unescape(re.sub(r"<[^>]+>", " ", page.text)).split())


async def _claims(pool: asyncpg.Pool) -> list[tuple[str, str | None]]:
    rows = await pool.fetch("SELECT holder_id, end_reason FROM claims ORDER BY claimed_at")
    return [(r["holder_id"], r["end_reason"]) for r in rows]


async def test_a_reviewer_claims_from_the_worklist_and_the_other_sees_it_and_is_refused(
    app: FastAPI, pool: asyncpg.Pool
) -> None:
    jid = await _case(app)
    reference = jid[:8].upper()
    async with signed_in(app, FIRST) as (first, token):
        worklist = await first.get("/staff/?stage=VALIDATION")
        assert f'aria-label="Claim {reference}"' in worklist.text
        # Without the form token nothing is claimed.
        forged = await first.post(f"/staff/journeys/{jid}/claim", data={"next": "/staff/"})
        assert forged.status_code == 403
        assert await _claims(pool) == []
        claimed = await first.post(
            f"/staff/journeys/{jid}/claim",
            data={"csrf_token": token, "next": "/staff/?stage=VALIDATION"},
        )
        assert (claimed.status_code, claimed.headers["location"]) == (
            303,
            "/staff/?stage=VALIDATION",
        )
        assert await _claims(pool) == [(FIRST, None)]
        mine = _text(await first.get(f"/staff/journeys/{jid}"))
        assert "You have claimed this case since " in mine
        assert "Keep my claim" in mine and "Release my claim" in mine
        assert "Review the case" in mine

    # The second reviewer, reading Spanish, sees who holds it, then sends a review form as
    # from a page opened before the claim.
    async with signed_in(app, SECOND, "es") as (second, token):
        listed = _text(await second.get("/staff/"))
        assert f"{FIRST_NAME} desde " in listed
        assert f"Reservar {reference}" not in listed
        refused = await second.post(
            f"/staff/journeys/{jid}/actions/review",
            data={"csrf_token": token, "outcome": "approve"},
        )
        assert refused.status_code == 409
        words = _text(refused)
        assert f"No se realizó: {FIRST_NAME} tiene reservado este caso desde el " in words
        assert "no se ha cambiado nada" in words
        # The page now shows who holds it in place of the review's form.
        assert f"{FIRST_NAME} (Revisor/a médico/a) tiene reservado este caso desde el " in words
        assert 'action="/staff/journeys/' + jid + '/actions/review"' not in refused.text
        again = await second.post(f"/staff/journeys/{jid}/claim", data={"csrf_token": token})
        assert again.status_code == 409
        assert "No se realizó: " + FIRST_NAME in _text(again)
        released = await second.post(
            f"/staff/journeys/{jid}/claim/release", data={"csrf_token": token}
        )
        assert released.status_code == 409
        assert "No tiene ninguna reserva aquí" in _text(released)
        # A reviewer cannot take a claim over.
        taken = await second.post(
            f"/staff/journeys/{jid}/claim/takeover", data={"csrf_token": token}
        )
        assert taken.status_code == 403
    assert await _claims(pool) == [(FIRST, None)]
    assert (
        await pool.fetchval("SELECT stage FROM journeys WHERE journey_id = $1", uuid.UUID(jid))
        == "VALIDATION"
    )

    # The medical lead takes it over; the first reviewer then reads that it was taken from them.
    async with signed_in(app, LEAD) as (lead, token):
        case = _text(await lead.get(f"/staff/journeys/{jid}"))
        assert f"{FIRST_NAME} (Medical reviewer) has claimed this case since " in case
        taken = await lead.post(f"/staff/journeys/{jid}/claim/takeover", data={"csrf_token": token})
        assert (taken.status_code, taken.headers["location"]) == (
            303,
            f"/staff/journeys/{jid}#claims",
        )
    async with signed_in(app, FIRST) as (first, token):
        case = _text(await first.get(f"/staff/journeys/{jid}"))
        assert "They took it over from you." in case
        assert "Dr. Marta Gil (Medical lead) has claimed this case since " in case
    assert await _claims(pool) == [(FIRST, "taken_over"), (LEAD, None)]
    rows = await pool.fetch(
        """SELECT action, actor_id, detail FROM audit_log
            WHERE journey_id = $1 AND action LIKE 'claim.%' ORDER BY seq""",
        uuid.UUID(jid),
    )
    assert [(r["action"], r["actor_id"]) for r in rows] == [
        ("claim.claimed", FIRST),
        ("claim.taken_over", LEAD),
    ]
    assert json.loads(rows[1]["detail"])["from"] == FIRST
    # The refused form's request row says why.
    reasons = await pool.fetch(
        """SELECT actor_id, detail->>'reason' AS reason FROM audit_log
            WHERE journey_id = $1 AND detail->>'status' = '409' ORDER BY seq""",
        uuid.UUID(jid),
    )
    assert [(r["actor_id"], r["reason"]) for r in reasons] == [
        (SECOND, "case_claimed"),
        (SECOND, "case_claimed"),
        (SECOND, "not_your_claim"),
    ]


async def test_the_holder_keeps_then_releases_their_claim(app: FastAPI, pool: asyncpg.Pool) -> None:
    jid = await _case(app)
    async with signed_in(app, FIRST) as (first, token):
        await first.post(f"/staff/journeys/{jid}/claim", data={"csrf_token": token})
        before = await pool.fetchval("SELECT active_at FROM claims")
        kept = await first.post(f"/staff/journeys/{jid}/claim", data={"csrf_token": token})
        assert kept.status_code == 303
        assert await pool.fetchval("SELECT active_at FROM claims") > before
        released = await first.post(
            f"/staff/journeys/{jid}/claim/release", data={"csrf_token": token}
        )
        assert released.status_code == 303
        case = _text(await first.get(f"/staff/journeys/{jid}"))
        assert "Nobody has claimed this case." in case
        assert "a claim lapses after 2 hours without action" in case
    assert await _claims(pool) == [(FIRST, "released")]
    actions = await pool.fetch(
        "SELECT action FROM audit_log WHERE action LIKE 'claim.%' ORDER BY seq"
    )
    assert [r["action"] for r in actions] == ["claim.claimed", "claim.kept", "claim.released"]
