"""The follow-up year's steps through the JSON API, with PostgreSQL and the worker behind it: an
outcome on the clinical scales, refused off its scale with nothing stored, then in the patient's
FHIR copy with its codes; a case manager's record of a rehabilitation follow-up, refused when
none is open with nothing stored; a check-in for a week that has not come."""

import uuid
from datetime import timedelta
from typing import Any

import asyncpg
import httpx
import pytest
from fhir.resources.R4B.bundle import Bundle

from domain.actors import Role
from domain.stages import WaitingOn
from settings import Settings
from tests.api_people import link, staff
from tests.helpers import eventually
from tests.journeys import JourneyDriver
from workflows.follow_up import FollowUp

pytestmark = pytest.mark.usefixtures("worker")

EXAM = {"ais_grade": "C", "uems": 31, "lems": 12, "light_touch": 80, "pin_prick": 66}


async def _count(pool: asyncpg.Pool, table: str, journey_id: str) -> int:
    count: int = await pool.fetchval(
        f"SELECT count(*) FROM {table} WHERE journey_id = $1", uuid.UUID(journey_id)
    )
    return count


@pytest.fixture
async def discharged(driver: JourneyDriver) -> JourneyDriver:
    await driver.start()
    await driver.book_the_trip()
    await driver.sleep(timedelta(days=31))
    await driver.treat()
    return driver


async def test_an_outcome_off_its_scale_is_refused_and_a_valid_one_reaches_the_fhir_copy(
    api: httpx.AsyncClient, settings: Settings, pool: asyncpg.Pool, discharged: JourneyDriver
) -> None:
    j = discharged
    await j.sleep(timedelta(days=12))
    url = f"/api/v1/journeys/{j.journey_id}/follow-ups/1/outcome"
    specialist = staff(settings, Role.SPECIALIST)

    refused = await api.post(url, json={**EXAM, "uems": 51, "scim_total": 140}, headers=specialist)
    assert refused.status_code == 422, refused.text
    problem = refused.json()
    assert [(e["field"], e["code"], e["params"]) for e in problem["errors"]] == [
        ("uems", "score_out_of_range", {"scale": "uems", "low": 0, "high": 50}),
        ("scim_total", "score_out_of_range", {"scale": "scim_total", "low": 0, "high": 100}),
    ]
    assert problem["errors"][0]["message"] == (
        "the upper extremity motor score (UEMS) is a whole number from 0 to 50"
    )
    missing = await api.post(url, json={"lems": 12}, headers=specialist)
    assert missing.status_code == 422
    assert {e["params"]["scale"] for e in missing.json()["errors"]} == {
        "ais_grade",
        "uems",
        "light_touch",
        "pin_prick",
    }
    assert await _count(pool, "follow_up_outcomes", j.journey_id) == 0, "nothing stored"
    assert (await j.follow_up.query(FollowUp.status)).outcomes_recorded == []

    taken = await api.post(
        url, json={**EXAM, "neurological_level": "T6", "scim_total": 58}, headers=specialist
    )
    assert taken.status_code == 200, taken.text
    assert taken.json()["outcomes_recorded"] == [1]
    row = await pool.fetchrow(
        """SELECT ais_grade, neurological_level, uems, lems, light_touch, pin_prick, scim_total,
                  recorded_by
             FROM follow_up_outcomes WHERE journey_id = $1""",
        uuid.UUID(j.journey_id),
    )
    assert dict(row) == {
        **EXAM,
        "neurological_level": "T6",
        "scim_total": 58,
        "recorded_by": "spec-1",
    }

    copy = await api.get(
        f"/api/v1/journeys/{j.journey_id}/export",
        params={"format": "fhir"},
        headers=link(settings, j.journey_id, j.patient.id),
    )
    assert copy.status_code == 200, copy.text
    Bundle.model_validate(copy.json())
    observations = {
        e["resource"]["id"]: e["resource"]
        for e in copy.json()["entry"]
        if e["resource"]["resourceType"] == "Observation"
    }
    [consult] = [o for o in observations.values() if "hasMember" in o]
    members = [m["reference"].removeprefix("Observation/") for m in consult["hasMember"]]
    coded: dict[tuple[str, str], Any] = {}
    for member in members:
        observation = observations[member]
        [coding] = observation["code"]["coding"]
        value = observation.get("valueInteger", observation.get("valueCodeableConcept"))
        coded[(coding["system"], coding["code"])] = value
    assert coded[("http://loinc.org", "97843-7")]["coding"][0]["code"] == "C"
    assert coded[("urn:journeys:outcome-scale", "uems")] == 31
    assert coded[("urn:journeys:outcome-scale", "pin_prick")] == 66
    assert coded[("urn:journeys:outcome-scale", "scim_total")] == 58
    assert coded[("urn:journeys:outcome-scale", "neurological_level")]["coding"][0]["code"] == (
        "T6"
    )
    assert len(coded) == 7


