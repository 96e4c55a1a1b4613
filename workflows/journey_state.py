"""What one journey knows: where it is, what it booked, and the steps people sent that its run
has yet to act on, grouped by stage. Ids, dates and coded decisions only.

Update handlers write the pending steps; the run method reads them and moves on. Keeping the
whole state in one model shows at a glance what a journey holds, and what the status query
can answer from.
"""

from datetime import date, datetime

from pydantic import BaseModel, Field
from temporalio import workflow

from workflows.incidents import IncidentState

with workflow.unsafe.imports_passed_through():
    from domain.actors import SYSTEM, Actor
    from domain.journey import JourneyInput, StageTransition
    from domain.records import Booking, Slot
    from domain.rehab import RehabFollowUp, RehabNotice
    from domain.stages import TASK_ENGLISH, Stage, Task, WaitingOn
    from domain.steps import (
        Admission,
        ClinicConfirmation,
        ConsultOutcome,
        Discharge,
        DocumentsReceived,
        NoShow,
        PlanDecision,
        ProcedureReported,
        RescheduleRequest,
        ReviewDecision,
        SlotBooking,
        TravelChange,
        TravelDetails,
        Withdrawal,
    )


class ValidationSteps(BaseModel):
    review: ReviewDecision | None = None
    documents: DocumentsReceived | None = None


class TeleconsultSteps(BaseModel):
    offered: dict[str, Slot] = Field(default_factory=dict)
    slot_choice: SlotBooking | None = None
    consult: Booking | None = None
    reschedule: RescheduleRequest | None = None
    # Other times asked for while the offered ones are still to be chosen (none suits the
    # patient, or their specialist left): the round ends and a new one is offered.
    new_times: RescheduleRequest | None = None
    no_show: NoShow | None = None
    outcome: ConsultOutcome | None = None

    @property
    def settled(self) -> bool:
        """The booked consultation has its answer: moved, missed, or held."""
        return any((self.reschedule, self.no_show, self.outcome))


class PlanSteps(BaseModel):
    decision: PlanDecision | None = None


class TravelSteps(BaseModel):
    details: TravelDetails | None = None
    visit_day1: datetime | None = None
    admission_due: datetime | None = None
    clinic_confirmation: ClinicConfirmation | None = None
    # Once the trip is booked (journeys that booked it before changes existed stay False):
    # its dates may change, and partners' confirmations are awaited.
    changeable: bool = False
    # The dates the bookings stand for, and whether the patient needs a visa letter.
    arrival: date | None = None
    departure: date | None = None
    needs_visa: bool = False
    # A change of dates asked for, until the run has booked it or given it up.
    change: TravelChange | None = None
    # Change attempts begun: each numbers its bookings' and emails' steps.
    changes: int = 0
    # The cutoff before the visit has come: the case manager arranges any change by hand.
    changes_closed: bool = False


class TreatmentSteps(BaseModel):
    admission: Admission | None = None
    procedure: ProcedureReported | None = None
    discharge: Discharge | None = None
    adverse_events: list[str] = Field(default_factory=list)


class JourneyState(BaseModel):
    """The state of one `PatientJourney` run."""

    journey: JourneyInput
    stage: Stage = Stage.INQUIRY
    waiting_on: WaitingOn = WaitingOn.NONE
    deadline: datetime | None = None
    task: Task = Task.RECORD_INQUIRY
    transitions: list[StageTransition] = Field(default_factory=list)
    language: str = "en"
    case_manager_id: str | None = None
    case_manager_changes: int = 0
    bookings: list[Booking] = Field(default_factory=list)
    withdrawal: Withdrawal | None = None
    ending_reason: str = ""
    # Set once the run is ending: an incident then can no longer be resolved by withdrawing.
    closing: bool = False
    # Who made the decision that opened the next stage, for its transition record.
    actor_of_next: Actor = SYSTEM
    incidents: IncidentState = Field(default_factory=IncidentState)
    validation: ValidationSteps = Field(default_factory=ValidationSteps)
    teleconsult: TeleconsultSteps = Field(default_factory=TeleconsultSteps)
    plan: PlanSteps = Field(default_factory=PlanSteps)
    travel: TravelSteps = Field(default_factory=TravelSteps)
    treatment: TreatmentSteps = Field(default_factory=TreatmentSteps)
    # The follow-up year's latest word on a rehabilitation follow-up (workflows/follow_up.py),
    # and the one the FOLLOW_UP stage has shown.
    rehab_notice: RehabNotice | None = None
    rehab_shown: RehabNotice | None = None

    @property
    def journey_id(self) -> str:
        return self.journey.journey_id

    @property
    def waiting_for(self) -> str:
        """The task in English; a journey closed for a coded reason names the reason."""
        if self.task is Task.CLOSED and self.ending_reason:
            return self.ending_reason
        return TASK_ENGLISH[self.task]

    @property
    def shown_waiting_on(self) -> WaitingOn:
        """Whom people see the journey wait on: a coordinator while an incident is open.

        Steps are still checked against `waiting_on`, so the patient can book a slot while a
        coordinator sorts out the reminder email that failed.
        """
        return WaitingOn.COORDINATOR if self.incidents.open else self.waiting_on

    @property
    def rehab_follow_up(self) -> RehabFollowUp | None:
        """The rehabilitation follow-up waiting for the case manager, if one is."""
        notice = self.rehab_notice
        return notice.follow_up if notice is not None and not notice.closed else None

    @property
    def shown_deadline(self) -> datetime | None:
        return None if self.incidents.open else self.deadline
