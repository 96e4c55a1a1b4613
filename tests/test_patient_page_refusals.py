"""The patient's page refusing what it must, in the patient's language, changing nothing: files
of a refused type or too large (in the browser and on the server), a time booked meanwhile,
revoked, expired and broken links, forms without the link's form token; and the patient's
choice of language for the page and later emails."""

import json
import re
import uuid
from collections.abc import Callable

import asyncpg
import httpx
import pytest
from playwright.async_api import Browser, FilePayload, Page, expect

from domain.actors import Role
from domain.stages import Stage, WaitingOn
from domain.steps import DocumentKind, ReviewDecision, ReviewOutcome, SlotBooking
from patient_links import mint_patient_link
from settings import Settings
from tests.api_people import staff
from tests.browser import Screenshot, ServedApp, assert_accessible
from tests.journeys import COORDINATOR, REVIEWER, JourneyDriver
from tests.patient_pages import (
    PDF,
    PHONE,
    PatientPage,
    assert_accessible_as_served,
    emailed_link,
    journey_mail,
    outcome,
    rows,
)
from workflows.journey import PatientJourney

pytestmark = pytest.mark.usefixtures("worker")


async def test_bad_files_are_refused_in_the_browser_and_on_the_server(
    browser: Browser,
    phone: Page,
    settings: Settings,
    serve_app: Callable[[Settings], ServedApp],
    driver: JourneyDriver,
    pool: asyncpg.Pool,
    screenshot: Screenshot,
) -> None:
    app = serve_app(settings.model_copy(update={"max_upload_bytes": 64 * 1024}))
    await driver.start()
    jid = driver.journey_id
    await driver.request_documents(DocumentKind.MRI)
    link = await emailed_link(driver, app, "documents-request-1")
    mri = "Resonancia magnética de la columna"
    send = "Enviar los documentos"

    # With the page's script: checked before anything is sent.
    await phone.goto(link)
    await phone.get_by_label(mri).set_input_files(
        files=[FilePayload(name="programa.exe", mimeType="application/x-msdownload", buffer=b"MZ")]
    )
    await phone.get_by_role("button", name=send).click()
    problem = phone.locator("#upload-problem")
    await expect(problem).to_have_text(
        "programa.exe no es un archivo que podamos aceptar. Envíe archivos PDF, JPEG, PNG, "
        "DICOM o ZIP."
    )
    await expect(problem).to_be_focused()
    await phone.get_by_label(mri).set_input_files(
        files=[FilePayload(name="grande.pdf", mimeType="application/pdf", buffer=PDF * 40)]
    )
    await phone.get_by_role("button", name=send).click()
    await expect(problem).to_have_text(
        "Los archivos son demasiado grandes: entre todos pueden ocupar como máximo 64 kB."
    )
    await screenshot(phone, "too-large-in-the-browser")
    await assert_accessible(phone)

    # Without it, the server checks the same: by content, whatever the name says, and by size.
    context = await browser.new_context(viewport=PHONE, locale="es-ES", java_script_enabled=False)
    plain = await context.new_page()
    await plain.goto(link)
    await plain.get_by_label(mri).set_input_files(
        files=[FilePayload(name="escaner.pdf", mimeType="application/pdf", buffer=b"MZ" + PDF)]
    )
    await plain.get_by_role("button", name=send).click()
    said = await outcome(plain)
    assert "escaner.pdf no es un archivo que podamos aceptar." in said
    await screenshot(plain, "wrong-type-on-the-server")
    await assert_accessible_as_served(plain, browser)

    await plain.get_by_label(mri).set_input_files(
        files=[FilePayload(name="grande.pdf", mimeType="application/pdf", buffer=PDF * 40)]
    )
    await plain.get_by_role("button", name=send).click()
    await expect(plain.get_by_role("heading", level=1)).to_have_text(
        "Los archivos son demasiado grandes"
    )
    await expect(plain.get_by_role("alert")).to_contain_text("como máximo 64 kB")
    await screenshot(plain, "too-large-on-the-server")
    await assert_accessible_as_served(plain, browser)
    await plain.get_by_role("link", name="Volver a su proceso").click()
    await expect(
        plain.get_by_role("heading", name="Envíe los documentos que le pedimos")
    ).to_be_visible()
    await context.close()

    assert await rows(pool, "documents", jid) == 0
    assert (await driver.status()).waiting_on is WaitingOn.PATIENT


