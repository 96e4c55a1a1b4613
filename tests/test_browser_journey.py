"""A journey from the form to the follow-up year with nothing but browsers: the patient through
the form and the links in her emails, each member of staff through the console, every step a
click or a keystroke. Real PostgreSQL, Temporal (the time-skipping test server, so the days
before the consultation and before the visit pass at once), worker, SMTP mailbox and Debian's
chromium; no step goes through the JSON API.

The people, each in a browser of their own:
- Олена Коваленко, a patient from Ukraine on her phone, whose browser speaks Ukrainian (no
  catalogue: the form is in English) and who asks on the form for Spanish;
- the demo staff of `journeys dev`, signed in on the development sign-in page: the reviewer,
  the case manager, the specialist, and the coordinator, who records the clinic's answers and
  events as a clinic that reports by email needs (`JOURNEYS_CLINIC_MODE=email`, the default).

At each hand-over the test checks what a person would: the email arrived (read from the
mailbox's files, its link followed as it is), the page says what the journey now waits on,
the worklist shows the case to the next person.
"""

import re
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from email.message import EmailMessage
from pathlib import Path

import asyncpg
import pytest
from playwright.async_api import Browser, FilePayload, Locator, Page, expect
from temporalio.client import Client
from temporalio.testing import WorkflowEnvironment

from domain.actors import Role
from domain.journey import JourneyStatus
from domain.names import journey_workflow_id
from tests.browser import Screenshot, ServedApp, assert_accessible, sign_in_as
from tests.helpers import eventually, read_mailbox, text_of
from tests.patient_pages import PDF, PHONE
from worker import running_worker
from workflows.journey import PatientJourney

PATIENT = "Олена Коваленко"
PATIENT_EMAIL = "olena.kovalenko@example.org"
PATIENT_ZONE = "Europe/Kyiv"
# How long an email, or a journey's move, may take to show (seconds): generous, since
# another test run may share the machine.
WAIT = 30.0
# How long a form's answer may take (milliseconds): the page answers once the journey has
# taken the step, which waits for the worker.
ANSWER_MS = 30_000

StaffDesk = Callable[[Role], Awaitable[Page]]


@dataclass
class Walk:
    """What each step of the walk reads: the app, the mailbox, Temporal, and the journey's
    id once the form has been sent."""

    app: ServedApp
    mail_dir: Path
    client: Client
    env: WorkflowEnvironment
    shot: Screenshot
    journey_id: str = ""

    @property
    def reference(self) -> str:
        """The journey's reference, as pages and emails show it."""
        return self.journey_id.split("-", 1)[0].upper()

    async def email(self, step: str) -> EmailMessage:
        """The journey's email of `step` (its Message-ID names it), once it has arrived."""

        async def find() -> EmailMessage | None:
            for message in read_mailbox(self.mail_dir):
                if f"<{self.journey_id}.{step}@" in message["Message-ID"]:
                    return message
            return None

        found = await eventually(find, within=WAIT, what=f"the {step} email")
        assert found is not None
        return found

    async def patient_email(self, step: str) -> EmailMessage:
        """An email to the patient: to her address, in the language she chose."""
        message = await self.email(step)
        assert message["To"] == PATIENT_EMAIL, step
        assert message["Content-Language"] == "es", step
        return message

    def patient_link(self, message: EmailMessage) -> str:
        """The link to her page the email carries, exactly as she would click it."""
        found = re.search(r"https?://\S+/my-journey\?token=[\w.-]+", text_of(message))
        assert found, f"no link to the patient's page in {message['Subject']!r}"
        assert found.group(0).startswith(f"{self.app.url}/my-journey?"), found.group(0)
        return found.group(0)

    def staff_link(self, message: EmailMessage) -> str:
        """The link to the case an email to staff carries, in whichever language it is written."""
        found = re.search(r": (\S+/staff/journeys/\S+)", text_of(message))
        assert found, f"no link to the case in {message['Subject']!r}"
        assert found.group(1) == f"{self.app.url}/staff/journeys/{self.journey_id}"
        return found.group(1)

    async def status(self) -> JourneyStatus:
        """The journey's status, read by the test to know how far to move the clock; never a
        step."""
        handle = self.client.get_workflow_handle_for(
            PatientJourney.run, journey_workflow_id(self.journey_id)
        )
        return await handle.query(PatientJourney.status)

    async def let_time_pass_until(self, moment: datetime) -> None:
        """The test server skips to `moment`, firing every timer on the way (reminders,
        checklists), as the days would pass."""
        now = await self.env.get_current_time()
        if moment > now:
            await self.env.sleep(moment - now)


