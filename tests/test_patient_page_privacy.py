"""The patient's data from their own page: a copy of everything held about them, and the
withdrawal of their consent, which closes the journey (GDPR Art. 7, 15 and 20)."""

import json
import uuid

import asyncpg
import pytest
from playwright.async_api import Page, expect

from domain.stages import Stage
from tests.browser import assert_accessible
from tests.journeys import JourneyDriver
from tests.patient_pages import PatientPage, outcome

pytestmark = pytest.mark.usefixtures("worker")


async def test_a_patient_downloads_their_copy_and_withdraws_consent_from_the_page(
    phone: Page, patient_page: PatientPage, driver: JourneyDriver, pool: asyncpg.Pool
) -> None:
    await driver.start(full_name="Itzel Obregón")
    await driver.approve()
    await driver.reach(Stage.TELECONSULT)
    await patient_page.open()
    data = phone.get_by_role("region", name="Sus datos")
    await expect(data).to_be_visible()
    await assert_accessible(phone)

    async with phone.expect_download() as downloading:
        await data.get_by_role("link", name="Descargar una copia").click()
    copy = json.loads((await (await downloading.value).path()).read_text())
    assert "Itzel Obregón" in json.dumps(copy, ensure_ascii=False)
    read = await pool.fetchval(
        "SELECT count(*) FROM audit_log WHERE journey_id = $1 AND action LIKE '%export%'",
        uuid.UUID(driver.journey_id),
    )
    assert read >= 1, "the copy's read is in the audit log"

    # Not confirmed: refused, nothing changed.
    await data.get_by_role("button", name="Retirar mi consentimiento").click()
    assert "Confirme que retira su consentimiento" in await outcome(phone)
    assert (await driver.status()).stage is Stage.TELECONSULT

    data = phone.get_by_role("region", name="Sus datos")
    await data.get_by_label("Retiro mi consentimiento").check()
    await data.get_by_role("button", name="Retirar mi consentimiento").click()
    assert "Ha retirado su consentimiento" in await outcome(phone)
    await patient_page.snap("consent-withdrawn")
    final = await driver.result()
    assert final.stage is Stage.WITHDRAWN
    withdrawn_at = await pool.fetchval(
        "SELECT withdrawn_at FROM consents WHERE journey_id = $1", uuid.UUID(driver.journey_id)
    )
    assert withdrawn_at is not None
