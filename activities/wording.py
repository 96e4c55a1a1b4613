"""Words and dates in the reader's language: coded reasons, documents, follow-up labels, dates.

The texts are catalogue messages (`i18n/locales/`), marked here with `N_` and translated where
they are read; day and month names and periods come from Babel's locale data (CLDR).
"""

from collections.abc import Sequence
from datetime import date, datetime, timedelta

from domain.incidents import IncidentKind
from domain.policy import JourneyPolicy
from domain.reasons import EndingReason, NoticeReason
from domain.steps import RejectionReason, WithdrawalReason
from i18n import format_day, format_moment, format_period, translations


def N_(message: str) -> str:
    """Marks a text for the catalogue where it is defined; it is translated where it is read."""
    return message


# Every code in domain/reasons.py's REASON_CODES has its words here (a test checks).
REASONS: dict[str, str] = {
    RejectionReason.CONTRAINDICATION: N_("a medical contraindication to the treatment"),
    RejectionReason.INJURY_TOO_RECENT: N_("the injury is too recent for this treatment"),
    RejectionReason.INSUFFICIENT_INFORMATION: N_(
        "the medical information available is not sufficient"
    ),
    RejectionReason.OUT_OF_SCOPE: N_("the case is outside the scope of this treatment"),
    RejectionReason.OTHER: N_("other reasons"),
    NoticeReason.REVIEW_SLA_PASSED: N_("the review deadline has passed"),
    NoticeReason.RESCHEDULE_REQUESTED: N_("a new time was requested"),
    NoticeReason.CLINIC_REJECTED: N_("the clinic's booking system refused the visit"),
    WithdrawalReason.PATIENT_REQUEST: N_("at your request"),
    WithdrawalReason.FINANCIAL: N_("financial reasons"),
    WithdrawalReason.HEALTH_CHANGE: N_("a change in health"),
    WithdrawalReason.OTHER_TREATMENT: N_("another treatment was chosen"),
    WithdrawalReason.CONSENT_WITHDRAWN: N_(
        "you withdrew your consent to the processing of your health data"
    ),
    WithdrawalReason.DATA_ERASURE: N_("your personal data is being erased"),
    EndingReason.PLAN_DECLINED: N_("the treatment plan was declined"),
    EndingReason.NO_DOCUMENTS: N_("the requested documents did not arrive"),
    EndingReason.NO_SLOT_CHOSEN: N_("no consultation time was chosen"),
    EndingReason.NO_SHOWS: N_("two consultations were missed"),
    EndingReason.QUOTE_EXPIRED: N_("the quote expired"),
    EndingReason.NO_TRAVEL_DETAILS: N_("the travel details did not arrive"),
    EndingReason.NO_VISIT_DATES: N_("no visit dates could be agreed with the clinic"),
}
# What broke, by the incident's kind, for the coordinators' email (a test checks every kind).
INCIDENTS: dict[str, str] = {
    IncidentKind.EMAIL_REFUSED: N_(
        "the mail server refused an email for good (check the recipient's address)"
    ),
    IncidentKind.EMAIL_NO_ADDRESS: N_("an email has no recipient address on record"),
    IncidentKind.EMAIL_UNAVAILABLE: N_("the mail server has not accepted an email for too long"),
    IncidentKind.VISA_LETTER_UNPRINTABLE: N_(
        "the visa letter cannot print the patient's name (send it by hand, then skip)"
    ),
    IncidentKind.CALENDAR_UNAVAILABLE: N_(
        "the specialists' calendar server has not answered for too long"
    ),
    IncidentKind.CLINIC_REFUSED: N_("the clinic refused a request for good"),
    IncidentKind.CLINIC_UNAVAILABLE: N_("the clinic's system has not answered for too long"),
    IncidentKind.NO_SPECIALIST: N_("no active specialist can take the consultation"),
    IncidentKind.RECORD_MISSING: N_("a record the journey needs is missing from the database"),
    IncidentKind.RECORDS_UNAVAILABLE: N_("the records database has not answered for too long"),
    IncidentKind.PARTNER_UNCONFIRMED: N_(
        "a hotel or transfer request is still unconfirmed close to the patient's arrival"
    ),
    IncidentKind.TRAVEL_CHANGE_FAILED: N_(
        "the patient's new travel dates could not be booked; the current bookings stand"
    ),
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


def incident_sentence(code: str, language: str) -> str:
    """What broke, for an incident of kind `code`; empty for no incident."""
    text = INCIDENTS.get(code)
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
