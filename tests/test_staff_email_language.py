"""Emails to staff in the language each works in, as the staff directory lists it: journeys on
the time-skipping server with the real worker, and the email activity on its own, both sending
through the real local SMTP server to the real mailbox."""

import uuid
from dataclasses import replace
from datetime import date
from email.message import EmailMessage
from pathlib import Path

import asyncpg
import pytest
from temporalio.testing import ActivityEnvironment

from activities.email import EmailActivities
from db.journeys import JourneyRepository
from domain.notifications import Audience, NotificationKind, NotificationRequest
from domain.reasons import NoticeReason
from domain.stages import Stage, WaitingOn
from integrations.smtp import SmtpSender
from settings import Settings
from tests.email_activity import PARTNERS, email_activities, new_inquiry
from tests.helpers import html_of, read_mailbox, text_of
from tests.journey_rows import store_inquiry
from tests.journeys import NewJourney, add_staff, assert_no_needles, seed_staff

NO_DETAILS_ES = (
    "Este mensaje no contiene datos del paciente; consúltelos en las herramientas del personal."
)
NO_DETAILS_EN = "This message carries no patient details; read them in the staff tools."
# Subjects in each language staff emails are written in, `{ref}` the journey's reference.
CASE_ASSIGNED = {
    "en": "Case {ref} has been assigned to you",
    "es": "Se le ha asignado el caso {ref}",
}
NEW_INQUIRY = {
    "en": "New inquiry {ref} waits for medical review",
    "es": "La nueva consulta {ref} espera la revisión médica",
}


def reference(journey_id: str) -> str:
    return journey_id.split("-", 1)[0].upper()


def assert_addressed(message: EmailMessage, to: str, language: str) -> None:
    """Sent to `to`, and written in `language`."""
    assert (message["To"], message["Content-Language"]) == (to, language)


@pytest.mark.usefixtures("worker")
async def test_a_spanish_speaking_case_manager_gets_the_case_in_spanish(
    new_journey: NewJourney, pool: asyncpg.Pool
) -> None:
    j = await new_journey().start()  # Lucía Romero (tests/journeys.py) works in ["es", "en"]
    await j.approve()
    status = await j.reach(Stage.TELECONSULT, WaitingOn.PATIENT)
    assert status.case_manager_id == "cm-es"

    assigned = await j.emailed("case-assigned-1")
    ref, jid = reference(j.journey_id), j.journey_id
    assert_addressed(assigned, "lucia@clinic.test", "es")
    assert assigned["Subject"] == CASE_ASSIGNED["es"].format(ref=ref)
    text = text_of(assigned)
    assert f"Se le ha asignado un caso: referencia {ref}." in text
    assert f"Abrirlo: http://127.0.0.1:8000/staff/journeys/{jid}" in text
    assert NO_DETAILS_ES in text
    assert "Open it" not in text and "assigned to you" not in text
    assert '<html lang="es"' in html_of(assigned)
    # The journey named the audience only: who reads it, and in what language, the activity
    # read from PostgreSQL.
    await assert_no_needles(j.client, jid, ["lucia@clinic.test", "Lucía Romero"])
    # Sent once for the step, under the step's own Message-ID.
    outbox = await pool.fetch(
        "SELECT message_id, status FROM outbox WHERE journey_id = $1 AND step = 'case-assigned-1'",
        uuid.UUID(jid),
    )
    assert [(r["message_id"], r["status"]) for r in outbox] == [
        (f"<{jid}.case-assigned-1@journeys.localhost>", "sent")
    ]
    assert [m["Message-ID"].strip() for m in read_mailbox(j.mail_dir)].count(
        outbox[0]["message_id"]
    ) == 1


@pytest.mark.usefixtures("worker")
async def test_an_english_speaking_case_manager_gets_the_case_in_english(
    new_journey: NewJourney,
) -> None:
    # John Baker (tests/journeys.py) works in ["en"].
    j = await new_journey().start(preferred_language="en", country="GB", time_zone="Europe/London")
    await j.approve()
    status = await j.reach(Stage.TELECONSULT, WaitingOn.PATIENT)
    assert status.case_manager_id == "cm-en"

    assigned = await j.emailed("case-assigned-1")
    ref = reference(j.journey_id)
    assert_addressed(assigned, "john@clinic.test", "en")
    assert assigned["Subject"] == CASE_ASSIGNED["en"].format(ref=ref)
    text = text_of(assigned)
    assert f"Open it: http://127.0.0.1:8000/staff/journeys/{j.journey_id}" in text
    assert NO_DETAILS_EN in text


@pytest.mark.usefixtures("worker")
@pytest.mark.parametrize(
    ("patient_language", "works_in", "written_in"),
    [
        # German first, and no German catalogue: English, which they also work in.
        ("de", ["de", "en"], "en"),
        # Portuguese first and no English at all: Spanish, the next language they work in.
        ("pt", ["pt", "es"], "es"),
    ],
)
async def test_a_case_manager_whose_first_language_has_no_catalogue(
    new_journey: NewJourney,
    pool: asyncpg.Pool,
    patient_language: str,
    works_in: list[str],
    written_in: str,
) -> None:
    await add_staff(
        pool, "cm-x", "Case Manager X", "x@clinic.test", "case_manager", languages=works_in
    )
    j = await new_journey().start(preferred_language=patient_language)
    await j.approve()
    status = await j.reach(Stage.TELECONSULT, WaitingOn.PATIENT)
    assert status.case_manager_id == "cm-x", "the one who speaks the patient's language"

    assigned = await j.emailed("case-assigned-1")
    ref = reference(j.journey_id)
    assert_addressed(assigned, "x@clinic.test", written_in)
    assert assigned["Subject"] == CASE_ASSIGNED[written_in].format(ref=ref)


