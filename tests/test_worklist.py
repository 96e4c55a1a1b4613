"""The journey list (`GET /api/v1/journeys`, the console's worklist): whose journeys come first,
overdue first, the filters, counts per stage and pages, served from PostgreSQL alone."""

from datetime import UTC, datetime, timedelta
from typing import Any

import asyncpg
import httpx
import pytest

from domain.actors import Role
from settings import Settings
from tests.api_people import staff
from tests.journey_rows import add_journey
from tests.journeys import seed_staff

NOW = datetime.now(UTC)
DAY = timedelta(days=1)


@pytest.fixture
async def journeys(pool: asyncpg.Pool) -> dict[str, str]:
    """Journeys in every kind of wait, named by what a test looks for."""
    await seed_staff(pool)
    ids = {
        "review_soon": await add_journey(pool, deadline=NOW + 2 * DAY),
        "review_late": await add_journey(pool, deadline=NOW - DAY, country="MX"),
        "patient_late": await add_journey(
            pool, waiting_on="patient", deadline=NOW - 3 * DAY, case_manager="cm-es"
        ),
        "consult_mine": await add_journey(
            pool,
            stage="TELECONSULT",
            waiting_on="specialist",
            deadline=NOW + 5 * DAY,
            case_manager="cm-es",
            specialist="spec-1",
        ),
        "consult_other": await add_journey(
            pool, stage="TELECONSULT", waiting_on="specialist", deadline=NOW + 4 * DAY
        ),
        "incident": await add_journey(
            pool,
            stage="TRAVEL",
            waiting_on="coordinator",
            case_manager="cm-en",
            incident="email_refused",
            country="MX",
        ),
        "completed": await add_journey(
            pool, stage="COMPLETED", waiting_on="none", case_manager="cm-es"
        ),
    }
    return ids


async def _list(
    api: httpx.AsyncClient, settings: Settings, role: Role, **query: Any
) -> dict[str, Any]:
    answer = await api.get("/api/v1/journeys", params=query, headers=staff(settings, role))
    assert answer.status_code == 200, answer.text
    body: dict[str, Any] = answer.json()
    return body


def _order(body: dict[str, Any], ids: dict[str, str]) -> list[str]:
    names = {jid: name for name, jid in ids.items()}
    return [names[item["journey_id"]] for item in body["items"]]


async def test_a_reviewer_gets_the_reviewers_queue_first_overdue_first(
    api: httpx.AsyncClient, settings: Settings, journeys: dict[str, str]
) -> None:
    body = await _list(api, settings, Role.REVIEWER)
    # The reviewers' queue, overdue first; then the other cases in validation. A reviewer
    # reaches no case past validation but those they decided (tests/test_api_authorization.py).
    assert _order(body, journeys) == ["review_late", "review_soon", "patient_late"]
    assert body["waiting_on_you"] == 2 and body["total"] == 3
    first = body["items"][0]
    assert first["waiting_on_you"] and first["overdue"]
    assert first["reference"] == journeys["review_late"][:8].upper()
    assert first["patient_name"] == "Ana García"
    assert [i["waiting_on_you"] for i in body["items"]].count(True) == 2
    assert body["stages"] == {"VALIDATION": 3}

    # Everyone who reaches every journey: the same queue first, then the others, overdue
    # first, then by deadline, then those without one, newest first.
    body = await _list(api, settings, Role.MEDICAL_LEAD)
    assert _order(body, journeys) == [
        "review_late",
        "review_soon",
        "patient_late",
        "consult_other",
        "consult_mine",
        "completed",
        "incident",
    ]
    assert body["stages"] == {"VALIDATION": 3, "TELECONSULT": 2, "TRAVEL": 1, "COMPLETED": 1}


@pytest.mark.parametrize(
    ("role", "first"),
    [
        (Role.MEDICAL_LEAD, {"review_late", "review_soon"}),
        (Role.SPECIALIST, {"consult_mine"}),
        (Role.CASE_MANAGER, {"patient_late", "consult_mine"}),
        (Role.COORDINATOR, {"incident"}),
        (Role.AUDITOR, set()),
    ],
)
async def test_each_role_gets_its_own_journeys_first(
    api: httpx.AsyncClient,
    settings: Settings,
    journeys: dict[str, str],
    role: Role,
    first: set[str],
) -> None:
    body = await _list(api, settings, role)
    order = _order(body, journeys)
    assert set(order[: len(first)]) == first
    assert {n for n, i in zip(order, body["items"], strict=True) if i["waiting_on_you"]} == first
    assert body["waiting_on_you"] == len(first)
    # The case manager's ended journey is theirs, but waits on no one.
    assert "completed" not in first


async def test_auditors_see_no_patient_names(
    api: httpx.AsyncClient, settings: Settings, journeys: dict[str, str]
) -> None:
    body = await _list(api, settings, Role.AUDITOR)
    assert [i["patient_name"] for i in body["items"]] == [None] * len(journeys)
    assert "Ana García" not in str(body)


async def test_filters_and_counts_per_stage(
    api: httpx.AsyncClient, settings: Settings, journeys: dict[str, str]
) -> None:
    async def names(**query: Any) -> set[str]:
        return set(_order(await _list(api, settings, Role.COORDINATOR, **query), journeys))

    assert await names(incident="any") == {"incident"}
    assert await names(incident="email_refused") == {"incident"}
    assert await names(incident="clinic_refused") == set()
    assert len(await names(incident="none")) == 6
    assert await names(country="mx") == {"review_late", "incident"}
    assert await names(case_manager="cm-es") == {"patient_late", "consult_mine", "completed"}
    assert await names(overdue="true") == {"review_late", "patient_late"}
    assert await names(waiting_on="reviewer", overdue="true") == {"review_late"}
    assert await names(stage="TELECONSULT", case_manager="cm-es") == {"consult_mine"}

    # Counts per stage leave the stage filter out: they say what choosing each would list.
    body = await _list(api, settings, Role.COORDINATOR, stage="TELECONSULT", case_manager="cm-es")
    assert body["total"] == 1
    assert body["stages"] == {"VALIDATION": 1, "TELECONSULT": 1, "COMPLETED": 1}


async def test_pages(api: httpx.AsyncClient, settings: Settings, journeys: dict[str, str]) -> None:
    whole = _order(await _list(api, settings, Role.MEDICAL_LEAD), journeys)
    pages = [
        _order(await _list(api, settings, Role.MEDICAL_LEAD, limit=3, offset=o), journeys)
        for o in (0, 3, 6)
    ]
    assert [n for page in pages for n in page] == whole
    assert (await _list(api, settings, Role.MEDICAL_LEAD, limit=3, offset=6))["total"] == 7


async def test_bad_filters_are_refused(
    api: httpx.AsyncClient, settings: Settings, journeys: dict[str, str]
) -> None:
    headers = staff(settings, Role.COORDINATOR)
    for query in ({"incident": "broken"}, {"stage": "NOWHERE"}, {"country": "ESP"}):
        answer = await api.get("/api/v1/journeys", params=query, headers=headers)
        assert answer.status_code == 422, query
        assert answer.headers["content-type"] == "application/problem+json"


async def test_the_openapi_document_names_the_incident_filter_and_field(
    api: httpx.AsyncClient,
) -> None:
    document = (await api.get("/openapi.json")).json()
    listing = document["paths"]["/api/v1/journeys"]["get"]
    assert "incident" in {p["name"] for p in listing["parameters"]}
    item = document["components"]["schemas"]["WorklistItem"]["properties"]
    assert {"incident", "waiting_on_you", "reference", "case_manager_name"} <= set(item)
