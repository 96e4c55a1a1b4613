"""The patient's page in a real browser: Debian's chromium at 360 pixels wide against the app
served on loopback, a worker and Temporal's time-skipping server behind it. The patient acts
through the page alone; reviewers, specialists, coordinators and the clinic act through the
journey driver in between. Refusals and links: test_patient_page_refusals.py."""

import re
import uuid
from datetime import timedelta
from decimal import Decimal

import asyncpg
import pytest
from playwright.async_api import Browser, FilePayload, Page, expect

from activities.messages import MessageComposer
from db.clinical import ClinicalRepository
from domain.stages import Stage, WaitingOn
from domain.steps import ConsultOutcome, DocumentKind
from tests.browser import Screenshot, ServedApp
from tests.helpers import text_of
from tests.journeys import SPECIALIST, JourneyDriver
from tests.patient_pages import (
    PDF,
    PHONE,
    PNG,
    PatientPage,
    assert_accessible_as_served,
    emailed_link,
    journey_mail,
    outcome,
    rows,
    send_checkin,
)
from tests.test_templates import CONTEXT as TEMPLATE_CONTEXT
from workflows.follow_up import FollowUp
from workflows.journey import PatientJourney

pytestmark = pytest.mark.usefixtures("worker")


async def test_the_page_opens_while_a_reviewer_reads_the_case(
    phone: Page, patient_page: PatientPage, driver: JourneyDriver
) -> None:
    await driver.start(preferred_language="en", time_zone="America/Mexico_City")
    status = await driver.reach(Stage.VALIDATION, WaitingOn.REVIEWER)
    await patient_page.open()
    await expect(phone.locator("html")).to_have_attribute("lang", "en")
    await expect(phone.get_by_role("heading", level=1)).to_have_text("Your journey")
    await expect(phone.get_by_text("A medical reviewer is reading your case.")).to_be_visible()
    await expect(phone.get_by_text("The next step is with a medical reviewer.")).to_be_visible()
    assert status.deadline is not None
    await expect(
        phone.get_by_text(re.compile(r"We expect their answer by .*America/Mexico_City"))
    ).to_be_visible()
    await patient_page.check("waiting-on-reviewer")


async def english_subject(kind: str, reference: str) -> str:
    """The subject an email of `kind` has in English, for this journey's reference."""
    context = {**TEMPLATE_CONTEXT, "reference": reference}
    return MessageComposer(sender="x@y").render(kind, "en", context)[1]


