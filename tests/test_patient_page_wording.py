"""The patient's page words the journey's refusals in the patient's language, and the server
types an upload by its content."""

import uuid
from datetime import UTC, date, datetime, timedelta

import pytest
from pydantic import ValidationError

from api.patient_page.outcomes import field_errors, refusal_text
from api.patient_page.view import Words, page_context
from api.uploads import sniffed_type
from domain.incidents import IncidentKind
from domain.journey import JourneyStatus
from domain.records import Slot
from domain.refusals import Refusal, RefusalCode
from domain.stages import Stage, WaitingOn
from domain.step_bodies import TravelBody
from domain.step_declarations import StepName
from tests.helpers import retry_incident
from tests.patient_pages import page_records

NOW = datetime(2026, 12, 1, 9, 0, tzinfo=UTC)

# Refusals a patient can meet, by code and what it names.
REFUSED = [
    (Refusal.of(RefusalCode.SLOT_TAKEN), "Ya hay una hora reservada para su consulta"),
    (Refusal.of(RefusalCode.SLOT_NOT_OFFERED), "Esa hora ya no está"),
    (Refusal.of(RefusalCode.SLOT_PASSED), "Esa hora ya ha pasado"),
    (Refusal.of(RefusalCode.CONSULT_STARTED), "ya ha empezado"),
    (
        Refusal.of(RefusalCode.NO_BOOKED_CONSULT, step=StepName.RESCHEDULE_CONSULT),
        "No hay ninguna consulta reservada",
    ),
    (Refusal.of(RefusalCode.PLAN_DECIDED), "Ya ha dado su respuesta al plan"),
    (Refusal.of(RefusalCode.TRAVEL_SENT), "Sus datos de viaje ya se enviaron"),
    (Refusal.of(RefusalCode.ARRIVAL_NOT_FUTURE), "La fecha de llegada debe ser posterior"),
    (
        Refusal.of(RefusalCode.DEPARTURE_TOO_SOON),
        "La salida debe ser al menos tres días después de la llegada",
    ),
    (Refusal.of(RefusalCode.REHAB_WEEK_NOT_STARTED, week=7), "La semana 7 aún no ha empezado"),
    (Refusal.of(RefusalCode.CHECKIN_RECEIVED, week=3), "Ya tenemos su control de la semana 3"),
    (Refusal.of(RefusalCode.NO_SUCH_REHAB_WEEK, weeks=26), "duran 26 semanas"),
    (Refusal.of(RefusalCode.FOLLOW_UP_NOT_STARTED), "Su año de seguimiento aún no ha empezado"),
    (
        Refusal.of(RefusalCode.JOURNEY_ENDED, stage=Stage.WITHDRAWN, step=StepName.WITHDRAW),
        "Su proceso ya ha terminado",
    ),
    (Refusal.of(RefusalCode.WITHDRAWAL_UNDER_WAY), "Su proceso se está cerrando"),
    (
        Refusal.of(
            RefusalCode.WRONG_STAGE,
            step=StepName.TRAVEL,
            expected_stage=Stage.TRAVEL,
            stage=Stage.PLAN,
        ),
        "Su proceso no espera este paso ahora",
    ),
    (
        Refusal.of(
            RefusalCode.NOT_EXPECTED_NOW,
            step=StepName.BOOK_CONSULT,
            waiting_on=WaitingOn.SPECIALIST,
        ),
        "Su proceso no espera este paso ahora",
    ),
]


@pytest.mark.parametrize(("refusal", "spanish"), REFUSED)
def test_each_refusal_reads_in_spanish(refusal: Refusal, spanish: str) -> None:
    worded = refusal_text(refusal, "es")
    assert spanish in worded
    assert refusal_text(refusal, "en") != worded


def test_the_page_words_a_refusal_whatever_its_english_says() -> None:
    refusal = Refusal.of(RefusalCode.CHECKIN_RECEIVED, week=3)
    assert refusal_text(refusal, "en") == "We already have your check-in for week 3."
    assert refusal.english != refusal_text(refusal, "en")


def test_a_refusal_the_page_has_no_words_of_its_own_for_says_the_step_is_not_expected() -> None:
    assert refusal_text(Refusal.of(RefusalCode.ALREADY_REVIEWED), "es") == (
        "Su proceso no espera este paso ahora. La página muestra en qué punto está."
    )


def test_the_departure_rule_is_worded_by_its_code_beside_the_form() -> None:
    with pytest.raises(ValidationError) as refused:
        TravelBody(arrival_date=date(2030, 1, 1), departure_date=date(2030, 1, 2))
    assert field_errors(refused.value, "es") == {
        "": "La salida debe ser al menos tres días después de la llegada: un día para "
        "descansar y después los dos días de la visita."
    }


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


RECORDS = page_records("es", "Europe/Madrid")


def test_during_an_incident_the_page_says_so_and_still_offers_the_patients_step() -> None:
    incident = retry_incident(IncidentKind.EMAIL_REFUSED, "email:slot-proposals-1", NOW)
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