# The email activity on its own, for the other staff audiences and the role mailboxes.


async def _journey_row(pool: asyncpg.Pool) -> str:
    async with pool.acquire() as conn:
        stored = await store_inquiry(conn)
    return stored.journey_id


def _email(
    pool: asyncpg.Pool, settings: Settings, *, coordinators: str = "en", lead: str = "en"
) -> EmailActivities:
    partners = replace(
        PARTNERS,
        coordinators="coordinators@clinic.test",
        medical_lead="lead-mailbox@clinic.test",
        clinic_email="clinic@partner.test",
        coordinators_language=coordinators,
        medical_lead_language=lead,
    )
    return email_activities(pool, SmtpSender(host="127.0.0.1", port=settings.smtp_port), partners)


def _escalation(journey_id: str, step: str = "review-escalation-1-1") -> NotificationRequest:
    return NotificationRequest(
        journey_id=journey_id,
        step=step,
        kind=NotificationKind.REVIEW_ESCALATION,
        audience=Audience.MEDICAL_LEAD,
        facts={"count": "1", "reason": NoticeReason.REVIEW_SLA_PASSED},
    )


async def test_the_medical_lead_reads_escalations_in_their_language_once_per_step(
    pool: asyncpg.Pool, settings: Settings, mail_dir: Path
) -> None:
    await add_staff(
        pool,
        "lead-1",
        "Dr. Marta Gil",
        "marta.gil@clinic.test",
        "medical_lead",
        languages=["es", "en"],
    )
    jid = await _journey_row(pool)
    email = _email(pool, settings)
    env = ActivityEnvironment()

    first = await env.run(email.send_notification, _escalation(jid))
    again = await env.run(email.send_notification, _escalation(jid))

    assert (first.already_sent, again.already_sent) == (False, True)
    assert first.message_id == again.message_id == f"<{jid}.review-escalation-1-1@clinic.test>"
    [message] = read_mailbox(mail_dir)
    assert_addressed(message, "marta.gil@clinic.test", "es")
    ref = reference(jid)
    assert message["Subject"] == f"Escalado 1: el caso {ref} espera la revisión médica"
    assert "Motivo: ha vencido el plazo de revisión" in text_of(message)


@pytest.mark.parametrize(
    ("lead_language", "subject"), [("en", "Escalation 1: case"), ("es", "Escalado 1: el caso")]
)
async def test_the_medical_leads_mailbox_is_written_to_in_its_set_language(
    pool: asyncpg.Pool, settings: Settings, mail_dir: Path, lead_language: str, subject: str
) -> None:
    """No medical lead in the directory: the mailbox of JOURNEYS_MEDICAL_LEAD_EMAIL, in the
    language of JOURNEYS_MEDICAL_LEAD_LANGUAGE, not in any other member of staff's."""
    await seed_staff(pool)
    await pool.execute("UPDATE staff SET active = false WHERE role = 'medical_lead'")
    jid = await _journey_row(pool)
    await ActivityEnvironment().run(
        _email(pool, settings, lead=lead_language).send_notification, _escalation(jid)
    )
    [message] = read_mailbox(mail_dir)
    assert_addressed(message, "lead-mailbox@clinic.test", lead_language)
    assert message["Subject"].startswith(subject)


@pytest.mark.parametrize("language", ["en", "es"])
async def test_the_coordinators_mailbox_is_written_to_in_its_set_language(
    pool: asyncpg.Pool, settings: Settings, mail_dir: Path, language: str
) -> None:
    await seed_staff(pool)
    jid = await _journey_row(pool)
    await ActivityEnvironment().run(
        _email(pool, settings, coordinators=language).send_notification,
        new_inquiry(jid),
    )
    [message] = read_mailbox(mail_dir)
    ref = reference(jid)
    assert_addressed(message, "coordinators@clinic.test", language)
    assert message["Subject"] == NEW_INQUIRY[language].format(ref=ref)


async def test_the_specialist_reads_in_their_language_and_partners_in_english(
    pool: asyncpg.Pool, settings: Settings, mail_dir: Path
) -> None:
    await seed_staff(pool)
    await add_staff(
        pool, "spec-es", "Dr. Elena Vidal", "vidal@clinic.test", "specialist", languages=["es"]
    )
    jid = await _journey_row(pool)
    async with pool.acquire() as conn:
        await JourneyRepository(conn).set_specialist(journey_id=jid, staff_id="spec-es")
    email = _email(pool, settings, coordinators="es")
    env = ActivityEnvironment()
    for request in (
        NotificationRequest(
            journey_id=jid,
            step="follow-up-consult-2-due",
            kind=NotificationKind.FOLLOW_UP_DUE_SPECIALIST,
            audience=Audience.SPECIALIST,
            facts={"follow_up_no": "2", "follow_up_at": date(2027, 1, 12).isoformat()},
        ),
        NotificationRequest(
            journey_id=jid,
            step="hotel-request",
            kind=NotificationKind.HOTEL_REQUEST,
            audience=Audience.HOTEL_PARTNER,
        ),
    ):
        await env.run(email.send_notification, request)
    by_step = {m["Message-ID"].split(".", 1)[1].split("@")[0]: m for m in read_mailbox(mail_dir)}
    due, hotel = by_step["follow-up-consult-2-due"], by_step["hotel-request"]
    assert_addressed(due, "vidal@clinic.test", "es")
    assert due["Subject"].startswith("Seguimiento 2 (6 semanas) previsto el")
    assert "- Control del tronco" in text_of(due)
    assert_addressed(hotel, "hotel@partner.test", "en")
