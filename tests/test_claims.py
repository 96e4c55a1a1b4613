"""Claims through the API, against the real worker on Temporal's time-skipping server and a
real PostgreSQL: a reviewer claims a case, the others see who has it and are refused its review
with a code, nothing changed; the medical lead takes the claim over; a claim lapses; a
coordinator claims an incident. Every claim, release, takeover and lapse is in the audit log."""

import asyncio
import json
import uuid
from collections.abc import AsyncIterator
from datetime import datetime
from typing import Any

import asyncpg
import httpx
import pytest
from temporalio.client import Client

from api.app import create_app
from api.tokens import mint_staff_token
from db.staff import StaffRepository
from db.staff_directory import Acting, StaffDirectory
from domain.actors import Role
from domain.names import journey_workflow_id
from settings import Settings
from tests.api_people import staff
from tests.faults import USER_UNKNOWN, RefusingMailbox
from tests.helpers import eventually, valid_form
from tests.journey_rows import add_journey
from tests.journeys import seed_staff

FIRST, SECOND = "rev-1", "rev-2"


def _as(settings: Settings, person: str, role: Role) -> dict[str, str]:
    token = mint_staff_token(settings, subject=person, name=person, role=role)
    return {"Authorization": f"Bearer {token}"}


async def _reviewers(pool: asyncpg.Pool) -> None:
    await seed_staff(pool)
    async with pool.acquire() as conn:
        repo = StaffRepository(conn)
        await repo.add(
            staff_id=FIRST, full_name="Dr. Omar Haddad", email="haddad@clinic.test", role="reviewer"
        )
        await repo.add(
            staff_id=SECOND, full_name="Dr. Ana Ruiz", email="ruiz@clinic.test", role="reviewer"
        )


async def _status(api: httpx.AsyncClient, settings: Settings, jid: str) -> dict[str, Any]:
    answer = await api.get(f"/api/v1/journeys/{jid}", headers=staff(settings, Role.COORDINATOR))
    assert answer.status_code == 200, answer.text
    body: dict[str, Any] = answer.json()
    return body


async def _case_waiting_on_a_reviewer(api: httpx.AsyncClient, settings: Settings) -> str:
    answer = await api.post("/api/v1/inquiries", json=valid_form())
    assert answer.status_code == 202, answer.text
    jid = str(answer.json()["journey_id"])
    await eventually(
        lambda: _status(api, settings, jid),
        until=lambda s: s["waiting_on"] == "reviewer",
        what="the case with a reviewer",
    )
    return jid


async def _claim_rows(pool: asyncpg.Pool, jid: str) -> list[tuple[str, str, str, dict[str, Any]]]:
    """The audit log's claim rows of the journey: action, who, their role, the detail."""
    rows = await pool.fetch(
        """SELECT action, actor_id, actor_role, detail FROM audit_log
            WHERE journey_id = $1 AND action LIKE 'claim.%' ORDER BY seq""",
        uuid.UUID(jid),
    )
    return [(r["action"], r["actor_id"], r["actor_role"], json.loads(r["detail"])) for r in rows]


async def _refused_requests(pool: asyncpg.Pool, jid: str) -> list[tuple[str, str, str | None]]:
    """Each refused request's row on the journey: who, what, the refusal's code."""
    rows = await pool.fetch(
        "SELECT actor_id, action, detail FROM audit_log WHERE journey_id = $1 ORDER BY seq",
        uuid.UUID(jid),
    )
    return [
        (r["actor_id"], r["action"], json.loads(r["detail"]).get("reason"))
        for r in rows
        if json.loads(r["detail"]).get("status") == 409
    ]


async def _lapse(pool: asyncpg.Pool, jid: str, settings: Settings) -> None:
    """Let the journey's open claims go unattended past the lapse, as if that long had passed
    since their last action."""
    await pool.execute(
        """UPDATE claims SET active_at = active_at - $2::interval,
                             claimed_at = claimed_at - $2::interval
            WHERE journey_id = $1 AND ended_at IS NULL""",
        uuid.UUID(jid),
        settings.claim_lapse * 1.5,
    )


