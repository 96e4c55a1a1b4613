"""Every role against every route and every console page, on a journey their role reaches for
them (allowed) and on someone else's (refused, with a row in the audit log saying who, which
journey and why); every patient link against another journey; and each list showing a person
only the journeys they reach."""

import json
import re
import uuid
from collections.abc import AsyncIterator
from typing import Any

import asyncpg
import httpx
import pytest
from fastapi import FastAPI

from api.app import create_app
from api.authorization import reach_of, reaches
from api.tokens import Principal
from db.journey_queries import JourneyQueries
from db.staff import StaffRepository
from devstack.demo_staff import seed_demo_staff
from domain.actors import Actor, Role
from domain.readers import SCOPES, STAFF_ROLES, Scope
from domain.step_declarations import STEPS, StepName
from settings import Settings
from tests.api_people import STAFF_IDS, link, staff, staff_member
from tests.app_client import running_app, signed_in
from tests.case_setup import inquiry
from tests.helpers import eventually
from tests.journey_rows import add_document, add_journey
from tests.journeys import seed_staff

pytestmark = pytest.mark.usefixtures("worker")

PATIENT = Role.PATIENT
# Every role a member of staff may sign in with, a role added later included: each is held
# to the endpoints' expectations below.
STAFF = sorted(STAFF_ROLES)
ALL_STAFF = set(STAFF)
# The privacy officer reads a journey's privacy record, its export and its accesses, not its
# case: what they decide (an erasure, a hold) needs no clinical detail. Staff administrators
# keep the staff directory and read no journey at all.
CASE_READERS = ALL_STAFF - {Role.PRIVACY_OFFICER, Role.STAFF_ADMIN}
CLINICAL = {Role.COORDINATOR, Role.REVIEWER, Role.SPECIALIST, Role.CASE_MANAGER, Role.MEDICAL_LEAD}
# The roles that reach only the journeys assigned to their people.
ASSIGNED = {role for role, scope in SCOPES.items() if scope not in (Scope.EVERY, Scope.OWN_LINK)}

