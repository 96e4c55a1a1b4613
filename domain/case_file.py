"""A journey's case as staff read it: the journey, the patient, and the records written about
them. Read from PostgreSQL (and the journey's status from Temporal) by the staff console's case
page and the JSON API's `GET /api/v1/journeys/{id}/case` alike."""

from datetime import date, datetime
from decimal import Decimal

from pydantic import BaseModel, Field

from domain.incidents import IncidentKind
from domain.journey import JourneyStatus
from domain.outcome_scales import AisGrade, NeurologicalLevel
from domain.rehab import RehabOutcome, RehabReason
from domain.stages import Stage, WaitingOn


class CaseJourney(BaseModel):
    """The journey as PostgreSQL projects it, with its people named."""

    journey_id: str
    reference: str
    stage: Stage
    waiting_on: WaitingOn
    next_deadline: datetime | None
    case_manager_id: str | None
    case_manager_name: str | None = None
    specialist_id: str | None
    specialist_name: str | None = None
    country: str
    incident: IncidentKind | None = None
    created_at: datetime
    updated_at: datetime
    follow_up_since: datetime | None = Field(
        default=None, description="when the follow-up year began: the discharge"
    )


class PatientFacts(BaseModel):
    """The patient behind a journey and the injury their inquiry describes (health data)."""

    full_name: str
    email: str
    phone: str
    country: str
    preferred_language: str
    time_zone: str | None = None
    injury_level: str
    injury_completeness: str
    injury_date: date
    injury_cause: str
    medical_history: str


class CaseDocument(BaseModel):
    """A document's description; its content is read on its own, audited."""

    document_id: str
    kind: str
    filename: str
    content_type: str
    size_bytes: int
    sha256: str
    uploaded_at: datetime


class DocumentFile(BaseModel):
    """A document's content, for the one audited read that serves it."""

    document_id: str
    filename: str
    content_type: str
    content: bytes


class PlanRecord(BaseModel):
    plan_id: str
    specialist_id: str
    specialist_name: str | None = None
    cells_target: int
    route: str
    price: Decimal
    currency: str
    notes: str
    created_at: datetime


class TravelRecord(BaseModel):
    arrival_date: date
    departure_date: date
    arrival_flight: str
    departure_flight: str
    companions: int
    needs_visa: bool
    notes: str
    submitted_at: datetime
    change_status: str | None = Field(
        default=None,
        description="a change of the booked trip's dates: pending, applied (these dates "
        "stand) or failed (the earlier ones stood); none for the dates first sent",
    )


class PartnerConfirmationView(BaseModel):
    """A hotel's or transfer partner's confirmation of a request."""

    booking_id: str
    kind: str = Field(description="hotel or transfer")
    reference: str = Field(description="the partner's own reference")
    confirmed_by: str = Field(description="who confirmed, as the partner gave it")
    via: str = Field(
        description="link: the partner through its signed link; console: a coordinator"
    )
    confirmed_at: datetime


class ProcedureRecord(BaseModel):
    cells_given: int = Field(description="the dose: cord-tissue MSCs given")
    route: str
    minutes: int
    lot: str
    notes: str
    reported_at: datetime


class AdverseEventRecord(BaseModel):
    severity: str
    description: str
    reported_at: datetime


class FollowUpOutcomeRecord(BaseModel):
    """A follow-up consult's outcome: on the scales of domain/outcome_scales.py (absent from
    outcomes recorded before them), and the earlier 0 to 10 scores."""

    consult_no: int
    ais_grade: AisGrade | None = None
    neurological_level: NeurologicalLevel | None = None
    uems: int | None = None
    lems: int | None = None
    light_touch: int | None = None
    pin_prick: int | None = None
    scim_total: int | None = None
    recorded_by: str | None = None
    trunk_control: int | None = None
    sitting_balance: int | None = None
    standing_balance: int | None = None
    spasticity: int | None = None
    sensation: int | None = None
    bladder: int | None = None
    postural_hypotension: bool | None = None
    notes: str
    recorded_at: datetime


class RehabCheckinRecord(BaseModel):
    week: int
    walking_hours_per_day: Decimal
    days_per_week: int
    notes: str
    submitted_at: datetime


class RehabFollowUpRecord(BaseModel):
    """A rehabilitation follow-up the year put before the case manager, and what they
    recorded when they closed it."""

    number: int
    reason: RehabReason
    weeks: list[int]
    opened_at: datetime
    due_at: datetime
    closed_at: datetime | None = None
    closed_by: str | None = None
    closed_by_name: str | None = None
    outcome: RehabOutcome | None = None
    note: str | None = None


class IncidentRecordView(BaseModel):
    """An open incident as PostgreSQL keeps it (the status has the actions it allows)."""

    workflow: str
    number: int
    kind: IncidentKind
    step: str
    opened_at: datetime


class CaseRecords(BaseModel):
    """What people wrote about the patient during the journey, oldest first."""

    documents: list[CaseDocument] = Field(default_factory=list)
    plans: list[PlanRecord] = Field(default_factory=list)
    travel: list[TravelRecord] = Field(default_factory=list)
    partners: list[PartnerConfirmationView] = Field(default_factory=list)
    procedures: list[ProcedureRecord] = Field(default_factory=list)
    adverse_events: list[AdverseEventRecord] = Field(default_factory=list)
    follow_ups: list[FollowUpOutcomeRecord] = Field(default_factory=list)
    checkins: list[RehabCheckinRecord] = Field(default_factory=list)
    rehab_follow_ups: list[RehabFollowUpRecord] = Field(default_factory=list)


class CaseFile(BaseModel):
    """Everything the case page shows but the timeline (`…/timeline`)."""

    journey: CaseJourney
    status: JourneyStatus | None = Field(
        default=None,
        description="the journey's own answer (Temporal); absent when it could not be asked, "
        "and `journey` then says where PostgreSQL last saw it",
    )
    patient: PatientFacts | None = Field(default=None, description="absent for auditors")
    records: CaseRecords | None = Field(default=None, description="absent for auditors")
    open_incidents: list[IncidentRecordView] = Field(default_factory=list)
    temporal_ui_url: str = Field(description="the journey's page in the Temporal Web UI")
    erased_on: date | None = Field(
        default=None,
        description="when the patient's data was erased (GDPR Art. 17); the patient and the "
        "records are then absent for everyone",
    )