@pytest.fixture
async def app(
    served_app: ServedApp, client: Client, pool: asyncpg.Pool, mail_dir: Path
) -> AsyncIterator[ServedApp]:
    """The served app with a worker on the same settings, so the links in the emails point at
    the served address and are followed as they are (the `worker` fixture's emails would
    point at the default address)."""
    async with running_worker(client, settings=served_app.settings, pool=pool):
        yield served_app


@pytest.fixture
def walk(
    app: ServedApp,
    mail_dir: Path,
    client: Client,
    temporal_env: WorkflowEnvironment,
    screenshot: Screenshot,
) -> Walk:
    return Walk(app, mail_dir, client, temporal_env, screenshot)


@pytest.fixture
async def her_phone(browser: Browser) -> AsyncIterator[Page]:
    """The patient's phone: 360 pixels wide, in Ukrainian, in Kyiv."""
    context = await browser.new_context(viewport=PHONE, locale="uk-UA", timezone_id=PATIENT_ZONE)
    yield await context.new_page()
    await context.close()


@pytest.fixture
async def desk(browser: Browser, app: ServedApp) -> AsyncIterator[StaffDesk]:
    """`await desk(role)`: the demo member of staff with `role` at a browser of their own,
    signed in on the development sign-in page."""
    contexts = []

    async def sit_down(role: Role) -> Page:
        context = await browser.new_context(locale="en-GB")
        contexts.append(context)
        page = await context.new_page()
        await sign_in_as(page, app.url, role)
        return page

    yield sit_down
    for context in contexts:
        await context.close()


async def reload_until(page: Page, where: Locator, text: str) -> None:
    """Pages are not live: a person reloads until the journey's next move shows."""

    async def shown() -> bool:
        await page.reload()
        return text in await where.inner_text()

    await eventually(shown, within=WAIT, what=f"{text!r} on {page.url}")


async def answer_on_her_page(page: Page) -> str:
    """The patient page's answer to a form, at its top and focused."""
    box = page.locator("#outcome")
    await expect(box).to_be_focused(timeout=ANSWER_MS)
    return await box.inner_text()


async def open_from_worklist(page: Page, walk: Walk, *, waits_on_them: bool) -> None:
    """The case's row on the worklist (with the patient's name, and marked when it waits on
    this person), then its case page."""
    await page.goto(f"{walk.app.url}/staff/")
    link = page.get_by_role("link", name=walk.reference)
    row = page.get_by_role("row").filter(has=link)
    await expect(row).to_contain_text(PATIENT)
    if waits_on_them:
        await expect(row.locator(".tag.yours")).to_have_text("You")
    await row.get_by_role("link", name=walk.reference).click()
    await expect(page.get_by_role("heading", level=1)).to_have_text(f"Journey {walk.reference}")


async def step_form(page: Page, step: str) -> Locator:
    """The case page's form for `step`: offered only while the journey expects it."""
    actions = page.get_by_role("region", name="What you can do now")
    form = actions.get_by_role("region", name=step)
    await expect(form).to_have_count(1)
    return form


async def send(form: Locator, step: str) -> None:
    """Submits a step's form and waits for the case page to say it was taken."""
    await form.get_by_role("button", name=step).click()
    done = form.page.get_by_role("status").filter(has_text="Done")
    await expect(done).to_contain_text(f"Done: {step}", timeout=ANSWER_MS)


# The patient, on her phone.