# (method, route under the journey, body, roles allowed): every route of the API that names a
# journey, but for those LEFT_OUT below.
ENDPOINTS: list[tuple[str, str, dict[str, Any] | None, set[Role]]] = [
    ("GET", "", None, CASE_READERS | {PATIENT}),
    ("GET", "/patient", None, CLINICAL),
    ("GET", "/case", None, CASE_READERS),
    ("GET", "/timeline", None, CASE_READERS),
    ("GET", "/consult/slots", None, {PATIENT, Role.COORDINATOR}),
    (
        "GET",
        "/follow-ups",
        None,
        {PATIENT, Role.COORDINATOR, Role.SPECIALIST, Role.CASE_MANAGER},
    ),
    ("GET", "/documents", None, CLINICAL | {PATIENT}),
    ("GET", "/documents/{document_id}", None, CLINICAL | {PATIENT}),
    # The privacy reads; their writes (erasure, holds) are the privacy tests' own.
    ("GET", "/privacy", None, {Role.PRIVACY_OFFICER, Role.COORDINATOR}),
    ("GET", "/export", None, {PATIENT, Role.PRIVACY_OFFICER}),
    ("GET", "/accesses", None, {Role.PRIVACY_OFFICER, Role.AUDITOR}),
    (
        "POST",
        "/review",
        {"outcome": "request_documents", "documents": ["mri"]},
        {Role.REVIEWER, Role.MEDICAL_LEAD},
    ),
    ("POST", "/documents", None, {PATIENT, Role.COORDINATOR}),
    ("POST", "/case-manager", {"case_manager_id": "cm-en"}, {Role.COORDINATOR}),
    ("POST", "/consult/booking", {"slot_id": "x"}, {PATIENT, Role.COORDINATOR}),
    ("POST", "/consult/reschedule", None, {PATIENT, Role.COORDINATOR}),
    ("POST", "/consult/outcome", {"eligible": False, "reason": "other"}, {Role.SPECIALIST}),
    ("POST", "/consult/no-show", None, {Role.SPECIALIST}),
    ("POST", "/plan/decision", {"accept": True}, {PATIENT}),
    (
        "POST",
        "/travel",
        {"arrival_date": "2031-01-01", "departure_date": "2031-01-06"},
        {PATIENT, Role.COORDINATOR},
    ),
    ("POST", "/clinic/confirmation", {"confirmed": True}, {Role.COORDINATOR}),
    (
        "POST",
        "/travel/change",
        {"arrival_date": "2031-01-01", "departure_date": "2031-01-06"},
        {PATIENT, Role.COORDINATOR},
    ),
    (
        "POST",
        "/partners/confirmation",
        {"booking": "hotel", "reference": "H-1", "confirmed_by": "Front desk"},
        {Role.COORDINATOR},
    ),
    (
        "POST",
        "/follow-ups/{number}/outcome",
        {"ais_grade": "C", "uems": 30, "lems": 12, "light_touch": 80, "pin_prick": 70},
        {Role.SPECIALIST},
    ),
    ("POST", "/follow-ups/{number}/booking", {"slot_id": "x"}, {PATIENT, Role.COORDINATOR}),
    ("POST", "/follow-ups/{number}/reschedule", None, {PATIENT, Role.COORDINATOR}),
    ("POST", "/follow-ups/{number}/no-show", None, {Role.SPECIALIST}),
    (
        "POST",
        "/rehab-checkins",
        {"week": 1, "walking_hours_per_day": 2, "days_per_week": 3},
        {PATIENT, Role.CASE_MANAGER},
    ),
    (
        "POST",
        "/rehab-follow-up",
        {"follow_up_no": 1, "outcome": "back_on_plan", "note": "Walks every morning again."},
        {Role.CASE_MANAGER, Role.COORDINATOR},
    ),
    ("POST", "/incident/resolution", {"action": "retry"}, {Role.COORDINATOR}),
    ("POST", "/contact", {"phone": "+34 600 999 888"}, {Role.COORDINATOR}),
    ("POST", "/clinic/admission", None, {Role.COORDINATOR}),
    (
        "POST",
        "/clinic/procedure",
        {"cells_given": 150_000_000, "minutes": 45, "lot": "LOT-1"},
        {Role.COORDINATOR},
    ),
    ("POST", "/clinic/discharge", None, {Role.COORDINATOR}),
    (
        "POST",
        "/clinic/adverse-events",
        {"severity": "mild", "description": "headache"},
        {Role.COORDINATOR, Role.SPECIALIST, Role.CASE_MANAGER},
    ),
    # Claims (api/claims.py): a reviewer or the medical lead claims the case in validation, a
    # coordinator an open incident (none here: theirs is refused, 409, not forbidden).
    ("GET", "/claims", None, CASE_READERS),
    ("POST", "/claim", None, {Role.REVIEWER, Role.MEDICAL_LEAD, Role.COORDINATOR}),
    ("POST", "/claim/takeover", None, {Role.MEDICAL_LEAD}),
    ("DELETE", "/claim", None, {Role.REVIEWER, Role.MEDICAL_LEAD, Role.COORDINATOR}),
]
# Routes that end the journey, erase or hold it, or change its links, whose matrix is the
# privacy and withdrawal tests': none is for a role whose reach is assigned.
LEFT_OUT = {
    ("POST", "/withdrawal"): StepName.WITHDRAW,
    ("POST", "/consent/withdrawal"): StepName.WITHDRAW_CONSENT,
    ("POST", "/erasure-requests"): StepName.REQUEST_ERASURE,
    ("POST", "/erasure"): StepName.ERASE,
    ("POST", "/legal-hold"): StepName.LEGAL_HOLD,
    ("POST", "/legal-hold/lift"): StepName.LEGAL_HOLD,
    ("POST", "/patient-link"): StepName.RENEW_PATIENT_LINK,
}
JOURNEY_ROUTE = "/api/v1/journeys/{journey_id}"


async def _journey(
    api: httpx.AsyncClient, settings: Settings, pool: asyncpg.Pool
) -> tuple[str, str]:
    jid = await inquiry(api, settings)
    pid = str(await pool.fetchval("SELECT patient_id FROM journeys WHERE journey_id = $1", jid))
    return jid, pid


async def _assign(pool: asyncpg.Pool, jid: str, *, case_manager: str, specialist: str) -> None:
    """Whom the journey is assigned to, as the workflow's activities would record it later on
    (the journey itself waits on a reviewer, whom every reviewer reaches)."""
    await pool.execute(
        "UPDATE journeys SET case_manager_id = $2, specialist_id = $3 WHERE journey_id = $1",
        uuid.UUID(jid),
        case_manager,
        specialist,
    )


async def _document(pool: asyncpg.Pool, jid: str) -> str:
    return await add_document(pool, jid, uploaded_by="coord-1")


