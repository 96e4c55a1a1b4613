"""The human steps of a journey: one model per update, each carrying its actor.

Free text never enters a workflow: reasons are codes, and whatever a person writes (documents,
plans, reports, outcome scores, check-ins) is stored in PostgreSQL first and referenced here by
its id.
"""

import uuid
from collections.abc import Sequence
from datetime import date
from enum import StrEnum
from typing import Annotated, Self

from pydantic import (
    AfterValidator,
    BaseModel,
    ConfigDict,
    Field,
    StringConstraints,
    model_validator,
)
from pydantic_core import PydanticCustomError

from domain.actors import Actor
from domain.incidents import IncidentAction
from domain.refusal_codes import ENGLISH, RefusalCode


def _uuid_text(value: str) -> str:
    try:
        return str(uuid.UUID(value))
    except ValueError:
        raise ValueError("must be the id (a UUID) of a stored record") from None


Id = Annotated[str, StringConstraints(min_length=1, max_length=200)]
RecordId = Annotated[str, AfterValidator(_uuid_text)]


class _Step(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    actor: Actor


class ReviewOutcome(StrEnum):
    APPROVE = "approve"
    REJECT = "reject"
    REQUEST_DOCUMENTS = "request_documents"


class DocumentKind(StrEnum):
    MRI = "mri"
    ASIA_EXAM = "asia_exam"
    DISCHARGE_SUMMARY = "discharge_summary"
    OTHER = "other"


class RejectionReason(StrEnum):
    INJURY_TOO_RECENT = "injury_too_recent"
    CONTRAINDICATION = "contraindication"
    INSUFFICIENT_INFORMATION = "insufficient_information"
    OUT_OF_SCOPE = "out_of_scope"
    OTHER = "other"


def check_review(
    outcome: ReviewOutcome, reason: RejectionReason | None, documents: Sequence[DocumentKind]
) -> None:
    """A review's parts agree: a rejection says why, a request for documents names them."""
    if outcome is ReviewOutcome.REJECT and reason is None:
        raise ValueError("a rejection needs a reason")
    if outcome is ReviewOutcome.REQUEST_DOCUMENTS and not documents:
        raise ValueError("a request for documents needs at least one document")


def check_consult_outcome(
    eligible: bool, plan: object | None, reason: RejectionReason | None, plan_is: str
) -> None:
    """An eligible outcome comes with its plan (`plan_is` names it in the error), any other
    with its reason."""
    if eligible and plan is None:
        raise ValueError(f"an eligible outcome needs {plan_is}")
    if not eligible and reason is None:
        raise ValueError("a not-eligible outcome needs a reason")


def check_stay(arrival: date, departure: date) -> None:
    """The clinic's visit takes two days: the patient leaves three days after arriving at the
    earliest."""
    if (departure - arrival).days < 3:
        # Typed by its code, so that the pages word it without reading the English.
        code = RefusalCode.DEPARTURE_TOO_SOON
        raise PydanticCustomError(code.value, ENGLISH[code])


class ReviewDecision(_Step):
    outcome: ReviewOutcome
    reason: RejectionReason | None = None
    documents: tuple[DocumentKind, ...] = ()

    @model_validator(mode="after")
    def _consistent(self) -> "ReviewDecision":
        check_review(self.outcome, self.reason, self.documents)
        return self


class DocumentsReceived(_Step):
    document_ids: tuple[RecordId, ...] = Field(min_length=1, max_length=50)


class CaseManagerAssignment(_Step):
    case_manager_id: Id


class SlotBooking(_Step):
    slot_id: Id


class RescheduleRequest(_Step):
    pass


class ConsultOutcome(_Step):
    eligible: bool
    plan_id: RecordId | None = None
    reason: RejectionReason | None = None

    @model_validator(mode="after")
    def _consistent(self) -> "ConsultOutcome":
        check_consult_outcome(self.eligible, self.plan_id, self.reason, "the treatment plan's id")
        return self


class NoShow(_Step):
    pass


class PlanDecision(_Step):
    accept: bool


class _TripDates(_Step):
    arrival_date: date
    departure_date: date
    needs_visa: bool = False
    travel_record_id: RecordId | None = None

    @model_validator(mode="after")
    def _order(self) -> Self:
        check_stay(self.arrival_date, self.departure_date)
        return self


class TravelDetails(_TripDates):
    """Dates only; flight numbers and passport details stay in the travel record."""


class TravelChange(_TripDates):
    """New dates for a trip already booked; flights and passport details stay in the travel
    record, marked as a change until the journey has re-booked."""


class PartnerConfirmation(_Step):
    """A hotel or transfer partner confirmed a request; its reference and the name of who
    confirmed are in the confirmation record."""

    booking_id: Id
    confirmation_id: RecordId


class ClinicConfirmation(_Step):
    """A coordinator records the clinic's answer to a visit request sent by email."""

    confirmed: bool
    clinic_reference: Annotated[str, StringConstraints(max_length=120)] = ""


class Admission(_Step):
    pass


class ProcedureReported(_Step):
    report_id: RecordId


class AdverseEventReported(_Step):
    event_id: RecordId


class Discharge(_Step):
    pass


class FollowUpOutcome(_Step):
    # How many consults there are is the journey's policy's to say; its validator refuses
    # a number past them.
    consult_no: int = Field(ge=1, le=100)
    outcome_id: RecordId


ConsultNo = Annotated[int, Field(ge=1, le=100)]


class FollowUpBooking(_Step):
    """The patient (or a coordinator for them) books one of the times offered for a
    follow-up consult."""

    consult_no: ConsultNo
    slot_id: Id


class FollowUpReschedule(_Step):
    """Other times for a follow-up consult: its booking cancelled, or the times offered and
    not chosen withdrawn, and new ones offered."""

    consult_no: ConsultNo


class FollowUpNoShow(_Step):
    """The specialist says the patient did not attend a booked follow-up consult."""

    consult_no: ConsultNo


class RehabCheckin(_Step):
    week: int = Field(ge=1, le=60)
    checkin_id: RecordId


class RehabFollowUpRecorded(_Step):
    """A case manager closes a rehabilitation follow-up; what they agreed is in the record."""

    follow_up_no: int = Field(ge=1, le=1000)
    record_id: RecordId


class WithdrawalReason(StrEnum):
    PATIENT_REQUEST = "patient_request"
    FINANCIAL = "financial"
    HEALTH_CHANGE = "health_change"
    OTHER_TREATMENT = "other_treatment"
    OTHER = "other"
    # Taken through the consent withdrawal and the erasure, never through the plain withdrawal
    # step: each records more than the journey's end (domain/step_roles.py says who may).
    CONSENT_WITHDRAWN = "consent_withdrawn"
    DATA_ERASURE = "data_erasure"


class Withdrawal(_Step):
    reason: WithdrawalReason = WithdrawalReason.PATIENT_REQUEST


class IncidentResolution(_Step):
    """A coordinator resolves the journey's open incident."""

    action: IncidentAction
    incident_number: int | None = Field(
        default=None,
        ge=1,
        description="the incident being resolved; when given, a newer incident is not resolved "
        "by mistake",
    )