async def patient_sends_the_form(walk: Walk, phone: Page) -> None:
    """She fills in the public form; no catalogue speaks Ukrainian, so it is in English, and she
    chooses Spanish for her emails and pages."""
    await phone.goto(f"{walk.app.url}/")
    await expect(phone.locator("html")).to_have_attribute("lang", "en")
    await phone.get_by_label("Full name").fill(PATIENT)
    await phone.get_by_label("Email").fill(PATIENT_EMAIL)
    await phone.get_by_label("Phone, with country code").fill("+380 67 123 4567")
    await phone.get_by_label("Country (two letters").fill("UA")
    await phone.get_by_label("Preferred language").select_option(label="Español")
    await phone.get_by_label("Time zone").fill(PATIENT_ZONE)
    await phone.get_by_label("Level of injury").fill("T6")
    await phone.get_by_label("Complete or incomplete injury").select_option("incomplete")
    await phone.get_by_label("Date of injury").fill("2024-03-15")
    await phone.get_by_label("Cause").select_option("fall")
    await phone.get_by_label("Medical history").fill(
        "Падіння з висоти; два роки реабілітації, часткова чутливість нижче T8."
    )
    await phone.get_by_role("checkbox", name=re.compile("I consent")).check()
    await walk.shot(phone, "patient-form")
    await phone.get_by_role("button", name="Send my inquiry").click()
    await phone.wait_for_url(re.compile(r"/submitted/[0-9a-f-]{36}\?"))
    walk.journey_id = phone.url.rsplit("/", 1)[1].split("?")[0]
    await expect(phone.get_by_role("heading", level=1)).to_have_text(
        "Thank you: we received your inquiry"
    )
    await expect(phone.get_by_text(f"Your reference is {walk.reference}")).to_be_visible()
    await walk.shot(phone, "patient-inquiry-received")


async def patient_opens_her_acknowledgement(walk: Walk, phone: Page) -> None:
    """The acknowledgement, in Spanish and with her name as she wrote it, links to her page,
    which says a reviewer has the next step."""
    acknowledgement = await walk.patient_email("acknowledgement")
    assert walk.reference in acknowledgement["Subject"]
    assert "Estimado/a Олена" in text_of(acknowledgement)
    await walk.email("staff-new-inquiry")
    await phone.goto(walk.patient_link(acknowledgement))
    await expect(phone.locator("html")).to_have_attribute("lang", "es")
    await expect(phone.get_by_text("Un revisor médico está estudiando su caso.")).to_be_visible()
    await expect(
        phone.get_by_text("El siguiente paso le corresponde a un revisor médico.")
    ).to_be_visible()
    await expect(phone.get_by_text(f"({PATIENT_ZONE})").first).to_be_visible()
    await walk.shot(phone, "patient-waiting-on-reviewer")
    await assert_accessible(phone)


async def patient_sends_the_mri(walk: Walk, phone: Page) -> None:
    asked = await walk.patient_email("documents-request-1")
    await phone.goto(walk.patient_link(asked))
    await expect(phone.get_by_text("El siguiente paso le corresponde a usted.")).to_be_visible()
    await phone.get_by_label("Resonancia magnética de la columna").set_input_files(
        files=[FilePayload(name="mrt-2024.pdf", mimeType="application/pdf", buffer=PDF)]
    )
    await phone.get_by_role("button", name="Enviar los documentos").click()
    assert "mrt-2024.pdf" in await answer_on_her_page(phone)
    await expect(phone.get_by_text("Un revisor médico está estudiando su caso.")).to_be_visible()
    await walk.shot(phone, "patient-documents-sent")


async def patient_books_a_consultation(walk: Walk, phone: Page) -> None:
    """She picks one of the times offered, shown in her own zone; the calendar invitation
    follows by email."""
    proposals = await walk.patient_email("slot-proposals-1")
    await phone.goto(walk.patient_link(proposals))
    times = phone.get_by_role("group", name=re.compile("Horas disponibles"))
    # On her clock, named, and on the specialist's in Madrid, which shows another time.
    await expect(times).to_contain_text(f"su zona horaria, {PATIENT_ZONE}")
    await expect(times.get_by_role("radio").first).to_have_accessible_name(
        re.compile(r", \d\d:\d\d \(hora de Kiev; \d\d:\d\d en Madrid\)$")
    )
    await walk.shot(phone, "patient-consult-times")
    await times.get_by_role("radio").first.check()
    await phone.get_by_role("button", name="Reservar esta hora").click()
    assert "Su videoconsulta está reservada para el" in await answer_on_her_page(phone)
    await expect(
        phone.get_by_text("El siguiente paso le corresponde al especialista.")
    ).to_be_visible()
    await walk.shot(phone, "patient-consult-booked")
    confirmation = await walk.patient_email("booking-confirmation-1")
    assert any(part.get_content_type() == "text/calendar" for part in confirmation.walk())


