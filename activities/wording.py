"""Words and dates in the reader's language: coded reasons, documents, follow-up labels, dates.

The texts are catalogue messages (`i18n/locales/`), marked here with `N_` and translated where
they are read; day and month names and periods come from Babel's locale data (CLDR).
"""

from collections.abc import Sequence
from datetime import date, datetime, timedelta

from domain.policy import JourneyPolicy
from i18n import format_day, format_moment, format_period, translations


def N_(message: str) -> str:
    """Marks a text for the catalogue where it is defined; it is translated where it is read."""
    return message


REASONS: dict[str, str] = {
    "contraindication": N_("a medical contraindication to the treatment"),
    "injury_too_recent": N_("the injury is too recent for this treatment"),
    "insufficient_information": N_("the medical information available is not sufficient"),
    "out_of_scope": N_("the case is outside the scope of this treatment"),
    "review_sla_passed": N_("the review deadline has passed"),
    "reschedule_requested": N_("a new time was requested"),
    "patient_request": N_("at your request"),
    "plan_declined": N_("the treatment plan was declined"),
    "financial": N_("financial reasons"),
    "health_change": N_("a change in health"),
    "other_treatment": N_("another treatment was chosen"),
    "no_documents": N_("the requested documents did not arrive"),
    "no_slot_chosen": N_("no consultation time was chosen"),
    "no_shows": N_("two consultations were missed"),
    "quote_expired": N_("the quote expired"),
    "no_travel_details": N_("the travel details did not arrive"),
    "other": N_("other reasons"),
}
DOCUMENTS: dict[str, str] = {
    "mri": N_("MRI of the spine"),
    "asia_exam": N_("ASIA/ISNCSCI examination"),
    "discharge_summary": N_("Hospital discharge summary"),
    "other": N_("Other medical records"),
}


def reason_text(code: str, language: str) -> str:
    if not code:
        return ""
    text = REASONS.get(code)
    return translations(language).gettext(text) if text else code.replace("_", " ")


def document_name(code: str, language: str) -> str:
    text = DOCUMENTS.get(code)
    return translations(language).gettext(text) if text else code


def follow_up_label(number: str, language: str, offsets: Sequence[timedelta] | None = None) -> str:
    """`6 weeks`, `3 meses`: how long after treatment follow-up `number` (from 1) falls.

    The notification names a follow-up by its number only, so by default its offset is read
    from the policy's defaults; a caller that has the journey's own policy passes its offsets.
    """
    offsets = JourneyPolicy().follow_up_offsets if offsets is None else offsets
    if not number.isdigit() or not 1 <= int(number) <= len(offsets):
        return ""
    return format_period(offsets[int(number) - 1], language)


def day(value: date | datetime | str | None, language: str, tz: str = "UTC") -> str:
    """`Tue 1 Dec 2026` / `mar 1 dic 2026`; an ISO date string is accepted too."""
    return format_day(value, language, tz)


def moment(value: datetime | None, language: str, tz: str) -> str:
    """`Tue 1 Dec 2026, 10:00 (Europe/Madrid)` in the reader's language and time zone."""
    return format_moment(value, language, tz)