@pytest.mark.usefixtures("worker")
async def test_a_reviewer_claims_a_case_and_another_cannot_review_it(
    api: httpx.AsyncClient, settings: Settings, pool: asyncpg.Pool, client: Client
) -> None:
    await _reviewers(pool)
    jid = await _case_waiting_on_a_reviewer(api, settings)
    base = f"/api/v1/journeys/{jid}"
    first, second = _as(settings, FIRST, Role.REVIEWER), _as(settings, SECOND, Role.REVIEWER)
    lead = staff(settings, Role.MEDICAL_LEAD)

    assert (await api.get(f"{base}/claims", headers=second)).json() == []
    claimed = await api.post(f"{base}/claim", headers=first)
    assert claimed.status_code == 200, claimed.text
    claim = claimed.json()
    assert (claim["kind"], claim["holder_id"], claim["holder_name"]) == (
        "review",
        FIRST,
        "Dr. Omar Haddad",
    )
    since = datetime.fromisoformat(claim["claimed_at"])
    assert datetime.fromisoformat(claim["lapses_at"]) - since == settings.claim_lapse

    # The other reviewer sees who holds it and since when, on the list and on the journey.
    assert (await api.get(f"{base}/claims", headers=second)).json() == [claim]
    listed = await api.get("/api/v1/journeys", headers=second)
    (item,) = listed.json()["items"]
    assert item["claims"] == [claim]
    # It no longer waits on them: it is their colleague's.
    assert (item["waiting_on_you"], listed.json()["waiting_on_you"]) == (False, 0)
    mine = (await api.get("/api/v1/journeys", headers=first)).json()
    assert (mine["items"][0]["waiting_on_you"], mine["waiting_on_you"]) == (True, 1)

    # Their review is refused with a code, naming who holds the case; nothing changes.
    history_before = len(
        (await client.get_workflow_handle(journey_workflow_id(jid)).fetch_history()).events
    )
    refused = await api.post(f"{base}/review", json={"outcome": "approve"}, headers=second)
    assert refused.status_code == 409, refused.text
    assert refused.headers["content-type"] == "application/problem+json"
    problem = refused.json()
    assert problem["code"] == "case_claimed"
    assert problem["params"]["claimed_by"] == FIRST
    assert datetime.fromisoformat(problem["params"]["claimed_at"]) == since
    assert problem["detail"].startswith(f"{FIRST} has claimed this case since ")
    history_after = len(
        (await client.get_workflow_handle(journey_workflow_id(jid)).fetch_history()).events
    )
    assert history_after == history_before, "the refused review never reached the journey"
    assert (await _status(api, settings, jid))["waiting_on"] == "reviewer"
    # Nor can they claim it or release it.
    again = await api.post(f"{base}/claim", headers=second)
    assert (again.status_code, again.json()["code"]) == (409, "case_claimed")
    released = await api.delete(f"{base}/claim", headers=second)
    assert (released.status_code, released.json()["code"]) == (409, "not_your_claim")
    # The medical lead, too, is refused until they take the claim over.
    led = await api.post(f"{base}/review", json={"outcome": "approve"}, headers=lead)
    assert (led.status_code, led.json()["code"]) == (409, "case_claimed")
    # A reviewer cannot take a claim over.
    grabbed = await api.post(f"{base}/claim/takeover", headers=second)
    assert grabbed.status_code == 403

    taken = await api.post(f"{base}/claim/takeover", headers=lead)
    assert taken.status_code == 200, taken.text
    assert (taken.json()["holder_id"], taken.json()["taken_over_from"]) == ("lead-1", FIRST)
    assert taken.json()["taken_over_from_name"] == "Dr. Omar Haddad"
    back = await api.post(f"{base}/review", json={"outcome": "approve"}, headers=first)
    assert (back.status_code, back.json()["code"]) == (409, "case_claimed")
    assert (await api.delete(f"{base}/claim", headers=lead)).status_code == 204
    assert (await api.get(f"{base}/claims", headers=first)).json() == []
    nobody = await api.post(f"{base}/claim/takeover", headers=lead)
    assert (nobody.status_code, nobody.json()["code"]) == (409, "not_claimed")

    # A claim left unattended lapses: the case is anyone's again.
    assert (await api.post(f"{base}/claim", headers=second)).status_code == 200
    await _lapse(pool, jid, settings)
    assert (await api.get(f"{base}/claims", headers=first)).json() == []
    assert (await api.post(f"{base}/claim", headers=first)).status_code == 200
    approved = await api.post(f"{base}/review", json={"outcome": "approve"}, headers=first)
    assert approved.status_code == 200, approved.text
    assert approved.json()["transitions"][-1]["actor_id"] == FIRST
    # The review done, the claim has done its work.
    assert (await api.get(f"{base}/claims", headers=first)).json() == []
    await eventually(
        lambda: _status(api, settings, jid),
        until=lambda s: s["stage"] != "VALIDATION",
        what="the case past validation",
    )
    after = await api.post(f"{base}/claim", headers=first)
    assert (after.status_code, after.json()["code"]) == (409, "wrong_stage")

    rows = await _claim_rows(pool, jid)
    assert [(action, who, role) for action, who, role, _ in rows] == [
        ("claim.claimed", FIRST, "reviewer"),
        ("claim.taken_over", "lead-1", "medical_lead"),
        ("claim.released", "lead-1", "medical_lead"),
        ("claim.claimed", SECOND, "reviewer"),
        ("claim.lapsed", "system", "system"),
        ("claim.claimed", FIRST, "reviewer"),
        ("claim.step_taken", FIRST, "reviewer"),
    ]
    taken_over = rows[1][3]
    assert (taken_over["from"], taken_over["from_role"], taken_over["kind"]) == (
        FIRST,
        "reviewer",
        "review",
    )
    lapsed = rows[4][3]
    assert (lapsed["holder"], lapsed["holder_role"]) == (SECOND, "reviewer")
    assert lapsed["claim_id"] == rows[3][3]["claim_id"]
    # Each refusal's request row says why, by its code.
    assert [(who, why) for who, _, why in await _refused_requests(pool, jid)] == [
        (SECOND, "case_claimed"),
        (SECOND, "case_claimed"),
        (SECOND, "not_your_claim"),
        ("lead-1", "case_claimed"),
        (FIRST, "case_claimed"),
        ("lead-1", "not_claimed"),
        (FIRST, "wrong_stage"),
    ]


