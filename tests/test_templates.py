"""Every notification the journey can send has its template, and staff mail carries no PHI."""

from pathlib import Path

import pytest

from activities.messages import MessageComposer, has_template
from domain.notifications import STAFF_KINDS, NotificationKind

TEMPLATES = Path(__file__).resolve().parent.parent / "activities" / "email_templates"
CONTEXT = {
    "name": "Ana",
    "reference": "ABC",
    "journey_id": "j",
    "journey_url": "u",
    "patient_url": "",
    "case_manager_name": "Cm",
    "case_manager_email": "cm@x",
    "slots": ["a", "b"],
    "consult_at": "c",
    "video_link": "v",
    "plan_price": "1",
    "plan_currency": "EUR",
    "quote_valid_until": "q",
    "documents": ["MRI"],
    "arrival_date": "a",
    "departure_date": "d",
    "visit_day1": "1",
    "visit_day2": "2",
    "clinic_name": "C",
    "clinic_address": "A",
    "follow_up_no": "1",
    "follow_up_label": "2 weeks",
    "follow_up_at": "f",
    "checkin_week": "3",
    "reason": "",
    "count": "2",
    "deadline": "",
    "incident": "email_refused",
    "incident_no": "1",
    "incident_sentence": "the mail server refused an email for good",
}


@pytest.mark.parametrize("kind", list(NotificationKind))
def test_every_kind_renders_in_english(kind: NotificationKind) -> None:
    assert has_template(kind.value, "en")
    message = MessageComposer(sender="x@y").compose(
        kind=kind.value, language="en", to="a@b", message_id="<m@x>", context=CONTEXT
    )
    assert message["Subject"]


@pytest.mark.parametrize("kind", [k for k in NotificationKind if k not in STAFF_KINDS])
def test_patient_emails_exist_in_spanish(kind: NotificationKind) -> None:
    assert has_template(kind.value, "es")
    assert MessageComposer(sender="x@y").language_for(kind.value, "es") == "es"


@pytest.mark.parametrize("kind", sorted(STAFF_KINDS))
def test_staff_emails_do_not_name_the_patient(kind: NotificationKind) -> None:
    assert "{{ name" not in (TEMPLATES / "en" / f"{kind.value}.txt").read_text()


def test_reasons_and_dates_read_in_the_patients_language() -> None:
    from datetime import UTC, datetime

    from activities.wording import day, follow_up_label, moment, reason_text

    assert (
        reason_text("contraindication", "es") == "una contraindicación médica para el tratamiento"
    )
    assert reason_text("contraindication", "de") == "a medical contraindication to the treatment"
    assert reason_text("something_new", "en") == "something new"
    assert day("2026-12-01", "es") == "mar 1 dic 2026"
    assert follow_up_label("2", "es") == "6 semanas"
    at = datetime(2026, 12, 1, 9, 0, tzinfo=UTC)
    assert moment(at, "en", "Europe/Madrid") == "Tue 1 Dec 2026, 10:00 (Europe/Madrid)"