async def _add_specialist(pool: asyncpg.Pool, staff_id: str) -> None:
    async with pool.acquire() as conn:
        await StaffRepository(conn).add(
            staff_id=staff_id,
            full_name="Dr. Jonas Berg",
            email="berg@clinic.test",
            role="specialist",
        )


async def _someone_elses(pool: asyncpg.Pool, *, case_manager: str) -> tuple[str, str]:
    """A journey past validation, decided by another reviewer and assigned to another case
    manager and specialist, with a document. Refusals are decided before the journey itself is
    asked, so its row in PostgreSQL is enough."""
    await _add_specialist(pool, "spec-2")
    jid = await add_journey(
        pool,
        stage="TELECONSULT",
        waiting_on="specialist",
        case_manager=case_manager,
        specialist="spec-2",
        reviewer="rev-2",
    )
    return jid, await _document(pool, jid)


def _url(jid: str, route: str, document_id: str) -> str:
    return f"/api/v1/journeys/{jid}" + route.format(document_id=document_id, number=1)


async def _refusals(pool: asyncpg.Pool, jid: str) -> list[tuple[str, str, int, str | None]]:
    """The audit log's rows of refused requests on the journey: who, what, status, why."""
    rows = await pool.fetch(
        "SELECT actor_id, action, detail FROM audit_log WHERE journey_id = $1 ORDER BY seq",
        uuid.UUID(jid),
    )
    found = []
    for row in rows:
        detail = json.loads(row["detail"])
        if detail.get("status") == 403:
            found.append((row["actor_id"], row["action"], 403, detail.get("reason")))
    return found


async def _listed(api: httpx.AsyncClient, headers: dict[str, str]) -> set[str]:
    answer = await api.get("/api/v1/journeys", params={"limit": 200}, headers=headers)
    assert answer.status_code == 200, answer.text
    body = answer.json()
    listed = {item["journey_id"] for item in body["items"]}
    assert body["total"] == len(listed) == sum(body["stages"].values())
    return listed


async def test_each_role_reaches_only_its_own_steps_on_its_own_journey(
    api: httpx.AsyncClient, settings: Settings, pool: asyncpg.Pool
) -> None:
    await seed_staff(pool)
    jid, pid = await _journey(api, settings, pool)
    await _assign(
        pool,
        jid,
        case_manager=STAFF_IDS[Role.CASE_MANAGER],
        specialist=STAFF_IDS[Role.SPECIALIST],
    )
    document_id = await _document(pool, jid)
    leaks = []
    for method, route, body, allowed in ENDPOINTS:
        for role in [*STAFF, PATIENT]:
            headers = link(settings, jid, pid) if role is PATIENT else staff(settings, role)
            url = _url(jid, route, document_id)
            answer = await api.request(method, url, json=body, headers=headers)
            refused = answer.status_code == 403
            # A permitted person gets the step's own answer (done, or a 4xx about this
            # journey's state or the body), never a refusal, a failed sign-in or an error.
            failed = answer.status_code == 401 or answer.status_code >= 500
            if refused == (role in allowed) or failed:
                leaks.append((method, route, role.value, answer.status_code))
            if refused:
                assert answer.headers["content-type"] == "application/problem+json"
    assert leaks == []
    # Every refusal here is one of role, recorded as such.
    assert {reason for *_, reason in await _refusals(pool, jid)} == {"role"}
    listed = {
        role: (await api.get("/api/v1/journeys", headers=staff(settings, role))).status_code
        for role in STAFF
    }
    # The privacy officer finds journeys through the erasure requests, not the case list.
    assert listed == {role: 200 if role in CASE_READERS else 403 for role in STAFF}
    for role in CASE_READERS:
        assert await _listed(api, staff(settings, role)) == {jid}, role


async def test_each_role_is_refused_someone_elses_journey_and_the_refusal_is_audited(
    api: httpx.AsyncClient, settings: Settings, pool: asyncpg.Pool
) -> None:
    await seed_staff(pool)
    jid, document_id = await _someone_elses(pool, case_manager="cm-en")
    expected = []
    leaks = []
    for method, route, body, allowed in ENDPOINTS:
        for role in sorted(ASSIGNED & allowed):
            answer = await api.request(
                method, _url(jid, route, document_id), json=body, headers=staff(settings, role)
            )
            if answer.status_code != 403:
                leaks.append((method, route, role.value, answer.status_code))
                continue
            assert answer.headers["content-type"] == "application/problem+json"
            assert re.search(r"not (assigned to|booked with|reviewed by) you", answer.text)
            expected.append(
                (STAFF_IDS[role], f"{method} {JOURNEY_ROUTE}{route}", 403, "not_assigned")
            )
    assert leaks == []
    assert {who for who, *_ in expected} == {STAFF_IDS[role] for role in ASSIGNED}
    assert await _refusals(pool, jid) == expected
    for role in ASSIGNED:
        assert jid not in await _listed(api, staff(settings, role)), role
    for role in CASE_READERS - ASSIGNED:
        assert await _listed(api, staff(settings, role)) == {jid}, role