async def patient_accepts_the_plan(walk: Walk, phone: Page) -> None:
    """The plan and quote, with the specialist's notes, formatted for Spanish."""
    quote = await walk.patient_email("plan-and-quote")
    await phone.goto(walk.patient_link(quote))
    plan = phone.get_by_role("region", name="Su plan de tratamiento y su presupuesto")
    await expect(plan).to_contain_text("al menos 120 millones")
    await expect(plan).to_contain_text("24.500,00 €")
    await expect(plan).to_contain_text("traiga su resonancia")
    await walk.shot(phone, "patient-plan")
    await assert_accessible(phone)
    await phone.get_by_role("button", name="Acepto el plan").click()
    assert "Gracias: ha aceptado el plan." in await answer_on_her_page(phone)


async def patient_sends_her_travel(walk: Walk, phone: Page) -> None:
    """Her dates from the link in the request: arriving three days from now on the journey's
    clock, so little time has to pass before the visit; she needs a visa letter."""
    asked = await walk.patient_email("travel-details-request")
    await phone.goto(walk.patient_link(asked))
    arrival = (await walk.env.get_current_time() + timedelta(days=3)).date()
    await phone.get_by_label("Fecha de llegada").fill(arrival.isoformat())
    await phone.get_by_label("Fecha de salida").fill((arrival + timedelta(days=4)).isoformat())
    await phone.get_by_label("Vuelo de llegada (opcional)").fill("PS 873")
    await phone.get_by_label("Necesito una carta de invitación para el visado").check()
    await walk.shot(phone, "patient-travel-form")
    await phone.get_by_role("button", name="Enviar mis datos de viaje").click()
    assert "Gracias: hemos recibido sus datos de viaje." in await answer_on_her_page(phone)
    await walk.shot(phone, "patient-travel-sent")
    await reload_until(
        phone, phone.locator("main"), "Estamos confirmando con la clínica las fechas de su visita."
    )


async def patient_sees_her_visit_booked(walk: Walk, phone: Page) -> None:
    """The visit confirmed by email, the visa letter attached as a PDF (a name its font could
    not print would have held the journey in an incident instead), and her page listing the
    visit, the hotel and the transfers."""
    await walk.patient_email("visit-confirmed")
    letter = await walk.patient_email("visa-letter")
    assert any(part.get_content_type() == "application/pdf" for part in letter.walk())
    await walk.email("hotel-request")
    await walk.email("transfer-request")
    await reload_until(
        phone, phone.locator("main"), "Su visita está reservada; le esperamos con mucho gusto."
    )
    booked = phone.get_by_role("region", name="Lo que tiene reservado")
    await expect(booked).to_contain_text("Visita a la clínica")
    await expect(booked).to_contain_text("Hotel: del")
    await expect(booked).to_contain_text("Traslados del aeropuerto")
    await walk.shot(phone, "patient-visit-booked")
    await assert_accessible(phone)


async def patient_travels_to_the_clinic(walk: Walk, phone: Page) -> None:
    """The journey waits on her to travel until the first visit day; its clock moves there,
    and the checklist and the reminder arrive on the way."""
    status = await walk.status()
    assert status.deadline is not None, "the first visit day"
    await walk.let_time_pass_until(status.deadline + timedelta(hours=1))
    await walk.patient_email("travel-checklist")
    await walk.patient_email("travel-reminder")
    await reload_until(
        phone,
        phone.locator("main"),
        "Está en la clínica para su visita de tratamiento de dos días.",
    )
    await walk.shot(phone, "patient-at-the-clinic")