async def test_a_slot_taken_meanwhile_is_refused_and_the_booking_stays(
    phone: Page, patient_page: PatientPage, driver: JourneyDriver
) -> None:
    await driver.start()
    await driver.approve()
    status = await driver.reach(Stage.TELECONSULT, WaitingOn.PATIENT)
    await patient_page.open_emailed("slot-proposals-1")
    times = phone.get_by_role("group", name=re.compile("Horas disponibles"))
    await times.get_by_role("radio").nth(2).check()

    # Meanwhile a coordinator books a time for the patient, on the phone with them.
    taken = status.offered_slots[0]
    await driver.handle.execute_update(
        PatientJourney.book_consult, SlotBooking(actor=COORDINATOR, slot_id=taken.slot_id)
    )
    await phone.get_by_role("button", name="Reservar esta hora").click()
    said = await outcome(phone)
    assert "Ya hay una hora reservada para su consulta, quizá por nuestro equipo." in said
    await patient_page.check("slot-taken")
    booked = [b for b in (await driver.status()).bookings if not b.cancelled]
    assert [b.starts_at for b in booked] == [taken.starts_at]


async def test_a_revoked_link_and_an_expired_link_say_how_to_get_a_new_one(
    browser: Browser,
    phone: Page,
    served_app: ServedApp,
    driver: JourneyDriver,
    screenshot: Screenshot,
) -> None:
    await driver.start()
    await driver.approve()
    await driver.reach(Stage.TELECONSULT, WaitingOn.PATIENT)
    old = await emailed_link(driver, served_app, "slot-proposals-1")
    await phone.goto(old)
    times = phone.get_by_role("group", name=re.compile("Horas disponibles"))
    await times.get_by_role("radio").first.check()

    async with httpx.AsyncClient(base_url=served_app.url) as http:
        renewed = await http.post(
            f"/api/v1/journeys/{driver.journey_id}/patient-link",
            headers=staff(served_app.settings, Role.COORDINATOR),
        )
    assert renewed.status_code == 200, renewed.text
    assert renewed.json()["generation"] == 1

    # The form still open on the old link is refused, and nothing is booked.
    await phone.get_by_role("button", name="Reservar esta hora").click()
    await expect(phone.get_by_role("heading", level=1)).to_have_text(
        "Este enlace no abre su proceso"
    )
    await expect(phone.get_by_role("alert")).to_have_text(
        "El enlace se ha sustituido por uno más reciente, así que ya no funciona."
    )
    await expect(phone.get_by_text("Use el enlace del correo más reciente")).to_be_visible()
    await screenshot(phone, "revoked")
    await assert_accessible(phone)
    assert (await driver.status()).waiting_on is WaitingOn.PATIENT

    new = await emailed_link(driver, served_app, "patient-link-1")
    email = next(m for m in journey_mail(driver) if ".patient-link-1@" in m["Message-ID"])
    assert email["Content-Language"] == "es"
    assert email["Subject"].startswith("Su nuevo enlace a la página de su proceso")
    await phone.goto(new)
    await expect(
        phone.get_by_role("heading", name="Elija una hora para su videoconsulta")
    ).to_be_visible()

    # An expired link speaks the language it was sent in, whatever the browser's.
    expired_settings = served_app.settings.model_copy(update={"link_ttl_days": -1})
    expired = mint_patient_link(
        expired_settings,
        journey_id=driver.journey_id,
        patient_id=driver.patient.id,
        generation=1,
        language="es",
    )
    context = await browser.new_context(viewport=PHONE, locale="en-GB")
    english_browser = await context.new_page()
    answer = await english_browser.goto(f"{served_app.url}/my-journey?token={expired}")
    assert answer is not None and answer.status == 401
    await expect(english_browser.locator("html")).to_have_attribute("lang", "es")
    await expect(english_browser.get_by_role("alert")).to_contain_text("El enlace ha caducado")
    await screenshot(english_browser, "expired")
    await assert_accessible(english_browser)
    # A link cut short names no language: the browser's is used.
    await english_browser.goto(f"{served_app.url}/my-journey?token={expired[:-12]}")
    await expect(english_browser.locator("html")).to_have_attribute("lang", "en")
    await expect(english_browser.get_by_role("alert")).to_contain_text("not complete or not valid")
    await context.close()