async def test_every_journey_route_is_in_the_matrix(settings: Settings) -> None:
    paths = create_app(settings).openapi()["paths"]
    routes = {
        (method.upper(), path.removeprefix(JOURNEY_ROUTE))
        for path, operations in paths.items()
        if path.startswith(JOURNEY_ROUTE)
        for method in operations
    }
    tried = {(method, route) for method, route, _, _ in ENDPOINTS}
    assert routes == tried | set(LEFT_OUT)
    for name in LEFT_OUT.values():
        assert not STEPS[name].roles & ASSIGNED, name


async def test_a_patient_link_opens_no_other_journey(
    api: httpx.AsyncClient, settings: Settings, pool: asyncpg.Pool
) -> None:
    await seed_staff(pool)
    mine, my_pid = await _journey(api, settings, pool)
    other, _ = await _journey(api, settings, pool)
    document_id = await _document(pool, other)
    my_link = link(settings, mine, my_pid)
    for method, route, body, allowed in ENDPOINTS:
        if PATIENT not in allowed:
            continue
        answer = await api.request(
            method, _url(other, route, document_id), json=body, headers=my_link
        )
        assert answer.status_code == 403, (method, route, answer.status_code)
        assert "another journey" in answer.json()["detail"]
    refusals = await _refusals(pool, other)
    assert refusals and {(who, why) for who, _, _, why in refusals} == {(my_pid, "another_journey")}
    listed = await api.get("/api/v1/journeys", headers=my_link)
    assert listed.status_code == 403


async def test_a_reviewer_reaches_the_cases_in_validation_then_only_those_they_decided(
    api: httpx.AsyncClient, settings: Settings, pool: asyncpg.Pool
) -> None:
    """And once a case is validated, its case manager (chosen by language and load) and its
    specialist (whose consultation slots the journey offers) reach it, and no other."""
    await seed_staff(pool)
    await _add_specialist(pool, "spec-2")
    await pool.execute("UPDATE staff SET active = false WHERE staff_id = 'spec-2'")
    approved, _ = await _journey(api, settings, pool)
    theirs, _ = await _journey(api, settings, pool)
    rejected, _ = await _journey(api, settings, pool)
    me = staff_member(settings, "rev-1", Role.REVIEWER)
    other = staff_member(settings, "rev-2", Role.REVIEWER)
    everything = {approved, theirs, rejected}
    for reviewer in (me, other):
        assert await _listed(api, reviewer) == everything
        for jid in everything:
            answer = await api.get(f"/api/v1/journeys/{jid}/patient", headers=reviewer)
            assert answer.status_code == 200

    decisions = [
        (approved, me, {"outcome": "approve"}),
        (theirs, other, {"outcome": "approve"}),
        (rejected, me, {"outcome": "reject", "reason": "contraindication"}),
    ]
    for jid, reviewer, decision in decisions:
        answer = await api.post(f"/api/v1/journeys/{jid}/review", json=decision, headers=reviewer)
        assert answer.status_code == 200, answer.text

    async def decided() -> list[asyncpg.Record]:
        return await pool.fetch(
            """SELECT journey_id::text, stage, reviewer_id, case_manager_id, specialist_id
                 FROM journeys ORDER BY journey_id"""
        )

    rows = await eventually(
        decided,
        until=lambda rows: (
            all(r["stage"] not in ("INQUIRY", "VALIDATION") and r["reviewer_id"] for r in rows)
            and all(r["specialist_id"] for r in rows if r["journey_id"] != rejected)
        ),
        within=45,
        what="three decided cases, two with a specialist",
    )
    by_id = {r["journey_id"]: r for r in rows}
    assert {jid: by_id[jid]["reviewer_id"] for jid in everything} == {
        approved: "rev-1",
        theirs: "rev-2",
        rejected: "rev-1",
    }
    assert by_id[rejected]["stage"] == "NOT_ELIGIBLE"

    assert await _listed(api, me) == {approved, rejected}
    assert await _listed(api, other) == {theirs}
    for reviewer, mine, not_mine in ((me, approved, theirs), (other, theirs, approved)):
        for path in ("/patient", "/case", "/documents"):
            ok = await api.get(f"/api/v1/journeys/{mine}{path}", headers=reviewer)
            refused = await api.get(f"/api/v1/journeys/{not_mine}{path}", headers=reviewer)
            assert (ok.status_code, refused.status_code) == (200, 403), path
    # A reviewer who did not decide a case cannot take it back once it is validated.
    answer = await api.post(
        f"/api/v1/journeys/{rejected}/review", json={"outcome": "approve"}, headers=other
    )
    assert answer.status_code == 403

    # The approved cases' specialist is the one whose slots they offer: the only active one.
    validated = {approved, theirs}
    assert {by_id[jid]["specialist_id"] for jid in validated} == {"spec-1"}
    assert await _listed(api, staff(settings, Role.SPECIALIST)) == validated
    assert await _listed(api, staff_member(settings, "spec-2", Role.SPECIALIST)) == set()
    answer = await api.get(
        f"/api/v1/journeys/{approved}/case",
        headers=staff_member(settings, "spec-2", Role.SPECIALIST),
    )
    assert answer.status_code == 403
    # Both patients speak Spanish: their case manager is the one who does.
    assert {by_id[jid]["case_manager_id"] for jid in validated} == {"cm-es"}
    assert await _listed(api, staff_member(settings, "cm-es", Role.CASE_MANAGER)) == validated
    assert await _listed(api, staff_member(settings, "cm-en", Role.CASE_MANAGER)) == set()