@pytest.mark.usefixtures("worker")
async def test_claims_are_refused_to_roles_that_claim_nothing_and_for_nothing_open(
    api: httpx.AsyncClient, settings: Settings, pool: asyncpg.Pool
) -> None:
    await _reviewers(pool)
    jid = await _case_waiting_on_a_reviewer(api, settings)
    base = f"/api/v1/journeys/{jid}"
    for role in (Role.SPECIALIST, Role.CASE_MANAGER, Role.AUDITOR, Role.PRIVACY_OFFICER):
        answer = await api.post(f"{base}/claim", headers=staff(settings, role))
        assert answer.status_code == 403, (role, answer.text)
    # A coordinator claims incidents: this journey has none open.
    none = await api.post(f"{base}/claim", headers=staff(settings, Role.COORDINATOR))
    assert (none.status_code, none.json()["code"]) == (409, "no_open_incident")
    unknown = await api.post(
        f"/api/v1/journeys/{uuid.uuid4()}/claim", headers=staff(settings, Role.REVIEWER)
    )
    assert unknown.status_code == 404
    bad = await api.post(
        "/api/v1/journeys/not-a-journey/claim", headers=staff(settings, Role.REVIEWER)
    )
    assert bad.status_code == 422
    assert await pool.fetchval("SELECT count(*) FROM claims") == 0
    assert await _claim_rows(pool, jid) == []


async def test_the_api_ends_and_audits_lapsed_claims_on_its_own(
    settings: Settings, pool: asyncpg.Pool
) -> None:
    """No one opens the journey again: the API's sweep still records the lapse."""
    await _reviewers(pool)
    jid = await add_journey(pool)
    swept = settings.model_copy(update={"claim_sweep_seconds": 0.05})
    app = create_app(swept)
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as api:
            claimed = await api.post(
                f"/api/v1/journeys/{jid}/claim", headers=_as(settings, FIRST, Role.REVIEWER)
            )
            assert claimed.status_code == 200, claimed.text
            await _lapse(pool, jid, settings)

            async def ended() -> str | None:
                reason: str | None = await pool.fetchval("SELECT end_reason FROM claims")
                return reason

            assert await eventually(ended, what="the lapse recorded") == "lapsed"
    rows = await _claim_rows(pool, jid)
    assert [(action, who) for action, who, _, _ in rows] == [
        ("claim.claimed", FIRST),
        ("claim.lapsed", "system"),
    ]