async def patient_checks_in(walk: Walk, phone: Page) -> None:
    """The follow-up year: the care advice links to her page, where she sends week 1."""
    advice = await walk.patient_email("follow-up-advice-1-send")
    await phone.goto(walk.patient_link(advice))
    await expect(phone.get_by_text("Ha comenzado su año de seguimiento")).to_be_visible()
    checkin = phone.get_by_role("region", name="Control semanal de rehabilitación")
    await expect(checkin).to_contain_text("La regla del seis")
    await expect(phone.get_by_label("Semana (de 1 a 26)")).to_have_value("1")
    await phone.get_by_label(re.compile("^Horas diarias")).fill("6")
    await phone.get_by_label("Días que hizo ejercicio esta semana").fill("6")
    await phone.get_by_role("button", name="Enviar mi control").click()
    assert "Gracias: hemos registrado su control de la semana 1." in await answer_on_her_page(phone)
    await walk.shot(phone, "patient-check-in")
    await assert_accessible(phone)


# The staff, in the console.


async def reviewer_asks_for_the_mri(walk: Walk, reviewer: Page) -> None:
    """The new case waits on the reviewer, first on the worklist; they ask for the MRI."""
    await expect(reviewer.get_by_role("status")).to_contain_text("1 journey waits on you")
    await open_from_worklist(reviewer, walk, waits_on_them=True)
    await expect(reviewer.locator("#waiting")).to_contain_text(
        "Validation: waiting on a medical reviewer to review the case by"
    )
    await walk.shot(reviewer, "reviewer-case")
    await assert_accessible(reviewer)
    review = await step_form(reviewer, "Review the case")
    await review.get_by_role("radio", name="Ask for documents").check()
    await review.get_by_role("checkbox", name="MRI of the spine").check()
    await send(review, "Review the case")
    await expect(reviewer.locator("#waiting")).to_contain_text(
        "Validation: waiting on the patient to send the requested documents"
    )


async def reviewer_approves(walk: Walk, reviewer: Page) -> None:
    """Back on the reviewer's worklist with the scan; they approve."""
    await open_from_worklist(reviewer, walk, waits_on_them=True)
    await expect(reviewer.get_by_role("link", name="mrt-2024.pdf")).to_be_visible()
    review = await step_form(reviewer, "Review the case")
    await review.get_by_role("radio", name="Approve").check()
    await send(review, "Review the case")
    await walk.shot(reviewer, "reviewer-approved")


async def case_manager_takes_the_case(walk: Walk, case_manager: Page) -> None:
    """The journey assigns a case manager who speaks Spanish, by language and load (a
    coordinator assigns one only when none fits); the patient meets her by email, and she
    opens the case from the link in hers."""
    intro = await walk.patient_email("case-manager-intro-1")
    assert "Lucía Romero" in text_of(intro)
    assigned = await walk.email("case-assigned-1")
    assert assigned["To"] == "lucia.romero@journeys.localhost"
    assert assigned["Content-Language"] == "es", "she works in Spanish first"
    await case_manager.goto(walk.staff_link(assigned))
    await expect(case_manager.get_by_role("heading", level=1)).to_have_text(
        f"Journey {walk.reference}"
    )
    await reload_until(
        case_manager,
        case_manager.locator("#waiting"),
        "Teleconsultation: waiting on the patient to choose a consultation slot by",
    )
    await walk.shot(case_manager, "case-manager-case")
    await open_from_worklist(case_manager, walk, waits_on_them=False)


async def specialist_records_the_plan(walk: Walk, desk: StaffDesk) -> None:
    """The specialist learns of the booking by email. The outcome can be recorded once the
    consultation has begun, so the journey's clock moves past its start; then, from the link
    in the email, she records the plan and the quote."""
    told = await walk.email("consult-booked-1")
    assert told["To"] == "elena.vidal@journeys.localhost"
    consult = next(b for b in (await walk.status()).bookings if not b.cancelled)
    await walk.let_time_pass_until(consult.starts_at + timedelta(minutes=40))
    specialist = await desk(Role.SPECIALIST)
    await expect(specialist.get_by_role("status")).to_contain_text("1 journey waits on you")
    await specialist.goto(walk.staff_link(told))
    await expect(specialist.locator("#waiting")).to_contain_text(
        "Teleconsultation: waiting on the specialist to hold the consultation and record its "
        "outcome by"
    )
    await expect(specialist.get_by_role("link", name="mrt-2024.pdf")).to_be_visible()
    outcome = await step_form(specialist, "Record the consultation outcome")
    await outcome.get_by_role("radio", name="Yes, with this plan").check()
    await outcome.get_by_label("Price").fill("24500")
    # The patient reads these notes on her page: written in her language.
    await outcome.get_by_label("Notes for the plan").fill(
        "Trasplante intratecal; traiga su resonancia y la lista de medicamentos."
    )
    await walk.shot(specialist, "specialist-outcome")
    await send(outcome, "Record the consultation outcome")
    await expect(specialist.locator("#waiting")).to_contain_text(
        "Plan: waiting on the patient to accept or decline the treatment plan by"
    )
    await walk.shot(specialist, "specialist-plan-sent")
    await assert_accessible(specialist)


