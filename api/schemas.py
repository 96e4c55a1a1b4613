"""What the API's step endpoints take and answer. The actor always comes from the token."""

from datetime import date, datetime
from decimal import Decimal
from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, EmailStr, Field, StringConstraints, model_validator
from pydantic_core import PydanticCustomError

from audit.timeline import TimelineEntry
from domain.incidents import IncidentAction
from domain.inquiry import PhoneNumber
from domain.policy import MIN_CELLS
from domain.records import Booking, Slot
from domain.refusals import Refusal, RefusalCode
from domain.stages import Stage, WaitingOn
from domain.steps import DocumentKind, RejectionReason, ReviewOutcome, WithdrawalReason

Notes = Annotated[str, StringConstraints(max_length=5000)]
Score = Annotated[int, Field(ge=0, le=10)]


class _Body(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)


class ReviewBody(_Body):
    outcome: ReviewOutcome
    reason: RejectionReason | None = None
    documents: list[DocumentKind] = Field(default_factory=list, max_length=4)

    @model_validator(mode="after")
    def _consistent(self) -> "ReviewBody":
        if self.outcome is ReviewOutcome.REJECT and self.reason is None:
            raise ValueError("a rejection needs a reason")
        if self.outcome is ReviewOutcome.REQUEST_DOCUMENTS and not self.documents:
            raise ValueError("a request for documents needs at least one document")
        return self


class CaseManagerBody(_Body):
    case_manager_id: Annotated[str, StringConstraints(min_length=1, max_length=120)]


class ClinicConfirmationBody(_Body):
    confirmed: bool
    clinic_reference: Annotated[str, StringConstraints(max_length=120)] = ""


class SlotChoiceBody(_Body):
    slot_id: Annotated[str, StringConstraints(min_length=1, max_length=200)]


class PlanBody(_Body):
    price: Decimal = Field(ge=0, le=10_000_000, max_digits=12, decimal_places=2)
    currency: Annotated[str, StringConstraints(pattern=r"^[A-Z]{3}$")]
    cells_target: int = Field(default=MIN_CELLS, ge=1, le=10_000_000_000)
    notes: Notes = ""


class ConsultOutcomeBody(_Body):
    eligible: bool
    reason: RejectionReason | None = None
    plan: PlanBody | None = None

    @model_validator(mode="after")
    def _consistent(self) -> "ConsultOutcomeBody":
        if self.eligible and self.plan is None:
            raise ValueError("an eligible outcome needs the treatment plan")
        if not self.eligible and self.reason is None:
            raise ValueError("a not-eligible outcome needs a reason")
        return self


class PlanDecisionBody(_Body):
    accept: bool


class TravelBody(_Body):
    arrival_date: date
    departure_date: date
    needs_visa: bool = False
    arrival_flight: Annotated[str, StringConstraints(max_length=20)] = ""
    departure_flight: Annotated[str, StringConstraints(max_length=20)] = ""
    companions: int = Field(default=0, ge=0, le=5)
    notes: Notes = ""

    @model_validator(mode="after")
    def _order(self) -> "TravelBody":
        if (self.departure_date - self.arrival_date).days < 3:
            # Typed by the refusal's code, so that the pages word it without reading the text.
            refusal = Refusal.of(RefusalCode.DEPARTURE_TOO_SOON)
            raise PydanticCustomError(refusal.code.value, refusal.english)
        return self


class FollowUpOutcomeBody(_Body):
    trunk_control: Score | None = None
    sitting_balance: Score | None = None
    standing_balance: Score | None = None
    spasticity: Score | None = None
    sensation: Score | None = None
    bladder: Score | None = None
    postural_hypotension: bool | None = None
    notes: Notes = ""


class RehabCheckinBody(_Body):
    week: int = Field(ge=1, le=60)
    walking_hours_per_day: Decimal = Field(ge=0, le=24, max_digits=4, decimal_places=1)
    days_per_week: int = Field(ge=0, le=7)
    notes: Notes = ""


class WithdrawalBody(_Body):
    reason: WithdrawalReason = WithdrawalReason.PATIENT_REQUEST

    @model_validator(mode="after")
    def _plain_reason(self) -> "WithdrawalBody":
        # These end the journey and record more: the consent's withdrawal, or an erasure.
        if self.reason is WithdrawalReason.CONSENT_WITHDRAWN:
            raise ValueError("withdraw consent with POST …/consent/withdrawal")
        if self.reason is WithdrawalReason.DATA_ERASURE:
            raise ValueError("a privacy officer erases with POST …/erasure")
        return self


class IncidentResolutionBody(_Body):
    action: IncidentAction
    incident_number: int | None = Field(
        default=None,
        ge=1,
        description="the incident you are resolving (from the journey's status); when given, "
        "a newer incident is not resolved by mistake",
    )


class ContactBody(_Body):
    """The patient's corrected contact details; what is left out stays as it was."""

    email: EmailStr | None = None
    phone: PhoneNumber | None = None

    @model_validator(mode="after")
    def _something(self) -> "ContactBody":
        if self.email is None and self.phone is None:
            raise ValueError("send the corrected email, phone or both")
        return self


class ContactDetails(BaseModel):
    email: str
    phone: str


class ClinicProcedure(_Body):
    cells_given: int = Field(ge=0, le=10_000_000_000)
    route: Annotated[str, StringConstraints(min_length=1, max_length=40)] = "intrathecal"
    minutes: int = Field(ge=1, le=600)
    lot: Annotated[str, StringConstraints(min_length=1, max_length=60)]
    notes: Notes = ""


class ClinicAdverseEvent(_Body):
    severity: Literal["mild", "moderate", "severe", "life_threatening"]
    description: Annotated[str, StringConstraints(min_length=1, max_length=5000)]


class ClinicEvent(_Body):
    """A clinic event; `event_id` makes a repeated delivery change nothing."""

    event_id: Annotated[str, StringConstraints(pattern=r"^[0-9a-fA-F-]{36}$")]
    journey_id: Annotated[str, StringConstraints(pattern=r"^[0-9a-fA-F-]{36}$")]
    type: Literal["admission", "procedure", "discharge", "adverse_event"]
    procedure: ClinicProcedure | None = None
    adverse_event: ClinicAdverseEvent | None = None

    @model_validator(mode="after")
    def _payload(self) -> "ClinicEvent":
        if self.type == "procedure" and self.procedure is None:
            raise ValueError("a procedure event carries `procedure`")
        if self.type == "adverse_event" and self.adverse_event is None:
            raise ValueError("an adverse event carries `adverse_event`")
        return self


class ClinicEventAccepted(BaseModel):
    event_id: str
    duplicate: bool


class PatientView(BaseModel):
    """The journey in plain words, for the patient's own link."""

    journey_id: str
    stage: Stage
    message: str = Field(description="in the language `Accept-Language` asks for, else English")
    action_needed: bool
    deadline: datetime | None = Field(None, description="when the patient's answer is due")
    waiting_on: WaitingOn = Field(
        WaitingOn.NONE, description="whom the journey waits on (a coordinator during an incident)"
    )
    waiting_until: datetime | None = Field(None, description="until when it waits on them")
    incident_open: bool = Field(
        False, description="a problem on the organisation's side is being sorted out"
    )
    documents_requested: list[DocumentKind] = Field(default_factory=list)
    offered_slots: list[Slot] = Field(default_factory=list)
    bookings: list[Booking] = Field(default_factory=list)


class Timeline(BaseModel):
    """A journey's account for auditors; `names` maps ids to names for clinical staff only."""

    journey_id: str
    names: dict[str, str] = Field(default_factory=dict)
    entries: list[TimelineEntry]
