"""Consent as a record with a life: the text the patient saw, word for word with its hash, and
its withdrawal, which ends the journey WITHDRAWN with only the confirmation sent."""

import hashlib
from datetime import timedelta
from pathlib import Path

import asyncpg
import httpx
import pytest
from temporalio.testing import WorkflowEnvironment

from api.pages import CONSENT_TEXT_VERSION
from db.consents import ConsentRepository
from domain.actors import Role
from domain.privacy import CONSENT_PURPOSE_HEALTH_DATA
from i18n import supported_languages, translations
from settings import Settings
from tests.api_people import link, staff
from tests.helpers import eventually, read_mailbox, text_of, valid_form
from tests.journeys import seed_staff

pytestmark = pytest.mark.usefixtures("worker")

FORM_TEXT = (
    "I consent to the processing of my health data to assess my eligibility and organise my "
    "treatment, as described in the privacy notice (version %(version)s)."
)


async def test_the_form_s_consent_text_is_stored_word_for_word_in_each_language(
    pool: asyncpg.Pool,
) -> None:
    async with pool.acquire() as conn:
        repo = ConsentRepository(conn)
        for language in supported_languages():
            shown = translations(language).gettext(FORM_TEXT) % {"version": CONSENT_TEXT_VERSION}
            stored = await repo.text(
                purpose=CONSENT_PURPOSE_HEALTH_DATA, version=CONSENT_TEXT_VERSION, language=language
            )
            assert stored is not None, (
                f"the form shows version {CONSENT_TEXT_VERSION} in {language}"
            )
            assert stored.body == shown, language
            assert stored.sha256 == hashlib.sha256(shown.encode()).hexdigest()
        # A text is never rewritten: a new wording is a new version.
        with pytest.raises(asyncpg.InsufficientPrivilegeError):
            await conn.execute("UPDATE consent_texts SET body = body || ' '")
        with pytest.raises(asyncpg.CheckViolationError):
            await conn.execute(
                """INSERT INTO consent_texts (purpose, version, language, body, sha256)
                   VALUES ('x', '1', 'en', 'text', 'not-its-hash')"""
            )


async def _intake(api: httpx.AsyncClient, **form: object) -> str:
    answer = await api.post("/api/v1/inquiries", json=valid_form(**form))
    assert answer.status_code == 202, answer.text
    return str(answer.json()["journey_id"])


async def test_the_consent_points_at_the_text_the_patient_saw(
    api: httpx.AsyncClient, pool: asyncpg.Pool
) -> None:
    spanish = await _intake(api)  # preferred language es: the Spanish text
    english_page = await _intake(api, consent_language="en")
    french = await _intake(api, preferred_language="fr")  # no French text: the form was English
    form_page = await api.post(
        "/",
        data={
            **{k: str(v) for k, v in valid_form(email="form@example.org").items()},
            "consent_health_data": "on",
            "lang": "en",
        },
    )
    assert form_page.status_code == 303, form_page.text
    rows = {
        str(r["journey_id"]): r["text_language"]
        for r in await pool.fetch("SELECT journey_id, text_language FROM consents")
    }
    assert rows[spanish] == "es" and rows[english_page] == "en" and rows[french] == "en"
    assert sorted(rows.values()) == ["en", "en", "en", "es"], "the form page's own language"

    unknown = await api.post("/api/v1/inquiries", json=valid_form(consent_text_version="1999-01"))
    assert unknown.status_code == 422
    assert unknown.json()["errors"][0]["field"] == "consent_text_version"
    assert await pool.fetchval("SELECT count(*) FROM patients") == 4, "nothing stored"


async def _waiting_on_reviewer(api: httpx.AsyncClient, settings: Settings, jid: str) -> None:
    async def status() -> str:
        answer = await api.get(f"/api/v1/journeys/{jid}", headers=staff(settings, Role.COORDINATOR))
        return str(answer.json().get("waiting_on"))

    await eventually(status, until=lambda w: w == "reviewer")


