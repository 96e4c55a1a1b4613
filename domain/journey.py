"""What crosses Temporal for a journey: identifiers, stages, decisions. Never PHI."""

from datetime import datetime
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, model_validator

from domain.incidents import Incident
from domain.policy import JourneyPolicy
from domain.records import Booking, Slot
from domain.rehab import RehabFollowUp
from domain.stages import TASK_ENGLISH, Stage, Task, WaitingOn
from domain.step_declarations import StepName
from domain.steps import DocumentKind


class JourneyInput(BaseModel):
    """The start input of `PatientJourney`: ids only, the records stay in Postgres."""

    model_config = ConfigDict(frozen=True)

    journey_id: str
    patient_id: str
    inquiry_id: str
    policy: JourneyPolicy = Field(default_factory=JourneyPolicy)
    case_page_url: str = Field(
        default="", description="the journey's case page in the staff console, for the UI"
    )


class StageTransition(BaseModel):
    """One entry of the journey's stage log."""

    stage: Stage
    waiting_on: WaitingOn = WaitingOn.NONE
    entered_at: datetime
    actor_id: str = "system"
    actor_role: str = "system"


class JourneyStatus(BaseModel):
    """What the status query answers: where the journey is and whom it waits on until when."""

    journey_id: str
    stage: Stage
    waiting_on: WaitingOn
    waiting_for: str = Field(
        default="", description="what the journey waits for, in English; `task` is its code"
    )
    task: Task | None = Field(
        default=None,
        description="what the journey waits for (or does) now, coded, for each reader to word",
    )
    deadline: datetime | None = None
    case_manager_id: str | None = None
    bookings: list[Booking] = Field(default_factory=list)
    offered_slots: list[Slot] = Field(default_factory=list)
    transitions: list[StageTransition] = Field(default_factory=list)
    ending_reason: str | None = None
    incident: Incident | None = Field(
        default=None, description="the open incident a coordinator must resolve, if any"
    )
    takes_steps_from: WaitingOn = Field(
        default=WaitingOn.NONE,
        description="whose steps the journey takes now: `waiting_on`, except while an incident "
        "is open, when it still takes the steps of whom it waited on before",
    )
    documents_requested: list[DocumentKind] = Field(
        default_factory=list,
        description="the documents the reviewer asked for, while the journey waits on them",
    )
    expects: list[StepName] = Field(
        default_factory=list,
        description="the steps the journey would take now, from whoever may take them",
    )
    travel_change_until: datetime | None = Field(
        default=None,
        description="while the trip is booked, until when its dates can change (after it, "
        "the case manager arranges a change)",
    )
    confirms_partners: bool = Field(
        default=False,
        description="whether the hotel and transfer bookings wait for their partners' "
        "confirmations, which each booking's `confirmed` then shows",
    )
    rehab_follow_up: RehabFollowUp | None = Field(
        default=None,
        description="the rehabilitation follow-up waiting for the case manager: its `number` "
        "is the one to close",
    )

    @model_validator(mode="before")
    @classmethod
    def _task_of_older_answers(cls, data: Any) -> Any:
        """Answers recorded before `task` existed say it in English only: read its code."""
        if isinstance(data, dict) and data.get("task") is None and data.get("waiting_for"):
            data = {**data, "task": _TASK_OF_ENGLISH.get(data["waiting_for"])}
        return data


_TASK_OF_ENGLISH = {english: task for task, english in TASK_ENGLISH.items()}


class JourneyOutcome(BaseModel):
    """What the journey workflow returns when it ends."""

    journey_id: str
    stage: Stage