async def coordinator_records_the_clinics_yes(walk: Walk, coordinator: Page) -> None:
    """The clinic is asked for the visit by email and answers by email; the journey waits on a
    coordinator, first on their worklist, to record its answer."""
    await walk.email("clinic-visit-request")
    await expect(coordinator.get_by_role("status")).to_contain_text("1 journey waits on you")
    await open_from_worklist(coordinator, walk, waits_on_them=True)
    await expect(coordinator.locator("#waiting")).to_contain_text(
        "Travel: waiting on a coordinator to record the clinic's answer to the visit request."
    )
    answer = await step_form(coordinator, "Record the clinic's answer")
    await answer.get_by_role("radio", name="Confirmed").check()
    await answer.get_by_label("The clinic's reference").fill("CLN-2026-0412")
    await send(answer, "Record the clinic's answer")
    await expect(coordinator.locator("#waiting")).to_contain_text(
        "Travel: waiting on the patient to travel to the clinic by"
    )
    await walk.shot(coordinator, "coordinator-visit-confirmed")


async def coordinator_records_the_visit(walk: Walk, coordinator: Page) -> None:
    """The clinic reports the admission, the procedure and the discharge by email or phone;
    the coordinator records each in turn, and the journey moves to the follow-up year."""
    await reload_until(
        coordinator,
        coordinator.locator("#waiting"),
        "Treatment: waiting on the clinic to report the admission by",
    )
    await send(await step_form(coordinator, "Record the admission"), "Record the admission")
    procedure = await step_form(coordinator, "Record the procedure")
    await procedure.get_by_label("Cells given").fill("150000000")
    await procedure.get_by_label("Minutes").fill("45")
    await procedure.get_by_label("Lot").fill("MSC-2026-118")
    await walk.shot(coordinator, "coordinator-procedure")
    await send(procedure, "Record the procedure")
    await send(await step_form(coordinator, "Record the discharge"), "Record the discharge")
    await reload_until(
        coordinator,
        coordinator.locator("#waiting"),
        "Follow-up: waiting on the patient for the follow-up year",
    )
    reports = coordinator.get_by_role("region", name="The clinic's reports")
    await expect(reports).to_contain_text("MSC-2026-118")
    await walk.shot(coordinator, "coordinator-follow-up")
    await assert_accessible(coordinator)


async def test_a_journey_from_the_form_to_the_follow_up_year_in_browsers_alone(
    walk: Walk, her_phone: Page, desk: StaffDesk
) -> None:
    await patient_sends_the_form(walk, her_phone)
    await patient_opens_her_acknowledgement(walk, her_phone)

    reviewer = await desk(Role.REVIEWER)
    await reviewer_asks_for_the_mri(walk, reviewer)
    await patient_sends_the_mri(walk, her_phone)
    await reviewer_approves(walk, reviewer)

    await case_manager_takes_the_case(walk, await desk(Role.CASE_MANAGER))
    await patient_books_a_consultation(walk, her_phone)
    await specialist_records_the_plan(walk, desk)
    await patient_accepts_the_plan(walk, her_phone)
    await patient_sends_her_travel(walk, her_phone)

    coordinator = await desk(Role.COORDINATOR)
    await coordinator_records_the_clinics_yes(walk, coordinator)
    await patient_sees_her_visit_booked(walk, her_phone)
    await patient_travels_to_the_clinic(walk, her_phone)
    await coordinator_records_the_visit(walk, coordinator)
    await patient_checks_in(walk, her_phone)
