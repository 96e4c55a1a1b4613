"""Incidents: a failure retrying cannot fix, or an outside system down past the policy's
patience, held on the journey for a coordinator to resolve instead of ending it FAILED."""

from datetime import datetime
from enum import StrEnum

from pydantic import BaseModel, ConfigDict, Field

from domain.errors import ActivityFailure


class OutsideSystem(StrEnum):
    """What an activity talks to; it names the incident when that system stays down."""

    EMAIL = "email"
    CALENDAR = "calendar"
    CLINIC = "clinic"
    RECORDS = "records"


class IncidentKind(StrEnum):
    """The coded kind of an incident: the `Incident` search attribute's value."""

    EMAIL_REFUSED = "email_refused"
    EMAIL_NO_ADDRESS = "email_no_address"
    EMAIL_UNAVAILABLE = "email_unavailable"
    VISA_LETTER_UNPRINTABLE = "visa_letter_unprintable"
    CALENDAR_UNAVAILABLE = "calendar_unavailable"
    CLINIC_REFUSED = "clinic_refused"
    CLINIC_UNAVAILABLE = "clinic_unavailable"
    NO_SPECIALIST = "no_specialist"
    RECORD_MISSING = "record_missing"
    RECORDS_UNAVAILABLE = "records_unavailable"
    PARTNER_UNCONFIRMED = "partner_unconfirmed"
    TRAVEL_CHANGE_FAILED = "travel_change_failed"

    @property
    def sentence(self) -> str:
        """What broke, for the current details a coordinator reads in the Temporal UI."""
        return INCIDENT_SENTENCES[self]


INCIDENT_SENTENCES: dict[IncidentKind, str] = {
    IncidentKind.EMAIL_REFUSED: "the mail server refused an email for good "
    "(check the recipient's address)",
    IncidentKind.EMAIL_NO_ADDRESS: "an email has no recipient address on record",
    IncidentKind.EMAIL_UNAVAILABLE: "the mail server has not accepted an email for too long",
    IncidentKind.VISA_LETTER_UNPRINTABLE: "the visa letter cannot print the patient's name "
    "(send it by hand, then skip)",
    IncidentKind.CALENDAR_UNAVAILABLE: "the specialists' calendar server has not answered "
    "for too long",
    IncidentKind.CLINIC_REFUSED: "the clinic refused a request for good",
    IncidentKind.CLINIC_UNAVAILABLE: "the clinic's system has not answered for too long",
    IncidentKind.NO_SPECIALIST: "no active specialist can take the consultation",
    IncidentKind.RECORD_MISSING: "a record the journey needs is missing from the database",
    IncidentKind.RECORDS_UNAVAILABLE: "the records database has not answered for too long",
    IncidentKind.PARTNER_UNCONFIRMED: "a hotel or transfer request is still unconfirmed close "
    "to the arrival (record the partner's answer, or retry to ask again)",
    IncidentKind.TRAVEL_CHANGE_FAILED: "the patient's new dates could not be booked; the old "
    "bookings stand (call the patient, then retry or skip)",
}

_UNAVAILABLE = {
    OutsideSystem.EMAIL: IncidentKind.EMAIL_UNAVAILABLE,
    OutsideSystem.CALENDAR: IncidentKind.CALENDAR_UNAVAILABLE,
    OutsideSystem.CLINIC: IncidentKind.CLINIC_UNAVAILABLE,
    OutsideSystem.RECORDS: IncidentKind.RECORDS_UNAVAILABLE,
}

_BY_FAILURE: dict[str, IncidentKind] = {
    ActivityFailure.MAIL_REJECTED: IncidentKind.EMAIL_REFUSED,
    ActivityFailure.RECIPIENT_NOT_FOUND: IncidentKind.EMAIL_NO_ADDRESS,
    ActivityFailure.VISA_LETTER_UNSUPPORTED: IncidentKind.VISA_LETTER_UNPRINTABLE,
    ActivityFailure.VISA_LETTER_EARLY: IncidentKind.RECORD_MISSING,
    ActivityFailure.CLINIC_REJECTED: IncidentKind.CLINIC_REFUSED,
    ActivityFailure.NO_SPECIALIST: IncidentKind.NO_SPECIALIST,
    ActivityFailure.INQUIRY_NOT_FOUND: IncidentKind.RECORD_MISSING,
    ActivityFailure.REPORT_NOT_FOUND: IncidentKind.RECORD_MISSING,
    ActivityFailure.RECORD_NOT_FOUND: IncidentKind.RECORD_MISSING,
    ActivityFailure.UNKNOWN_CASE_MANAGER: IncidentKind.RECORD_MISSING,
}


def incident_kind(system: OutsideSystem, failure: str | None) -> IncidentKind:
    """The incident a failed activity opens, from the ApplicationError type of its last
    attempt; a system that kept failing without naming why is "unavailable"."""
    return _BY_FAILURE.get(failure or "", _UNAVAILABLE[system])


class IncidentAction(StrEnum):
    RETRY = "retry"
    """Try the failed step again (after fixing its cause, such as the patient's address)."""
    SKIP = "skip"
    """Go on without it; offered only where that is safe, such as an email."""
    WITHDRAW = "withdraw"
    """End the journey WITHDRAWN, undoing its bookings as any withdrawal does."""


class Incident(BaseModel):
    """An open incident: what failed, since when, and how it may be resolved. Codes only."""

    model_config = ConfigDict(frozen=True)

    number: int = Field(ge=1, description="the journey's incidents are numbered from 1")
    kind: IncidentKind
    step: str = Field(description="what the journey was doing, coded, such as `email:…`")
    since: datetime
    actions: tuple[IncidentAction, ...]
