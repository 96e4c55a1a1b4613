"""Inputs and results of the records activities."""

from datetime import datetime
from enum import StrEnum

from pydantic import BaseModel

from domain.incidents import Incident, IncidentAction
from domain.rehab import RehabFollowUp
from domain.stages import Stage, WaitingOn


class RecordInquiry(BaseModel):
    journey_id: str
    inquiry_id: str


class InquiryFacts(BaseModel):
    """Coded, non-identifying facts the workflow needs to route the journey."""

    country: str
    language: str


class StageChange(BaseModel):
    """A stage change to project into Postgres for lists and reports."""

    journey_id: str
    seq: int
    stage: Stage
    waiting_on: WaitingOn
    deadline: datetime | None = None
    changed_at: datetime
    actor_id: str = "system"
    actor_role: str = "system"
    # Why the journey ended, coded (a rejection, withdrawal or ending reason), on the change
    # into a final stage only; None in histories recorded before endings carried it.
    reason: str | None = None
    # The reviewer who decided the case, from the change that follows their decision on; it
    # gives them the case after VALIDATION (domain/readers.py, Scope.REVIEWING). None before
    # a decision, and in histories recorded before changes carried it.
    reviewer_id: str | None = None


class BookingKind(StrEnum):
    CONSULT = "consult"
    CLINIC_VISIT = "clinic_visit"
    HOTEL = "hotel"
    TRANSFER = "transfer"


class Slot(BaseModel):
    slot_id: str
    starts_at: datetime
    ends_at: datetime
    specialist_id: str


class SlotsRequest(BaseModel):
    journey_id: str
    round: int
    count: int
    not_before: datetime
    # A follow-up consult's times: with the journey's own specialist first, no earlier than
    # `earliest` and ending by `until`; its rounds are counted apart from the first
    # consultation's. None: the first consultation, with the least loaded specialist.
    follow_up_no: int | None = None
    earliest: datetime | None = None
    until: datetime | None = None


class SlotsProposed(BaseModel):
    slots: list[Slot]


class BookingRequest(BaseModel):
    """Book one thing for a journey step; (journey_id, step) makes a retry return the same."""

    journey_id: str
    step: str
    kind: BookingKind
    starts_at: datetime
    ends_at: datetime
    slot_id: str | None = None
    # A clinic visit's zone, whose clock its hours were set on: the clinic's system gets the
    # days on it. None: set in UTC, as before the clinic had a clock.
    time_zone: str | None = None
    # The follow-up consult a consult booking is for, which its calendar event names; None
    # for the first consultation.
    follow_up_no: int | None = None

    @classmethod
    def consult(
        cls, journey_id: str, step: str, slot: Slot, follow_up_no: int | None = None
    ) -> "BookingRequest":
        """The booking of a consult at the time the patient chose."""
        return cls(
            journey_id=journey_id,
            step=step,
            kind=BookingKind.CONSULT,
            starts_at=slot.starts_at,
            ends_at=slot.ends_at,
            slot_id=slot.slot_id,
            follow_up_no=follow_up_no,
        )


class Booking(BaseModel):
    booking_id: str
    kind: BookingKind
    starts_at: datetime
    ends_at: datetime
    cancelled: bool = False
    completed: bool = False
    # The clinic confirms by hand: a coordinator records its answer through the API.
    confirm_by_hand: bool = False
    # A hotel or transfer partner confirmed the request (its reference is in PostgreSQL).
    confirmed: bool = False


class TravelChangeStatus(StrEnum):
    PENDING = "pending"
    APPLIED = "applied"
    FAILED = "failed"


class TravelChangeOutcome(BaseModel):
    """Whether a change of dates stood: its travel record then holds the dates the journey
    keeps (applied), or stays beside them for the record (failed)."""

    journey_id: str
    travel_record_id: str
    status: TravelChangeStatus


class CancelBooking(BaseModel):
    journey_id: str
    booking_id: str


class CaseManagerRequest(BaseModel):
    journey_id: str
    language: str


class CaseManagerAssigned(BaseModel):
    case_manager_id: str | None


class SetCaseManager(BaseModel):
    journey_id: str
    case_manager_id: str


class AssessProcedure(BaseModel):
    journey_id: str
    report_id: str
    min_cells: int


class ProcedureAssessment(BaseModel):
    """Coded: the dose itself stays in the report."""

    below_minimum: bool


class AssessCheckin(BaseModel):
    journey_id: str
    checkin_id: str


class RehabFollowUpRecord(BaseModel):
    """A rehabilitation follow-up to project into PostgreSQL as it opens, and again as it
    closes (who closed it, and the id of what they recorded)."""

    journey_id: str
    follow_up: RehabFollowUp
    closed_at: datetime | None = None
    closed_by: str | None = None
    record_id: str | None = None


class IncidentRecord(BaseModel):
    """An incident opened (no resolution yet) or resolved, projected for people to list."""

    journey_id: str
    workflow: str = "journey"
    incident: Incident
    resolution: IncidentAction | None = None
    resolved_by: str | None = None
    resolved_at: datetime | None = None