async def test_lists_and_single_journeys_agree_on_who_reaches_what(
    api: httpx.AsyncClient, settings: Settings, pool: asyncpg.Pool
) -> None:
    """The list's SQL (db/journey_queries.reach_clause) and the rule for one journey
    (api/authorization.reaches) give each person the same journeys."""
    await seed_staff(pool)
    await _add_specialist(pool, "spec-2")
    journeys = [
        await add_journey(
            pool,
            stage=stage,
            waiting_on="reviewer" if stage == "VALIDATION" else "none",
            case_manager=case_manager,
            specialist=specialist,
            reviewer=reviewer,
        )
        for stage in ("VALIDATION", "TELECONSULT", "NOT_ELIGIBLE")
        for case_manager in (None, "cm-es", "cm-en")
        for specialist in (None, "spec-1", "spec-2")
        for reviewer in (None, "rev-1", "rev-2")
    ]
    async with pool.acquire() as conn:
        queries = JourneyQueries(conn)
        assignments = [await queries.assignment(journey_id=jid) for jid in journeys]
    people = [
        ("rev-1", Role.REVIEWER),
        ("rev-2", Role.REVIEWER),
        ("spec-1", Role.SPECIALIST),
        ("spec-2", Role.SPECIALIST),
        ("cm-es", Role.CASE_MANAGER),
        ("cm-en", Role.CASE_MANAGER),
        ("coord-1", Role.COORDINATOR),
        ("lead-1", Role.MEDICAL_LEAD),
        ("audit-1", Role.AUDITOR),
    ]
    for person, role in people:
        reach = reach_of(Principal(actor=Actor(id=person, role=role), name=person))
        expected = {a.journey_id for a in assignments if a is not None and reaches(reach, a)}
        assert await _listed(api, staff_member(settings, person, role)) == expected, person
        if role in ASSIGNED:
            assert 0 < len(expected) < len(journeys), person


# The console: its people are the demo staff (devstack/demo_staff.py).
CONSOLE_PEOPLE = {
    Role.REVIEWER: "demo-reviewer",
    Role.SPECIALIST: "demo-specialist",
    Role.CASE_MANAGER: "demo-cm-es",
}
CONSOLE_STEPS = [
    (name, role)
    for name, declaration in STEPS.items()
    if declaration.console
    for role in sorted(declaration.roles & ASSIGNED)
]


@pytest.fixture
async def app(settings: Settings) -> AsyncIterator[FastAPI]:
    await seed_demo_staff(settings.require_database_url())
    async with running_app(settings) as served:
        yield served


