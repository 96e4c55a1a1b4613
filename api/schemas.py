"""What the API answers, and the clinic's webhook body; what steps take is in
domain/step_bodies.py."""

from datetime import datetime
from typing import Annotated, Literal

from pydantic import BaseModel, Field, StringConstraints, model_validator

from audit.timeline import Disclosure, TimelineEntry
from domain.records import Booking, Slot
from domain.stages import Stage, WaitingOn
from domain.step_bodies import ClinicAdverseEvent, ClinicProcedure, StepBody
from domain.steps import DocumentKind


class ContactDetails(BaseModel):
    email: str
    phone: str


class ClinicEvent(StepBody):
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
    """A journey's account: who did what and when for every reader; `names` maps ids to names,
    and `shown` says what the entries hold beyond who did what and when, for the reader's role
    (auditors get neither names nor decided values) and the journey (erased or not)."""

    journey_id: str
    names: dict[str, str] = Field(default_factory=dict)
    shown: Disclosure = Field(default_factory=Disclosure)
    entries: list[TimelineEntry]