async def test_a_follow_up_record_with_none_open_is_refused_and_nothing_is_kept(
    api: httpx.AsyncClient, settings: Settings, pool: asyncpg.Pool, discharged: JourneyDriver
) -> None:
    j = discharged
    url = f"/api/v1/journeys/{j.journey_id}/rehab-follow-up"
    body = {"follow_up_no": 1, "outcome": "back_on_plan", "note": "She walks every morning."}
    refused = await api.post(url, json=body, headers=staff(settings, Role.CASE_MANAGER))
    assert refused.status_code == 409, refused.text
    assert refused.json()["code"] == "no_rehab_follow_up"
    assert await _count(pool, "rehab_follow_up_notes", j.journey_id) == 0, "the note removed"

    # Two short weeks through the patient's own link open one, which the case manager closes.
    patient = link(settings, j.journey_id, j.patient.id)
    for week, hours in ((1, 5), (2, 3.5)):
        await j.sleep(timedelta(days=7))
        checked_in = await api.post(
            f"/api/v1/journeys/{j.journey_id}/rehab-checkins",
            json={"week": week, "walking_hours_per_day": hours, "days_per_week": 6},
            headers=patient,
        )
        assert checked_in.status_code == 200, checked_in.text
    await eventually(j.status, until=lambda s: s.waiting_on is WaitingOn.CASE_MANAGER)
    listed = await api.get(
        "/api/v1/journeys",
        params={"waiting_on": "case_manager"},
        headers=staff(settings, Role.CASE_MANAGER),
    )
    assert [i["journey_id"] for i in listed.json()["items"]] == [j.journey_id]
    assert listed.json()["items"][0]["waiting_on_you"] is True
    closed = await api.post(url, json=body, headers=staff(settings, Role.CASE_MANAGER))
    assert closed.status_code == 200, closed.text
    assert closed.json()["rehab_follow_up"] is None
    assert await _count(pool, "rehab_follow_up_notes", j.journey_id) == 1
    await eventually(j.status, until=lambda s: s.waiting_on is WaitingOn.PATIENT)


async def test_a_check_in_for_a_week_that_has_not_come_changes_nothing(
    api: httpx.AsyncClient, settings: Settings, pool: asyncpg.Pool, discharged: JourneyDriver
) -> None:
    j = discharged
    early = await api.post(
        f"/api/v1/journeys/{j.journey_id}/rehab-checkins",
        json={"week": 3, "walking_hours_per_day": 6, "days_per_week": 6},
        headers=link(settings, j.journey_id, j.patient.id),
    )
    assert early.status_code == 409, early.text
    assert (early.json()["code"], early.json()["params"]) == (
        "rehab_week_not_started",
        {"week": 3},
    )
    assert await _count(pool, "rehab_checkins", j.journey_id) == 0
    assert (await j.follow_up.query(FollowUp.status)).checkins_received == []
