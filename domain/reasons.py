"""The coded reasons a journey gives: why it ended, and why a notice was sent. Emails word each
code in the reader's language; histories and the status carry the code alone."""

from enum import StrEnum

from domain.steps import RejectionReason, WithdrawalReason


class EndingReason(StrEnum):
    """Why a journey closed early without a person deciding it (a timer ran out, mostly)."""

    NO_DOCUMENTS = "no_documents"
    NO_SLOT_CHOSEN = "no_slot_chosen"
    NO_SHOWS = "no_shows"
    QUOTE_EXPIRED = "quote_expired"
    NO_TRAVEL_DETAILS = "no_travel_details"
    NO_VISIT_DATES = "no_visit_dates"
    PLAN_DECLINED = "plan_declined"


class NoticeReason(StrEnum):
    """Why a notice went to someone while the journey goes on."""

    REVIEW_SLA_PASSED = "review_sla_passed"
    RESCHEDULE_REQUESTED = "reschedule_requested"
    CLINIC_REJECTED = "clinic_rejected"


# Every reason code an email may have to put into words.
REASON_CODES: frozenset[str] = frozenset(
    code.value
    for codes in (EndingReason, NoticeReason, RejectionReason, WithdrawalReason)
    for code in codes
)