async def test_each_console_page_on_their_own_journey_and_on_someone_elses(
    app: FastAPI, settings: Settings, pool: asyncpg.Pool
) -> None:
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as api:
        mine, _ = await _journey(api, settings, pool)
    await _assign(pool, mine, case_manager="demo-cm-es", specialist="demo-specialist")
    my_document = await _document(pool, mine)
    theirs, their_document = await _someone_elses(pool, case_manager="demo-cm-en")
    expected = []
    for role, person in CONSOLE_PEOPLE.items():
        async with signed_in(app, person) as (http, csrf):
            worklist = await http.get("/staff/")
            assert mine[:8].upper() in worklist.text, role
            assert theirs[:8].upper() not in worklist.text, role
            pages = [
                ("GET", "/staff/journeys/{journey_id}", "", "Journey "),
                ("GET", "/staff/journeys/{journey_id}/documents/{document_id}", "", "%PDF"),
            ]
            pages += [
                ("POST", "/staff/journeys/{journey_id}/actions/{step}", name.value, "")
                for name, allowed in CONSOLE_STEPS
                if allowed is role
            ]
            for method, page, step, shown in pages:
                for jid, document_id in ((mine, my_document), (theirs, their_document)):
                    url = page.format(journey_id=jid, document_id=document_id, step=step)
                    data = {"csrf_token": csrf} if method == "POST" else None
                    answer = await http.request(method, url, data=data)
                    if jid == mine:
                        assert answer.status_code not in (401, 403), (role, url, answer.text)
                        assert answer.status_code < 500 and shown in answer.text, (role, url)
                        # The Temporal UI decodes for roles that reach every journey only.
                        assert "Open this journey in the Temporal Web UI" not in answer.text
                    else:
                        assert answer.status_code == 403, (role, url, answer.status_code)
                        assert "Not one of your journeys" in answer.text
                        assert "Nothing was changed." in answer.text
                        expected.append((person, f"{method} {page}", 403, "not_assigned"))
    assert len(expected) == 2 * len(CONSOLE_PEOPLE) + len(CONSOLE_STEPS)
    assert await _refusals(pool, theirs) == expected


async def test_no_token_and_bad_tokens_are_401(
    api: httpx.AsyncClient, settings: Settings, pool: asyncpg.Pool
) -> None:
    jid, _ = await _journey(api, settings, pool)
    for headers in ({}, {"Authorization": "Bearer x.y.z"}, {"Authorization": "Bearer " + "a" * 40}):
        answer = await api.get(f"/api/v1/journeys/{jid}", headers=headers)
        assert answer.status_code == 401, headers
        assert answer.headers["www-authenticate"].startswith("Bearer")
    forged = Settings.model_validate(
        {**settings.model_dump(), "jwt_secret": "another-secret-that-is-long-enough-for-hs256"}
    )
    answer = await api.get(f"/api/v1/journeys/{jid}", headers=staff(forged, Role.COORDINATOR))
    assert answer.status_code == 401 and answer.json()["detail"] == "the token is not valid"


async def test_only_a_patient_link_may_come_in_the_address(
    api: httpx.AsyncClient, settings: Settings, pool: asyncpg.Pool
) -> None:
    """Addresses end up in logs and browser histories: a staff token there is refused, and
    goes in the Authorization header alone."""
    jid, pid = await _journey(api, settings, pool)
    coordinator = staff(settings, Role.COORDINATOR)["Authorization"].removeprefix("Bearer ")
    for path in (f"/api/v1/journeys/{jid}", "/api/v1/journeys"):
        in_address = await api.get(path, params={"token": coordinator})
        assert in_address.status_code == 401, path
        assert in_address.json()["detail"] == (
            "only a patient link may be sent as `?token=`; send a staff token in the "
            "Authorization header"
        )
        in_header = await api.get(path, headers={"Authorization": f"Bearer {coordinator}"})
        assert in_header.status_code == 200, path
    link_token = link(settings, jid, pid)["Authorization"].removeprefix("Bearer ")
    assert (await api.get(f"/api/v1/journeys/{jid}", params={"token": link_token})).is_success


async def test_the_actor_cannot_be_set_in_the_body(
    api: httpx.AsyncClient, settings: Settings, pool: asyncpg.Pool
) -> None:
    jid, _ = await _journey(api, settings, pool)
    answer = await api.post(
        f"/api/v1/journeys/{jid}/review",
        json={"outcome": "approve", "actor": {"id": "someone-else", "role": "medical_lead"}},
        headers=staff(settings, Role.REVIEWER),
    )
    assert answer.status_code == 422
    assert answer.json()["errors"][0]["field"] == "actor"
