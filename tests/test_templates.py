"""Every notification the journey can send has its template, in English and Spanish, and staff
mail carries no PHI."""

import re
from datetime import UTC, date, datetime, timedelta
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
    "visit_day1_at": "1 08:00",
    "visit_day2_at": "2 08:00",
    "clinic_name": "C",
    "clinic_address": "A",
    "follow_up_no": "1",
    "follow_up_label": "2 weeks",
    "follow_up_at": "f",
    "checkin_week": "3",
    "rehab_reason": "short_weeks",
    "weeks": "3, 4",
    "due_at": "Fri 4 Dec 2026",
    "reason": "",
    "count": "2",
    "deadline": "",
    "choose_by": "Mon 1 Mar 2027, 10:00 (Europe/Madrid)",
    "reminder": "",
    "why": "not_booked",
    "again": "1",
    "incident": "email_refused",
    "incident_no": "1",
    "incident_sentence": "the mail server refused an email for good",
    "dates_changed": False,
    "change_undone": False,
    "partner_url": "",
}


@pytest.mark.parametrize("kind", list(NotificationKind))
def test_every_kind_renders_in_english(kind: NotificationKind) -> None:
    assert has_template(kind.value)
    message = MessageComposer(sender="x@y").compose(
        kind=kind.value, language="en", to="a@b", message_id="<m@x>", context=CONTEXT
    )
    assert message["Subject"]
    assert message["Content-Language"] == "en"


@pytest.mark.parametrize("kind", [k for k in NotificationKind if k not in STAFF_KINDS])
def test_patient_emails_are_written_in_spanish(kind: NotificationKind) -> None:
    composer = MessageComposer(sender="x@y")
    lang, subject, text = composer.render(kind.value, "es", CONTEXT)
    _, english_subject, english_text = composer.render(kind.value, "en", CONTEXT)
    assert lang == "es"
    assert subject != english_subject
    # Every paragraph is translated, not only some: none reads as it does in English.
    english = {p for p in english_text.split("\n\n") if re.search("[a-z]{4}", p)}
    assert not english & set(text.split("\n\n"))


def test_a_language_without_a_catalogue_reads_in_english() -> None:
    composer = MessageComposer(sender="x@y")
    assert composer.render("acknowledgement", "de", CONTEXT) == composer.render(
        "acknowledgement", "en", CONTEXT
    )
    assert composer.language_for("es-MX") == "es"


@pytest.mark.parametrize("kind", sorted(STAFF_KINDS))
def test_staff_emails_do_not_name_the_patient(kind: NotificationKind) -> None:
    assert "{{ name" not in (TEMPLATES / f"{kind.value}.txt").read_text()


@pytest.mark.parametrize("template", sorted(TEMPLATES.glob("*.txt")), ids=lambda p: p.stem)
def test_a_translated_line_keeps_its_line_break(template: Path) -> None:
    """The environment trims the newline after a block tag; `{% endtrans +%}` keeps it."""
    for number, line in enumerate(template.read_text().splitlines(), start=1):
        assert not line.endswith("{% endtrans %}"), f"{template.name}:{number} needs +%}}"


def test_html_part_names_the_language_and_direction() -> None:
    message = MessageComposer(sender="x@y").compose(
        kind="acknowledgement", language="es", to="a@b", message_id="<m@x>", context=CONTEXT
    )
    html = message.get_body(preferencelist=("html",))
    assert html is not None
    assert '<html lang="es" dir="ltr">' in html.get_content()  # type: ignore[attr-defined]
    assert message["Content-Language"] == "es"


def test_reasons_and_dates_read_in_the_patients_language() -> None:
    from activities.wording import day, document_name, follow_up_label, moment, reason_text

    assert (
        reason_text("contraindication", "es") == "una contraindicación médica para el tratamiento"
    )
    assert reason_text("contraindication", "de") == "a medical contraindication to the treatment"
    assert reason_text("something_new", "en") == "something new"
    assert document_name("mri", "es") == "Resonancia magnética de la columna"
    assert document_name("x_ray", "es") == "x_ray"
    assert day("2026-12-01", "es") == "mar 1 dic 2026"
    assert day(date(2026, 12, 1), "en") == "Tue 1 Dec 2026"
    # Month names are CLDR's: Spanish abbreviates September "sept" (it was "sep" when the
    # names were a list of our own).
    assert day("2026-09-01", "es") == "mar 1 sept 2026"
    assert follow_up_label("2", "es") == "6 semanas"
    at = datetime(2026, 12, 1, 9, 0, tzinfo=UTC)
    assert moment(at, "en", "Europe/Madrid") == "Tue 1 Dec 2026, 10:00 (Europe/Madrid)"
    assert moment(at, "es", "America/Mexico_City") == "mar 1 dic 2026, 03:00 (America/Mexico_City)"
    assert moment(at, "en", "UTC") == "Tue 1 Dec 2026, 09:00 (UTC)"
    # A date-time's day is the day where the reader is.
    assert day(at.replace(hour=23), "en", "Asia/Tokyo") == "Wed 2 Dec 2026"


def test_follow_up_labels_follow_the_policys_offsets() -> None:
    from activities.wording import follow_up_label
    from domain.policy import JourneyPolicy

    offsets = JourneyPolicy().follow_up_offsets
    labels = [follow_up_label(str(n), "en") for n in range(1, len(offsets) + 1)]
    assert labels == ["2 weeks", "6 weeks", "3 months", "6 months", "12 months"]
    assert [follow_up_label(str(n), "es") for n in range(1, len(offsets) + 1)] == [
        "2 semanas",
        "6 semanas",
        "3 meses",
        "6 meses",
        "12 meses",
    ]
    assert follow_up_label(str(len(offsets) + 1), "en") == ""
    assert follow_up_label("0", "en") == follow_up_label("x", "en") == ""
    longer = (*offsets, timedelta(days=730))
    assert follow_up_label("6", "en", longer) == "24 months"
    assert follow_up_label("1", "en", (timedelta(weeks=1),)) == "1 week"
