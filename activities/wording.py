"""Words and dates in the reader's language: coded reasons, follow-up labels, calendar dates."""

from datetime import date, datetime
from zoneinfo import ZoneInfo

REASONS: dict[str, dict[str, str]] = {
    "contraindication": {
        "en": "a medical contraindication to the treatment",
        "es": "una contraindicación médica para el tratamiento",
    },
    "injury_too_recent": {
        "en": "the injury is too recent for this treatment",
        "es": "la lesión es demasiado reciente para este tratamiento",
    },
    "insufficient_information": {
        "en": "the medical information available is not sufficient",
        "es": "la información médica disponible no es suficiente",
    },
    "out_of_scope": {
        "en": "the case is outside the scope of this treatment",
        "es": "el caso está fuera del alcance de este tratamiento",
    },
    "review_sla_passed": {
        "en": "the review deadline has passed",
        "es": "ha vencido el plazo de revisión",
    },
    "reschedule_requested": {
        "en": "a new time was requested",
        "es": "se solicitó un nuevo horario",
    },
    "patient_request": {"en": "at your request", "es": "a petición suya"},
    "plan_declined": {"en": "the treatment plan was declined", "es": "se rechazó el plan"},
    "financial": {"en": "financial reasons", "es": "motivos económicos"},
    "health_change": {"en": "a change in health", "es": "un cambio en el estado de salud"},
    "other_treatment": {"en": "another treatment was chosen", "es": "se eligió otro tratamiento"},
    "no_documents": {
        "en": "the requested documents did not arrive",
        "es": "no recibimos los documentos solicitados",
    },
    "no_slot_chosen": {
        "en": "no consultation time was chosen",
        "es": "no se eligió un horario de consulta",
    },
    "no_shows": {"en": "two consultations were missed", "es": "se perdieron dos consultas"},
    "quote_expired": {"en": "the quote expired", "es": "el presupuesto caducó"},
    "no_travel_details": {
        "en": "the travel details did not arrive",
        "es": "no recibimos los datos del viaje",
    },
    "other": {"en": "other reasons", "es": "otros motivos"},
}
FOLLOW_UP_LABELS = {
    "en": ["2 weeks", "6 weeks", "3 months", "6 months", "12 months"],
    "es": ["2 semanas", "6 semanas", "3 meses", "6 meses", "12 meses"],
}
_DAYS = {
    "en": ["Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun"],
    "es": ["lun", "mar", "mié", "jue", "vie", "sáb", "dom"],
}
_MONTHS = {
    "en": ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"],
    "es": ["ene", "feb", "mar", "abr", "may", "jun", "jul", "ago", "sep", "oct", "nov", "dic"],
}


def _lang(language: str) -> str:
    return language if language in _DAYS else "en"


def reason_text(code: str, language: str) -> str:
    if not code:
        return ""
    texts = REASONS.get(code)
    return texts[_lang(language)] if texts else code.replace("_", " ")


def follow_up_label(number: str, language: str) -> str:
    labels = FOLLOW_UP_LABELS[_lang(language)]
    return labels[int(number) - 1] if number.isdigit() and 1 <= int(number) <= 5 else ""


def day(value: date | datetime | str | None, language: str, tz: str = "UTC") -> str:
    """`Tue 1 Dec 2026` / `mar 1 dic 2026`; an ISO date string is accepted too."""
    if value is None or value == "":
        return ""
    if isinstance(value, str):
        value = date.fromisoformat(value)
    if isinstance(value, datetime):
        value = value.astimezone(ZoneInfo(tz)).date()
    lang = _lang(language)
    return (
        f"{_DAYS[lang][value.weekday()]} {value.day} {_MONTHS[lang][value.month - 1]} {value.year}"
    )


def moment(value: datetime | None, language: str, tz: str) -> str:
    """`Tue 1 Dec 2026, 10:00 (Europe/Madrid)` in the reader's language and time zone."""
    if value is None:
        return ""
    local = value.astimezone(ZoneInfo(tz))
    return f"{day(local.date(), language)}, {local:%H:%M} ({tz})"
