"""What the `FollowUp` child workflow takes, answers and returns: ids, numbers, dates and coded
results only."""

from datetime import datetime

from pydantic import BaseModel, Field

from domain.incidents import Incident
from domain.policy import JourneyPolicy
from domain.rehab import RehabFollowUp, RehabState, WeekResult


class FollowUpInput(BaseModel):
    journey_id: str
    discharged_at: datetime
    policy: JourneyPolicy
    done: list[str] = Field(default_factory=list, description="calendar events already handled")
    outcomes: dict[int, str] = Field(default_factory=dict)
    checkins: dict[int, str] = Field(default_factory=dict)
    incidents: int = Field(default=0, description="incidents opened in earlier runs")
    case_page_url: str = Field(default="", description="the journey's case page, for the UI")
    rehab: RehabState = Field(
        default_factory=RehabState, description="the weeks judged and the follow-ups so far"
    )


class FollowUpResult(BaseModel):
    outcomes_recorded: list[int]
    missing_outcomes: list[int]
    checkins_received: int
    checkins_missed: list[int]


class FollowUpStatus(BaseModel):
    outcomes_recorded: list[int]
    checkins_received: list[int]
    next_event: str | None
    next_event_at: datetime | None
    incident: Incident | None = None
    weeks: dict[int, WeekResult] = Field(
        default_factory=dict, description="each week judged against the rule of six"
    )
    rehab_follow_up: RehabFollowUp | None = Field(
        default=None, description="the rehabilitation follow-up waiting for the case manager"
    )