async def test_a_spanish_patient_takes_every_step_through_the_page(
    phone: Page, patient_page: PatientPage, driver: JourneyDriver, pool: asyncpg.Pool
) -> None:
    await driver.start()  # the form's patient: Spanish, in Europe/Madrid
    jid = driver.journey_id
    await driver.request_documents(DocumentKind.MRI, DocumentKind.ASIA_EXAM)

    # Documents: one input per document asked for; sent with a progress bar.
    await patient_page.open_emailed("documents-request-1")
    await expect(phone.locator("html")).to_have_attribute("lang", "es")
    await expect(phone.get_by_text("Envíenos los documentos que le pedimos.")).to_be_visible()
    await expect(phone.get_by_text("El siguiente paso le corresponde a usted.")).to_be_visible()
    await patient_page.check("documents-asked")
    await phone.get_by_label("Resonancia magnética de la columna").set_input_files(
        files=[FilePayload(name="resonancia.pdf", mimeType="application/pdf", buffer=PDF)]
    )
    await phone.get_by_label("Exploración ASIA/ISNCSCI").set_input_files(
        files=[FilePayload(name="asia.png", mimeType="image/png", buffer=PNG)]
    )
    # The page's script sends the files itself, to show the upload's progress.
    upload = f"{patient_page.app.url}/my-journey/documents"
    async with phone.expect_request(lambda r: r.url.startswith(upload)) as sending:
        await phone.get_by_role("button", name="Enviar los documentos").click()
    assert (await sending.value).resource_type == "xhr"
    said = await outcome(phone)
    assert "Gracias: hemos recibido 2 archivos." in said
    assert "resonancia.pdf, asia.png" in said
    await expect(phone.get_by_text("Un revisor médico está estudiando su caso.")).to_be_visible()
    await patient_page.check("documents-sent")
    kinds = await pool.fetch(
        "SELECT kind, content_type FROM documents WHERE journey_id = $1 ORDER BY kind",
        uuid.UUID(jid),
    )
    assert [(r["kind"], r["content_type"]) for r in kinds] == [
        ("asia_exam", "image/png"),
        ("mri", "application/pdf"),
    ]

    # A slot, in the patient's time zone with the zone named; then another time.
    await driver.approve()
    status = await driver.reach(Stage.TELECONSULT, WaitingOn.PATIENT)
    await patient_page.open_emailed("slot-proposals-1")
    times = phone.get_by_role("group", name=re.compile("Horas disponibles"))
    await expect(times.get_by_role("radio")).to_have_count(len(status.offered_slots))
    await expect(times).to_contain_text("(Europe/Madrid)")
    await patient_page.check("slots")
    await times.get_by_role("radio").first.check()
    await phone.get_by_role("button", name="Reservar esta hora").click()
    assert "Su videoconsulta está reservada para el" in await outcome(phone)
    await expect(phone.get_by_role("heading", name="Su videoconsulta")).to_be_visible()
    await patient_page.check("slot-booked")

    await phone.get_by_role("button", name="Pedir otra hora").click()
    assert "Su consulta está cancelada." in await outcome(phone)
    times = phone.get_by_role("group", name=re.compile("Horas disponibles"))
    await expect(times.get_by_role("radio").first).to_be_visible()
    await patient_page.snap("rescheduled")
    await times.get_by_role("radio").nth(1).check()
    await phone.get_by_role("button", name="Reservar esta hora").click()
    assert "Su videoconsulta está reservada para el" in await outcome(phone)
    assert [b.kind.value for b in (await driver.status()).bookings if not b.cancelled] == [
        "consult"
    ]

    # The specialist holds the consultation and writes the plan.
    consult = next(b for b in (await driver.status()).bookings if not b.cancelled)
    await driver.sleep(consult.starts_at - await driver.now() + timedelta(minutes=5))
    async with pool.acquire() as conn:
        plan_id = await ClinicalRepository(conn).add_plan(
            journey_id=jid, specialist_id="spec-1", price=Decimal("24500.00"), currency="EUR"
        )
    await driver.handle.execute_update(
        PatientJourney.consult_outcome,
        ConsultOutcome(actor=SPECIALIST, eligible=True, plan_id=plan_id),
    )
    plan = await driver.reach(Stage.PLAN, WaitingOn.PATIENT)
    assert plan.deadline is not None

    await patient_page.open_emailed("plan-and-quote")
    section = phone.get_by_role("region", name="Su plan de tratamiento y su presupuesto")
    await expect(section).to_contain_text("al menos 120 millones de células madre mesenquimales")
    await expect(section).to_contain_text("unos 45 minutos")
    await expect(section).to_contain_text("24.500,00 €")
    await expect(section).to_contain_text(re.compile(r"\d{4}, \d\d:\d\d \(Europe/Madrid\)"))
    await patient_page.check("plan")
    await phone.get_by_role("button", name="Acepto el plan").click()
    assert "Gracias: ha aceptado el plan." in await outcome(phone)
    await driver.reach(Stage.TRAVEL, WaitingOn.PATIENT)

    # Travel: a departure before the arrival is refused and nothing is stored.
    arrival = (await driver.now() + timedelta(days=30)).date()
    await expect(phone.get_by_role("heading", name="Sus datos de viaje")).to_be_visible()
    await phone.get_by_label("Fecha de llegada").fill(arrival.isoformat())
    await phone.get_by_label("Fecha de salida").fill((arrival - timedelta(days=1)).isoformat())
    await phone.get_by_label("Vuelo de llegada (opcional)").fill("IB3170")
    await phone.get_by_role("button", name="Enviar mis datos de viaje").click()
    said = await outcome(phone)
    assert "No se ha hecho: no se ha cambiado nada." in said
    assert "La salida debe ser al menos tres días después de la llegada" in said
    await expect(phone.get_by_label("Vuelo de llegada (opcional)")).to_have_value("IB3170")
    await expect(phone.get_by_label("Fecha de salida")).to_have_attribute("aria-invalid", "true")
    await patient_page.check("travel-refused")
    assert await rows(pool, "travel_records", jid) == 0

    await phone.get_by_label("Fecha de salida").fill((arrival + timedelta(days=4)).isoformat())
    await phone.get_by_label("Necesito una carta de invitación para el visado").check()
    await phone.get_by_role("button", name="Enviar mis datos de viaje").click()
    assert "Gracias: hemos recibido sus datos de viaje." in await outcome(phone)
    await patient_page.snap("travel-sent")
    await driver.reach(Stage.TRAVEL, WaitingOn.COORDINATOR)
    # Reloading the answer to a form reads the journey again; it does not send the form twice.
    await phone.reload()
    await expect(phone.locator("#outcome")).to_have_count(0)
    await expect(phone.get_by_text("Estamos confirmando con la clínica las fechas")).to_be_visible()
    await expect(
        phone.get_by_text("El siguiente paso les corresponde a nuestros coordinadores.")
    ).to_be_visible()
    await expect(phone.get_by_text("No hay una fecha fija")).to_be_visible()
    await patient_page.check("waiting-on-clinic-answer")
    await driver.confirm_visit_if_asked()
    waiting = await driver.reach(Stage.TRAVEL, WaitingOn.PATIENT)
    await phone.reload()
    await expect(
        phone.get_by_text("Su visita está reservada; le esperamos con mucho gusto.")
    ).to_be_visible()
    booked = phone.get_by_role("region", name="Lo que tiene reservado")
    await expect(booked).to_contain_text("Visita a la clínica")
    await expect(booked).to_contain_text("Hotel: del")
    await patient_page.check("visit-booked")

    # The visit, then the follow-up year: two weekly check-ins.
    assert waiting.deadline is not None
    await driver.sleep(waiting.deadline - await driver.now() + timedelta(hours=1))
    await driver.treat()
    await patient_page.open_emailed("follow-up-advice-1-send")
    checkin = phone.get_by_role("region", name="Control semanal de rehabilitación")
    await expect(checkin).to_contain_text("La regla del seis")
    await expect(phone.get_by_label("Semana (de 1 a 26)")).to_have_value("1")
    await send_checkin(phone, hours="6", days="6")
    assert "Gracias: hemos registrado su control de la semana 1." in await outcome(phone)
    await patient_page.snap("check-in-1")

    await send_checkin(phone, week="10", hours="6", days="6")
    said = await outcome(phone)
    assert "La semana 10 aún no ha empezado" in said
    await patient_page.check("check-in-too-early")
    assert await rows(pool, "rehab_checkins", jid) == 1

    await driver.sleep(timedelta(days=7))
    await phone.reload()
    await send_checkin(phone, week="2", hours="4,5", days="5")
    said = await outcome(phone)
    assert "Gracias: hemos registrado su control de la semana 2." in said
    assert "4,5 horas al día, 5 días esta semana." in said
    assert "Es menos de lo que pide la regla del seis" in said
    table = phone.get_by_role("table", name="Controles que hemos recibido")
    await expect(table.get_by_role("row")).to_have_count(3)
    await expect(table).to_contain_text("Por debajo esta semana")
    await patient_page.check("check-in-2")
    received = await driver.follow_up.query(FollowUp.status)
    assert received.checkins_received == [1, 2]

    # Every email this patient got is Spanish: no English template was used for them.
    reference = jid.split("-", 1)[0].upper()
    sent = await pool.fetch(
        "SELECT step, kind, message_id FROM outbox WHERE journey_id = $1 AND audience = 'patient'",
        uuid.UUID(jid),
    )
    by_id = {m["Message-ID"].strip(): m for m in journey_mail(driver)}
    assert len(sent) >= 15
    for row in sent:
        message = by_id[row["message_id"]]
        assert message["Content-Language"] == "es", row["step"]
        assert message["Subject"] != await english_subject(row["kind"], reference), row["step"]
        assert "Dear " not in text_of(message), row["step"]


