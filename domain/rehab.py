"""The rule of six and when a patient's rehabilitation goes before their case manager: pure rules,
shared by the follow-up year (which keeps each week's coded result), the API (which judges a
check-in as it stores it) and the pages (which show the weeks).

The rule of six asks for 6 hours of walking or standing exercise a day, 6 days a week, for the 6
months after the treatment. A week's check-in meets it or falls short of it; a week whose
check-in has not come once its reminder was sent and its grace has passed is missing. Two short
weeks in a row, or a missing week, put the patient before their case manager: a rehabilitation
follow-up, which the case manager closes by recording what was agreed.

The hours and days stay in PostgreSQL; a workflow holds only the coded result of each week.
"""

from collections.abc import Mapping
from datetime import datetime
from decimal import Decimal
from enum import StrEnum

from pydantic import BaseModel, ConfigDict, Field

from domain.actors import Actor
from domain.policy import JourneyPolicy

# Hours walking a day, and days a week, that the rule of six asks for.
RULE_OF_SIX = 6
# How many short weeks in a row bring a follow-up.
SHORT_WEEKS_IN_A_ROW = 2


class WeekResult(StrEnum):
    """A week of rehabilitation, judged against the rule of six."""

    MET = "met"
    SHORT = "short"
    MISSING = "missing"


class RehabReason(StrEnum):
    """Why a patient's rehabilitation went before their case manager."""

    SHORT_WEEKS = "short_weeks"
    MISSED_CHECKIN = "missed_checkin"


class RehabOutcome(StrEnum):
    """What a case manager recorded after following up a patient's rehabilitation."""

    PLAN_ADJUSTED = "plan_adjusted"
    OBSTACLE_SOLVED = "obstacle_solved"
    MEDICAL_REVIEW = "medical_review"
    BACK_ON_PLAN = "back_on_plan"
    NOT_REACHED = "not_reached"


def short_of_six(hours: Decimal, days: int) -> bool:
    """Whether a week's hours a day or days fall short of the rule of six."""
    return hours < RULE_OF_SIX or days < RULE_OF_SIX


def judge_week(hours: Decimal, days: int) -> WeekResult:
    """A received check-in's result: met, or short."""
    return WeekResult.SHORT if short_of_six(hours, days) else WeekResult.MET


class RehabConcern(BaseModel):
    """What a case manager must follow up: why, and which weeks."""

    model_config = ConfigDict(frozen=True)

    reason: RehabReason
    weeks: tuple[int, ...]


def rehab_concern(results: Mapping[int, WeekResult], after_week: int = 0) -> RehabConcern | None:
    """The first concern among the weeks after `after_week` (those before were followed up
    already): a missing week, or two short weeks in a row; None when there is none.

    A week with no result yet (its check-in neither received nor overdue) breaks a run of short
    weeks, as a met one does.
    """
    previous_short: int | None = None
    for week in sorted(w for w in results if w > after_week):
        result = results[week]
        if result is WeekResult.MISSING:
            return RehabConcern(reason=RehabReason.MISSED_CHECKIN, weeks=(week,))
        if result is WeekResult.SHORT:
            if previous_short == week - 1:
                return RehabConcern(reason=RehabReason.SHORT_WEEKS, weeks=(week - 1, week))
            previous_short = week
        else:
            previous_short = None
    return None


class RehabFollowUp(BaseModel):
    """A patient's rehabilitation put before their case manager: numbered from 1 in the
    journey, why, which weeks, since when and by when."""

    number: int
    reason: RehabReason
    weeks: tuple[int, ...]
    since: datetime
    due: datetime


class RehabState(BaseModel):
    """The year's rehabilitation as the journey judged it: each week's coded result, the
    check-ins still to judge, how many follow-ups were opened and the one open, and the last
    week a closed follow-up answered for (a new one looks at the weeks after it)."""

    weeks: dict[int, WeekResult] = Field(default_factory=dict)
    unjudged: dict[int, str] = Field(
        default_factory=dict, description="check-ins received and not judged yet: week, id"
    )
    opened: int = 0
    open: RehabFollowUp | None = None
    covered_through: int = 0

    def due(self) -> RehabConcern | None:
        """The concern a new follow-up must open for: none while one is open."""
        if self.open is not None:
            return None
        return rehab_concern(self.weeks, self.covered_through)


class RehabNotice(BaseModel):
    """The follow-up year tells its journey of a rehabilitation follow-up opened or closed, so
    that the journey shows whom it waits on (a signal from the child to its parent)."""

    follow_up: RehabFollowUp
    closed: bool = False
    closed_by: Actor | None = None

    @property
    def order(self) -> tuple[int, int]:
        """Later notices sort after earlier ones: a follow-up's closing after its opening."""
        return self.follow_up.number, int(self.closed)


class CheckinAssessment(BaseModel):
    """A stored check-in judged against the rule of six: coded, the hours stay in the record."""

    result: WeekResult


def covered_through(results: Mapping[int, WeekResult], concern_weeks: tuple[int, ...]) -> int:
    """The last week a closed follow-up answered for: every week judged by the time it was
    closed (the case manager spoke with the patient about those), and at least its own."""
    return max([*results, *concern_weeks], default=0)


def week_results(
    received: Mapping[int, tuple[Decimal, int]],
    *,
    discharged_at: datetime,
    now: datetime,
    policy: JourneyPolicy,
) -> dict[int, WeekResult]:
    """Each week's result as the pages show it, from the stored check-ins (week: hours a day,
    days) and the follow-up year's calendar under `policy`: the same rules the year applies,
    so a page and the journey agree. A week still open, or within its grace, has no result
    yet."""
    every, grace = policy.rehab_checkin_every, policy.rehab_checkin_grace
    results: dict[int, WeekResult] = {}
    for week in range(1, policy.rehab_weeks + 1):
        if week in received:
            hours, days = received[week]
            results[week] = judge_week(hours, days)
        elif now >= discharged_at + week * every + grace:
            results[week] = WeekResult.MISSING
    return results
