"""The HTML form page a person uses in a browser, posting form-encoded."""

import re

import asyncpg
import httpx
import pytest

from tests.helpers import valid_form

pytestmark = pytest.mark.usefixtures("worker")

FIELDS = [
    "full_name",
    "email",
    "phone",
    "country",
    "preferred_language",
    "injury_level",
    "injury_completeness",
    "injury_date",
    "injury_cause",
    "medical_history",
    "consent_health_data",
    "consent_text_version",
    "idempotency_key",
]


def _browser_form(**overrides: str) -> dict[str, str]:
    form = {k: str(v) for k, v in valid_form().items() if k != "consent_health_data"}
    form["consent_health_data"] = "true"
    form["idempotency_key"] = "browser-key-1"
    form.update(overrides)
    return {k: v for k, v in form.items() if v is not None}


async def test_form_page_offers_every_field(api: httpx.AsyncClient) -> None:
    page = await api.get("/")
    assert page.status_code == 200
    assert '<form method="post" action="/"' in page.text, "the form posts to its page"
    for field in FIELDS:
        assert f'name="{field}"' in page.text, field
    keys = re.findall(r'name="idempotency_key" value="([^"]+)"', page.text)
    assert (
        len(keys) == 1
        and keys[0]
        != re.findall(r'name="idempotency_key" value="([^"]+)"', (await api.get("/")).text)[0]
    ), "each page view carries its own key"


async def test_browser_submission_redirects_to_confirmation(
    api: httpx.AsyncClient, pool: asyncpg.Pool
) -> None:
    answer = await api.post("/", data=_browser_form())
    assert answer.status_code == 303
    journey_id = await pool.fetchval("SELECT journey_id FROM journeys")
    assert answer.headers["location"] == f"/submitted/{journey_id}?lang=en"
    confirmation = await api.get(answer.headers["location"])
    assert confirmation.status_code == 200
    assert str(journey_id).split("-")[0].upper() in confirmation.text

    # The same page submitted twice (a double click) is one journey.
    again = await api.post("/", data=_browser_form())
    assert again.headers["location"] == answer.headers["location"]
    assert await pool.fetchval("SELECT count(*) FROM journeys") == 1


async def test_browser_submission_without_consent_shows_the_form_again(
    api: httpx.AsyncClient, pool: asyncpg.Pool
) -> None:
    form = _browser_form()
    del form["consent_health_data"]
    answer = await api.post("/", data=form)
    assert answer.status_code == 422
    assert "explicit consent to process health data is required" in answer.text
    assert 'value="Ana García"' in answer.text, "what was typed is kept"
    assert await pool.fetchval("SELECT count(*) FROM patients") == 0


async def test_a_program_posting_the_form_encoded_body_to_the_api_gets_json(
    api: httpx.AsyncClient, pool: asyncpg.Pool
) -> None:
    answer = await api.post("/api/v1/inquiries", data=_browser_form(idempotency_key="k-json"))
    assert answer.status_code == 202
    journey_id = str(await pool.fetchval("SELECT journey_id FROM journeys"))
    assert answer.json() == {"journey_id": journey_id, "duplicate": False}
    assert answer.headers["location"] == f"/api/v1/journeys/{journey_id}"

    # The header's key, where one is sent, is the submission's.
    again = await api.post(
        "/api/v1/inquiries",
        data=_browser_form(idempotency_key="k-other"),
        headers={"Idempotency-Key": "k-json"},
    )
    assert again.status_code == 202
    assert again.json() == {"journey_id": journey_id, "duplicate": True}


async def test_a_form_encoded_post_to_the_api_is_refused_as_a_json_one(
    api: httpx.AsyncClient, pool: asyncpg.Pool
) -> None:
    form = _browser_form(idempotency_key="k-refused")
    del form["consent_health_data"]
    refused = await api.post("/api/v1/inquiries", data=form)
    assert refused.status_code == 422
    assert refused.headers["content-type"] == "application/problem+json"
    assert [e["field"] for e in refused.json()["errors"]] == ["consent_health_data"]
    unknown = await api.post("/api/v1/inquiries?source=ad", data=_browser_form())
    assert unknown.status_code == 422
    assert [(e["field"], e["message"]) for e in unknown.json()["errors"]] == [
        ("source", "unknown query parameter")
    ]
    assert await pool.fetchval("SELECT count(*) FROM journeys") == 0


async def test_form_page_is_english_by_default_and_offers_the_languages_we_write(
    api: httpx.AsyncClient,
) -> None:
    page = await api.get("/")
    assert '<html lang="en" dir="ltr">' in page.text
    assert "Ask about stem-cell therapy for spinal cord injury" in page.text
    offered = re.findall(r'<option value="([a-z]{2})" lang="[a-z]{2}"', page.text)
    assert offered == ["en", "es"], "only languages the patient's emails are written in"
    assert 'value="en" lang="en" selected' in page.text


@pytest.mark.parametrize(
    ("query", "headers"),
    [("?lang=es", {}), ("", {"accept-language": "es-MX,es;q=0.9,en;q=0.5"})],
    ids=["query", "accept-language"],
)
async def test_form_page_in_spanish(
    api: httpx.AsyncClient, query: str, headers: dict[str, str]
) -> None:
    page = await api.get(f"/{query}", headers=headers)
    assert page.status_code == 200
    assert '<html lang="es" dir="ltr">' in page.text
    assert "Consulte sobre la terapia con células madre para la lesión medular" in page.text
    assert "Ask about" not in page.text
    assert 'name="lang" value="es"' in page.text
    assert 'value="es" lang="es" selected' in page.text, "the page's language is preselected"


async def test_a_language_we_do_not_write_gives_the_browsers_or_english(
    api: httpx.AsyncClient,
) -> None:
    page = await api.get("/?lang=de", headers={"accept-language": "es"})
    assert '<html lang="es"' in page.text
    page = await api.get("/?lang=de")
    assert '<html lang="en"' in page.text


async def test_spanish_form_stays_spanish_through_errors_and_confirmation(
    api: httpx.AsyncClient, pool: asyncpg.Pool
) -> None:
    form = _browser_form(lang="es", idempotency_key="browser-key-es")
    del form["consent_health_data"]
    again = await api.post("/", data=form)
    assert again.status_code == 422
    assert '<html lang="es"' in again.text
    assert "Corrija los campos señalados." in again.text

    answer = await api.post("/", data=_browser_form(lang="es", idempotency_key="browser-key-es"))
    assert answer.status_code == 303
    journey_id = await pool.fetchval("SELECT journey_id FROM journeys")
    assert answer.headers["location"] == f"/submitted/{journey_id}?lang=es"
    confirmation = await api.get(answer.headers["location"])
    assert '<html lang="es"' in confirmation.text
    assert "Gracias: hemos recibido su consulta" in confirmation.text
    assert f"<strong>{str(journey_id).split('-')[0].upper()}</strong>" in confirmation.text
