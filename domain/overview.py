"""The overview of all journeys for the people who run them: how many are where, how long
stages take, what went wrong week by week, how journeys ended. Counts and durations only: no
figure names a journey or a patient.

Served from PostgreSQL (db/overview.py) to the staff console's `/staff/overview`.
"""

from datetime import date, datetime, timedelta
from enum import StrEnum

from pydantic import BaseModel, ConfigDict, Field

from domain.stages import Stage

# Durations and outcomes are of the stages left, and the journeys ended, in this window.
WINDOW = timedelta(days=90)
# Weekly figures cover this many weeks, the current one (not yet over) included.
WEEKS = 12


class BreachKind(StrEnum):
    """A deadline a person missed, as the journey records it: by the escalation or alert email
    it sends then (the only trace a missed deadline leaves in PostgreSQL)."""

    REVIEW_SLA = "review_sla"
    """No review within the review SLA (48 h by default): the medical lead is told."""
    ADMISSION_OVERDUE = "admission_overdue"
    """The clinic had not reported the admission by the end of the visit's first day."""
    FOLLOW_UP_OVERDUE = "follow_up_overdue"
    """A follow-up consult's outcome was not recorded within its grace period."""


class StageCount(BaseModel):
    model_config = ConfigDict(frozen=True)

    stage: Stage
    journeys: int = Field(ge=0)


class StageDuration(BaseModel):
    """How long journeys stayed in a stage, over the stays that ended in the window."""

    model_config = ConfigDict(frozen=True)

    stage: Stage
    stays: int = Field(ge=1, description="how many stays the figures are taken from")
    median: timedelta
    p90: timedelta = Field(description="90th percentile: nine stays in ten were shorter")


class WeekFigures(BaseModel):
    """One week, Monday to Sunday in the reader's time zone."""

    model_config = ConfigDict(frozen=True)

    week: date = Field(description="the week's Monday")
    intake: int = Field(default=0, ge=0, description="journeys started")
    breaches: dict[BreachKind, int] = Field(default_factory=dict)
    incidents: int = Field(default=0, ge=0, description="incidents opened")

    @property
    def breach_total(self) -> int:
        return sum(self.breaches.values())


class Outcome(BaseModel):
    """How many journeys ended in a final stage for one coded reason."""

    model_config = ConfigDict(frozen=True)

    stage: Stage
    reason: str | None = Field(
        description="a rejection, withdrawal or ending reason; None for a completion, and for "
        "journeys that ended before reasons were recorded"
    )
    journeys: int = Field(ge=1)


class Overview(BaseModel):
    """Every figure of the overview page, as of one moment."""

    model_config = ConfigDict(frozen=True)

    as_of: datetime
    time_zone: str = Field(description="the zone weeks begin in")
    stages: list[StageCount] = Field(description="open journeys per stage, every open stage")
    durations: list[StageDuration] = Field(description="stages with a stay ended in the window")
    weeks: list[WeekFigures] = Field(description="oldest first, the current week last")
    outcomes: list[Outcome] = Field(description="journeys ended in the window")

    @property
    def open_journeys(self) -> int:
        return sum(count.journeys for count in self.stages)

    @property
    def ended_journeys(self) -> int:
        return sum(outcome.journeys for outcome in self.outcomes)