async def test_the_patient_chooses_the_language_of_the_page_and_of_later_emails(
    phone: Page, patient_page: PatientPage, driver: JourneyDriver, pool: asyncpg.Pool
) -> None:
    await driver.start(preferred_language="en")
    jid = driver.journey_id
    await driver.reach(Stage.VALIDATION, WaitingOn.REVIEWER)
    await patient_page.open()
    await expect(phone.locator("html")).to_have_attribute("lang", "en")
    await phone.get_by_label("The language of this page and of our emails").select_option("es")
    await phone.get_by_role("button", name="Change the language").click()
    said = await outcome(phone)
    assert "Su idioma es ahora: Español." in said
    await expect(phone.locator("html")).to_have_attribute("lang", "es")
    await patient_page.check("language-changed")
    assert (
        await pool.fetchval(
            "SELECT p.preferred_language FROM patients p JOIN journeys j USING (patient_id) "
            "WHERE j.journey_id = $1",
            uuid.UUID(jid),
        )
        == "es"
    )
    changed = await pool.fetch(
        "SELECT actor_id, actor_role, detail FROM audit_log "
        "WHERE journey_id = $1 AND action = 'patient.preferred_language'",
        uuid.UUID(jid),
    )
    assert [(r["actor_id"], r["actor_role"], json.loads(r["detail"])) for r in changed] == [
        (driver.patient.id, "patient", {"from": "en", "to": "es"})
    ]
    # The page opens in it from now on, and the journey's next email is written in it.
    await patient_page.open()
    await expect(phone.locator("html")).to_have_attribute("lang", "es")
    await driver.handle.execute_update(
        PatientJourney.review,
        ReviewDecision(
            actor=REVIEWER, outcome=ReviewOutcome.REQUEST_DOCUMENTS, documents=(DocumentKind.MRI,)
        ),
    )
    await emailed_link(driver, patient_page.app, "documents-request-1")
    english = [m for m in journey_mail(driver) if ".acknowledgement@" in m["Message-ID"]]
    spanish = [m for m in journey_mail(driver) if ".documents-request-1@" in m["Message-ID"]]
    assert english[0]["Content-Language"] == "en"
    assert spanish[0]["Content-Language"] == "es"


async def test_a_form_without_the_links_form_token_changes_nothing(
    served_app: ServedApp, driver: JourneyDriver
) -> None:
    await driver.start(preferred_language="en")
    await driver.reach(Stage.VALIDATION, WaitingOn.REVIEWER)
    token = mint_patient_link(
        served_app.settings, journey_id=driver.journey_id, patient_id=driver.patient.id
    )
    async with httpx.AsyncClient(base_url=served_app.url) as http:
        forged = await http.post(
            "/my-journey/withdrawal",
            params={"token": token},
            data={"confirm": "yes", "form_token": "0" * 64},
        )
        missing = await http.post(
            "/my-journey/withdrawal", params={"token": token}, data={"confirm": "yes"}
        )
    for answer in (forged, missing):
        assert answer.status_code == 403
        assert "This form has expired. Nothing was changed" in answer.text
    status = await driver.status()
    assert status.stage is Stage.VALIDATION
