"""The `type` of every ApplicationError that crosses Temporal: refusals and failures, by code.

A failure's message and type are recorded in the workflow history, so both carry codes and
ids only; what an outside system answered goes to the worker's log instead.
"""

from enum import StrEnum


class StepError(StrEnum):
    """Why a workflow validator refused a human step; the API maps each to an HTTP status."""

    REFUSED = "StepRefused"
    """Not now: wrong stage, out of order, already done (409)."""
    INVALID = "InvalidStep"
    """The step's data cannot apply (422)."""
    FORBIDDEN = "Forbidden"
    """Not this role (403)."""


class ActivityFailure(StrEnum):
    """Why an activity failed. Non-retryable ones open an incident at once; the retryable
    ones open one when the outside system keeps failing past the policy's patience."""

    MAIL_REJECTED = "MailRejected"
    MAIL_DEFERRED = "MailDeferred"
    MAIL_UNAVAILABLE = "MailUnavailable"
    RECIPIENT_NOT_FOUND = "RecipientNotFound"
    VISA_LETTER_UNSUPPORTED = "VisaLetterUnsupported"
    VISA_LETTER_EARLY = "VisaLetterEarly"
    CALENDAR_UNAVAILABLE = "CalendarUnavailable"
    CLINIC_REJECTED = "ClinicRejected"
    CLINIC_UNAVAILABLE = "ClinicUnavailable"
    NO_SPECIALIST = "NoSpecialist"
    INQUIRY_NOT_FOUND = "InquiryNotFound"
    REPORT_NOT_FOUND = "ReportNotFound"
    CHECKIN_NOT_FOUND = "CheckinNotFound"
    RECORD_NOT_FOUND = "NotFound"
    UNKNOWN_CASE_MANAGER = "UnknownCaseManager"
    UNEXPECTED = "UnexpectedFailure"
    """Anything an activity raised that it did not name; its text stays in the worker's log."""