def _journey_mail(mail_dir: Path, jid: str) -> list[str]:
    """The steps of the journey's emails, from their Message-IDs, in sending order."""
    steps = []
    for message in read_mailbox(mail_dir):
        mid = message["Message-ID"].strip().strip("<>")
        journey, _, rest = mid.partition(".")
        if journey == jid:
            steps.append(rest.rpartition("@")[0])
    return steps


async def test_withdrawing_consent_ends_the_journey_and_marks_the_consent(
    api: httpx.AsyncClient,
    settings: Settings,
    pool: asyncpg.Pool,
    temporal_env: WorkflowEnvironment,
    mail_dir: Path,
) -> None:
    await seed_staff(pool)
    jid = await _intake(api)
    await _waiting_on_reviewer(api, settings, jid)
    pid = str(await pool.fetchval("SELECT patient_id FROM journeys WHERE journey_id = $1", jid))
    before = _journey_mail(mail_dir, jid)
    base = f"/api/v1/journeys/{jid}"

    plain = await api.post(
        f"{base}/withdrawal", json={"reason": "consent_withdrawn"}, headers=link(settings, jid, pid)
    )
    assert plain.status_code == 422, "the consent's own route records the consent too"

    answer = await api.post(f"{base}/consent/withdrawal", headers=link(settings, jid, pid))
    assert answer.status_code == 200, answer.text
    consent = answer.json()
    assert consent["withdrawn_by"] == pid and consent["withdrawn_role"] == "patient"
    assert consent["withdrawn_at"] and consent["text_language"] == "es"

    status = (await api.get(base, headers=staff(settings, Role.COORDINATOR))).json()
    assert status["stage"] == "WITHDRAWN"
    assert status["transitions"][-1]["actor_id"] == pid

    # Only the confirmation, with its reason in the patient's language; nothing after it.
    await temporal_env.sleep(timedelta(days=40))
    sent = _journey_mail(mail_dir, jid)
    assert sent[len(before) :] == ["withdrawal"]
    [confirmation] = [m for m in read_mailbox(mail_dir) if f"{jid}.withdrawal@" in m["Message-ID"]]
    assert "usted retiró su consentimiento para el tratamiento de sus datos de salud" in text_of(
        confirmation
    )

    again = await api.post(f"{base}/consent/withdrawal", headers=link(settings, jid, pid))
    assert again.status_code == 409 and "already withdrawn" in again.json()["detail"]
    row = await pool.fetchrow(
        "SELECT withdrawn_at, withdrawn_by FROM consents WHERE journey_id = $1", jid
    )
    assert row["withdrawn_at"].isoformat() == consent["withdrawn_at"].replace("Z", "+00:00")


async def test_a_coordinator_withdraws_consent_for_the_patient_and_others_may_not(
    api: httpx.AsyncClient, settings: Settings, pool: asyncpg.Pool
) -> None:
    await seed_staff(pool)
    jid = await _intake(api)
    other = await _intake(api, email="other@example.org")
    await _waiting_on_reviewer(api, settings, jid)
    base = f"/api/v1/journeys/{jid}/consent/withdrawal"
    other_pid = str(
        await pool.fetchval("SELECT patient_id FROM journeys WHERE journey_id = $1", other)
    )
    for refused in (
        staff(settings, Role.REVIEWER),
        staff(settings, Role.PRIVACY_OFFICER),
        link(settings, other, other_pid),
    ):
        answer = await api.post(base, headers=refused)
        assert answer.status_code == 403, answer.text
    assert await pool.fetchval("SELECT count(*) FROM consents WHERE withdrawn_at IS NOT NULL") == 0

    answer = await api.post(base, headers=staff(settings, Role.COORDINATOR))
    assert answer.status_code == 200, answer.text
    assert answer.json()["withdrawn_role"] == "coordinator"
    unknown = await api.post(
        "/api/v1/journeys/00000000-0000-4000-8000-000000000000/consent/withdrawal",
        headers=staff(settings, Role.COORDINATOR),
    )
    assert unknown.status_code == 404
