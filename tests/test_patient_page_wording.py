"""The patient's page words the journey's refusals in the patient's language, and the server
types an upload by its content."""

import uuid
from datetime import UTC, datetime, timedelta

import pytest

from api.patient_page.outcomes import refusal_text
from api.patient_page.view import PageRecords, Words, page_context
from api.uploads import sniffed_type
from db.patient_page import PatientOnPage
from domain.incidents import Incident, IncidentAction, IncidentKind
from domain.journey import JourneyStatus
from domain.records import Slot
from domain.stages import Stage, WaitingOn
from domain.step_declarations import StepName

NOW = datetime(2026, 12, 1, 9, 0, tzinfo=UTC)

# Refusals a patient can meet, as the journey's validators word them today.
REFUSED = [
    ("a slot has already been chosen", "Ya hay una hora reservada para su consulta"),
    ("that slot was not offered; choose one of the proposed slots", "Esa hora ya no está"),
    ("that slot has already passed; choose a later one", "Esa hora ya ha pasado"),
    ("the consultation has already started; it can no longer be moved", "ya ha empezado"),
    ("rescheduling needs a booked consultation", "No hay ninguna consulta reservada"),
    ("the plan has already been decided", "Ya ha dado su respuesta al plan"),
    ("the travel details have already been sent", "Sus datos de viaje ya se enviaron"),
    ("the arrival date must be in the future", "La fecha de llegada debe ser posterior"),
    (
        "the departure must be at least three days after the arrival: a day to rest, then the "
        "two visit days",
        "La salida debe ser al menos tres días después de la llegada",
    ),
    ("week 7 has not started yet", "La semana 7 aún no ha empezado"),
    ("the check-in for week 3 was already received", "Ya tenemos su control de la semana 3"),
    ("rehabilitation check-ins run for 26 weeks", "duran 26 semanas"),
    ("the follow-up year has not started", "Su año de seguimiento aún no ha empezado"),
    ("the journey has already ended (WITHDRAWN)", "Su proceso ya ha terminado"),
    ("the journey is already being withdrawn", "Su proceso se está cerrando"),
    (
        "the journey has ended (COMPLETED); a decision on the plan is no longer possible",
        "Su proceso ya ha terminado",
    ),
    (
        "travel details belongs to stage TRAVEL; the journey is at PLAN",
        "Su proceso no espera este paso ahora",
    ),
    (
        "booking a consultation is not expected now: the journey waits on specialist",
        "Su proceso no espera este paso ahora",
    ),
]


@pytest.mark.parametrize(("message", "spanish"), REFUSED)
def test_each_refusal_reads_in_spanish(message: str, spanish: str) -> None:
    worded = refusal_text(message, "es")
    assert worded is not None and spanish in worded
    assert refusal_text(message, "en") != worded


def test_an_unknown_refusal_is_left_to_the_page_to_pass_on() -> None:
    assert refusal_text("something new the journey says", "es") is None


@pytest.mark.parametrize(
    ("data", "content_type"),
    [
        (b"%PDF-1.7\n...", "application/pdf"),
        (b"\xff\xd8\xff\xe0 jfif", "image/jpeg"),
        (b"\x89PNG\r\n\x1a\n....", "image/png"),
        (b"\0" * 128 + b"DICM....", "application/dicom"),
        (b"PK\x03\x04 zip", "application/zip"),
        (b"MZ\x90\0 a program", None),
        (b"<html>", None),
        (b"", None),
    ],
)
def test_an_upload_is_typed_by_its_first_bytes(data: bytes, content_type: str | None) -> None:
    assert sniffed_type(data) == content_type


def _status(**fields: object) -> JourneyStatus:
    base: dict[str, object] = {
        "journey_id": str(uuid.uuid4()),
        "stage": Stage.TELECONSULT,
        "waiting_on": WaitingOn.PATIENT,
        "takes_steps_from": WaitingOn.PATIENT,
        "deadline": NOW + timedelta(days=21),
        "offered_slots": [
            Slot(
                slot_id="s1",
                starts_at=NOW + timedelta(days=2),
                ends_at=NOW + timedelta(days=2, minutes=30),
                specialist_id="spec-1",
            )
        ],
        "transitions": [],
        "expects": [StepName.BOOK_CONSULT, StepName.WITHDRAW],
    }
    base.update(fields)
    return JourneyStatus.model_validate(base)


RECORDS = PageRecords(
    patient=PatientOnPage(
        patient_id="p",
        full_name="Ana",
        email="ana@example.org",
        preferred_language="es",
        time_zone="Europe/Madrid",
        case_manager_name="",
        case_manager_email="",
    )
)


def test_during_an_incident_the_page_says_so_and_still_offers_the_patients_step() -> None:
    incident = Incident(
        number=1,
        kind=IncidentKind.EMAIL_REFUSED,
        step="email:slot-proposals-1",
        since=NOW,
        actions=(IncidentAction.RETRY,),
    )
    status = _status(
        waiting_on=WaitingOn.COORDINATOR,
        deadline=None,
        incident=incident,
        expects=[StepName.BOOK_CONSULT, StepName.WITHDRAW, StepName.RESOLVE_INCIDENT],
    )
    page = page_context(Words("en", "Europe/Madrid"), status, RECORDS, now=NOW)
    assert page["headline"] == (
        "Please choose a time for your video consultation with the specialist."
    )
    assert page["next_step"] == [
        "The next step is with our coordinators, who are sorting out a problem on our side "
        "since Tue 1 Dec 2026, 10:00 (Europe/Madrid). You do not need to do anything for it."
    ]
    assert [label for _, label in page["consult"]["slots"]] == [
        "Thu 3 Dec 2026, 10:00 (Europe/Madrid)"
    ]


def test_a_journey_waiting_on_someone_else_says_on_whom_and_until_when() -> None:
    status = _status(
        stage=Stage.VALIDATION,
        waiting_on=WaitingOn.REVIEWER,
        takes_steps_from=WaitingOn.REVIEWER,
        offered_slots=[],
        expects=[StepName.REVIEW, StepName.WITHDRAW],
    )
    page = page_context(Words("es", "Europe/Madrid"), status, RECORDS, now=NOW)
    assert page["next_step"] == [
        "El siguiente paso le corresponde a un revisor médico.",
        "Esperamos su respuesta antes del mar 22 dic 2026, 10:00 (Europe/Madrid).",
    ]
    assert page["documents"] is None and page["consult"] is None