async def test_a_coordinator_claims_an_incident_and_another_cannot_resolve_it(
    api: httpx.AsyncClient, settings: Settings, pool: asyncpg.Pool, relay: RefusingMailbox
) -> None:
    await seed_staff(pool)
    relay.refuse("refused.example", USER_UNKNOWN)
    answer = await api.post("/api/v1/inquiries", json=valid_form(email="ana@refused.example"))
    jid = str(answer.json()["journey_id"])
    base = f"/api/v1/journeys/{jid}"
    status = await eventually(
        lambda: _status(api, settings, jid),
        until=lambda s: s["incident"] is not None,
        what="an incident",
    )
    number = status["incident"]["number"]
    first = _as(settings, "coord-1", Role.COORDINATOR)
    second = _as(settings, "coord-2", Role.COORDINATOR)

    async def incident_recorded() -> int:
        count: int = await pool.fetchval(
            "SELECT count(*) FROM incidents WHERE journey_id = $1 AND resolved_at IS NULL",
            uuid.UUID(jid),
        )
        return count

    await eventually(incident_recorded, what="the incident in PostgreSQL")
    claimed = await api.post(f"{base}/claim", headers=first)
    assert claimed.status_code == 200, claimed.text
    assert (claimed.json()["kind"], claimed.json()["holder_id"]) == ("incident", "coord-1")
    # Reviewers claim cases in validation, which this one has not reached.
    early = await api.post(f"{base}/claim", headers=staff(settings, Role.REVIEWER))
    assert early.status_code == 403, early.text

    refused = await api.post(
        f"{base}/incident/resolution",
        json={"action": "withdraw", "incident_number": number},
        headers=second,
    )
    assert refused.status_code == 409, refused.text
    assert (refused.json()["code"], refused.json()["params"]["claimed_by"]) == (
        "incident_claimed",
        "coord-1",
    )
    still = await _status(api, settings, jid)
    assert (still["incident"]["number"], still["stage"]) == (number, "INQUIRY")
    # No one takes a coordinator's claim over: it is released, or it lapses.
    over = await api.post(f"{base}/claim/takeover", headers=second)
    assert over.status_code == 403

    resolved = await api.post(
        f"{base}/incident/resolution",
        json={"action": "skip", "incident_number": number},
        headers=first,
    )
    assert resolved.status_code == 200, resolved.text
    assert (await api.get(f"{base}/claims", headers=second)).json() == []
    rows = await _claim_rows(pool, jid)
    assert [(action, who) for action, who, _, _ in rows] == [
        ("claim.claimed", "coord-1"),
        ("claim.step_taken", "coord-1"),
    ]
    assert rows[0][3]["kind"] == "incident"


@pytest.fixture
async def two_replicas(
    settings: Settings,
) -> AsyncIterator[tuple[httpx.AsyncClient, httpx.AsyncClient]]:
    """Two API replicas on one database, as production runs them."""
    apps = [create_app(settings), create_app(settings)]
    async with apps[0].router.lifespan_context(apps[0]), apps[1].router.lifespan_context(apps[1]):
        clients = [
            httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://testserver")
            for app in apps
        ]
        async with clients[0], clients[1]:
            yield clients[0], clients[1]


async def test_two_reviewers_claiming_at_once_on_two_replicas_one_wins(
    two_replicas: tuple[httpx.AsyncClient, httpx.AsyncClient],
    settings: Settings,
    pool: asyncpg.Pool,
) -> None:
    await _reviewers(pool)
    jid = await add_journey(pool)
    one, two = two_replicas
    answers = await asyncio.gather(
        one.post(f"/api/v1/journeys/{jid}/claim", headers=_as(settings, FIRST, Role.REVIEWER)),
        two.post(f"/api/v1/journeys/{jid}/claim", headers=_as(settings, SECOND, Role.REVIEWER)),
    )
    assert sorted(a.status_code for a in answers) == [200, 409]
    loser = next(a for a in answers if a.status_code == 409)
    winner = next(a for a in answers if a.status_code == 200)
    assert loser.json()["params"]["claimed_by"] == winner.json()["holder_id"]
    assert await pool.fetchval("SELECT count(*) FROM claims") == 1


async def test_a_claim_ends_when_the_directory_deactivates_its_holder(
    api: httpx.AsyncClient, settings: Settings, pool: asyncpg.Pool
) -> None:
    """A reviewer who left holds nothing: the case is anyone's again at once, and the end is
    the system's row naming them."""
    await _reviewers(pool)
    jid = await add_journey(pool)
    base = f"/api/v1/journeys/{jid}"
    first, second = _as(settings, FIRST, Role.REVIEWER), _as(settings, SECOND, Role.REVIEWER)
    assert (await api.post(f"{base}/claim", headers=first)).status_code == 200
    async with pool.acquire() as conn:
        directory = StaffDirectory(
            conn,
            audit_key=settings.audit_key.get_secret_value().encode(),
            acting=Acting(actor_id="admin-1", actor_role=Role.STAFF_ADMIN.value),
        )
        assert await directory.deactivate(FIRST) is not None
    assert (await api.get(f"{base}/claims", headers=second)).json() == []
    taken = await api.post(f"{base}/claim", headers=second)
    assert (taken.status_code, taken.json()["holder_id"]) == (200, SECOND)
    rows = await _claim_rows(pool, jid)
    assert [(action, who) for action, who, _, _ in rows] == [
        ("claim.claimed", FIRST),
        ("claim.holder_left", "system"),
        ("claim.claimed", SECOND),
    ]
    assert rows[1][3]["holder"] == FIRST
