"""Every role against every endpoint, and every patient link against another journey."""

from typing import Any

import asyncpg
import httpx
import pytest

from domain.actors import Role
from settings import Settings
from tests.api_people import link, staff
from tests.helpers import eventually, valid_form
from tests.journeys import seed_staff

pytestmark = pytest.mark.usefixtures("worker")

PATIENT = Role.PATIENT
STAFF = [
    Role.COORDINATOR,
    Role.REVIEWER,
    Role.SPECIALIST,
    Role.CASE_MANAGER,
    Role.MEDICAL_LEAD,
    Role.AUDITOR,
    Role.PRIVACY_OFFICER,
]
ALL_STAFF = set(STAFF)
# The privacy officer reads a journey's privacy record, its export and its accesses, not its
# case: what they decide (an erasure, a hold) needs no clinical detail.
CASE_READERS = ALL_STAFF - {Role.PRIVACY_OFFICER}
CLINICAL = {Role.COORDINATOR, Role.REVIEWER, Role.SPECIALIST, Role.CASE_MANAGER, Role.MEDICAL_LEAD}

# (method, path under the journey, body, roles allowed)
ENDPOINTS: list[tuple[str, str, dict[str, Any] | None, set[Role]]] = [
    ("GET", "", None, CASE_READERS | {PATIENT}),
    ("GET", "/patient", None, CLINICAL),
    ("GET", "/case", None, CASE_READERS),
    ("GET", "/timeline", None, CASE_READERS),
    ("GET", "/consult/slots", None, {PATIENT, Role.COORDINATOR}),
    ("GET", "/documents", None, CLINICAL | {PATIENT}),
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
    ("POST", "/follow-ups/1/outcome", {"trunk_control": 3}, {Role.SPECIALIST}),
    (
        "POST",
        "/rehab-checkins",
        {"week": 1, "walking_hours_per_day": 2, "days_per_week": 3},
        {PATIENT, Role.CASE_MANAGER},
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
]


async def _journey(
    api: httpx.AsyncClient, settings: Settings, pool: asyncpg.Pool
) -> tuple[str, str]:
    jid = (await api.post("/api/v1/inquiries", json=valid_form())).json()["journey_id"]
    pid = str(await pool.fetchval("SELECT patient_id FROM journeys WHERE journey_id = $1", jid))

    async def status() -> str:
        answer = await api.get(f"/api/v1/journeys/{jid}", headers=staff(settings, Role.COORDINATOR))
        return str(answer.json().get("waiting_on"))

    await eventually(status, until=lambda w: w == "reviewer")
    return jid, pid


async def test_each_role_reaches_only_its_own_steps(
    api: httpx.AsyncClient, settings: Settings, pool: asyncpg.Pool
) -> None:
    await seed_staff(pool)
    jid, pid = await _journey(api, settings, pool)
    base = f"/api/v1/journeys/{jid}"
    leaks = []
    for method, path, body, allowed in ENDPOINTS:
        for role in [*STAFF, PATIENT]:
            headers = link(settings, jid, pid) if role is PATIENT else staff(settings, role)
            answer = await api.request(method, base + path, json=body, headers=headers)
            refused = answer.status_code == 403
            # A permitted person gets the step's own answer (done, or a 4xx about this
            # journey's state or the body), never a refusal, a failed sign-in or an error.
            failed = answer.status_code == 401 or answer.status_code >= 500
            if refused == (role in allowed) or failed:
                leaks.append((method, path, role.value, answer.status_code))
            if refused:
                assert answer.headers["content-type"] == "application/problem+json"
    assert leaks == []
    listed = {
        role: (await api.get("/api/v1/journeys", headers=staff(settings, role))).status_code
        for role in STAFF
    }
    # The privacy officer finds journeys through the erasure requests, not the case list.
    assert listed == {role: 200 if role in CASE_READERS else 403 for role in STAFF}


async def test_a_patient_link_opens_no_other_journey(
    api: httpx.AsyncClient, settings: Settings, pool: asyncpg.Pool
) -> None:
    await seed_staff(pool)
    mine, my_pid = await _journey(api, settings, pool)
    other, _ = await _journey(api, settings, pool)
    my_link = link(settings, mine, my_pid)
    for method, path, body, allowed in ENDPOINTS:
        if PATIENT not in allowed:
            continue
        answer = await api.request(
            method, f"/api/v1/journeys/{other}{path}", json=body, headers=my_link
        )
        assert answer.status_code == 403, (method, path, answer.status_code)
        assert "another journey" in answer.json()["detail"]
    listed = await api.get("/api/v1/journeys", headers=my_link)
    assert listed.status_code == 403


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