async def test_withdrawing_and_reading_the_status_without_javascript(
    browser: Browser,
    served_app: ServedApp,
    driver: JourneyDriver,
    pool: asyncpg.Pool,
    screenshot: Screenshot,
) -> None:
    context = await browser.new_context(viewport=PHONE, java_script_enabled=False)
    page = await context.new_page()
    await driver.start(preferred_language="en", time_zone="America/New_York")
    jid = driver.journey_id
    await driver.approve()
    await driver.reach(Stage.TELECONSULT, WaitingOn.PATIENT)

    await page.goto(await emailed_link(driver, served_app, "slot-proposals-1"))
    await expect(
        page.get_by_text("Please choose a time for your video consultation with the specialist.")
    ).to_be_visible()
    times = page.get_by_role("group", name=re.compile("Times available"))
    # On her clock, and on the specialist's in Madrid, which shows another time.
    await expect(times.get_by_role("radio").first).to_have_accessible_name(
        re.compile(r", \d\d:\d\d \(New York time; \d\d:\d\d in Madrid\)$")
    )
    # By keyboard alone: the times are one stop, Space picks one, Tab reaches the button.
    await times.get_by_role("radio").first.focus()
    await page.keyboard.press("Space")
    await expect(times.get_by_role("radio").first).to_be_checked()
    await page.keyboard.press("Tab")
    await expect(page.get_by_role("button", name="Book this time")).to_be_focused()
    await page.keyboard.press("Enter")
    said = await outcome(page)
    assert "Your video consultation is booked for" in said
    await screenshot(page, "booked-without-javascript")
    await assert_accessible_as_served(page, browser)

    await page.get_by_role("link", name="I want to withdraw").click()
    confirm = page.locator(".card")
    await expect(page.get_by_role("heading", name="Withdrawing from your journey")).to_be_focused()
    await expect(confirm).to_contain_text("Do you want to withdraw? Your journey will be closed.")
    await expect(confirm).to_contain_text("We will cancel:")
    await expect(confirm.get_by_role("listitem")).to_have_text(
        [re.compile(r"^Video consultation: .*\(America/New_York\)$")]
    )
    await screenshot(page, "withdrawal-confirmation")
    await assert_accessible_as_served(page, browser)
    await page.get_by_label("Would you tell us why? (optional)").select_option("financial")
    await page.get_by_role("button", name="Yes, withdraw").click()
    said = await outcome(page)
    assert "Your journey is closed. We cancelled:" in said
    assert re.search(r"Video consultation: .*America/New_York", said)
    await expect(
        page.get_by_text("Your journey was closed and any bookings cancelled.")
    ).to_be_visible()
    await expect(page.get_by_role("link", name="I want to withdraw")).to_have_count(0)
    await screenshot(page, "withdrawn")
    await assert_accessible_as_served(page, browser)
    await context.close()

    assert (await driver.result()).stage is Stage.WITHDRAWN
    assert set((await driver.bookings()).values()) == {"cancelled"}
    withdrawal = next(m for m in journey_mail(driver) if ".withdrawal@" in m["Message-ID"])
    assert "Reason: financial reasons." in text_of(withdrawal)
    # Each opening of the page is a read of the journey by its patient, in the audit log.
    reads = await pool.fetch(
        "SELECT actor_id, actor_role, detail->>'status' AS status FROM audit_log "
        "WHERE journey_id = $1 AND action = 'GET /my-journey' ORDER BY seq",
        uuid.UUID(jid),
    )
    assert len(reads) == 2
    assert {(r["actor_id"], r["actor_role"], r["status"]) for r in reads} == {
        (driver.patient.id, "patient", "200")
    }
    steps = await pool.fetch(
        "SELECT action FROM audit_log WHERE journey_id = $1 AND actor_role = 'patient' "
        "AND action LIKE 'POST %' ORDER BY seq",
        uuid.UUID(jid),
    )
    assert [r["action"] for r in steps] == [
        "POST /my-journey/booking",
        "POST /my-journey/withdrawal",
    ]
