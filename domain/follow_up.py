"""What the `FollowUp` child workflow takes, answers and returns: ids, numbers, dates and coded
results only."""

from datetime import datetime
from enum import StrEnum

from pydantic import BaseModel, Field

from domain.incidents import Incident
from domain.policy import JourneyPolicy
from domain.records import Booking, Slot
from domain.rehab import RehabFollowUp, RehabState, WeekResult
from domain.step_declarations import StepName
from domain.steps import FollowUpBooking, FollowUpNoShow, FollowUpReschedule


class ConsultPhase(StrEnum):
    """Where the booking of one follow-up consult is."""

    OFFERING = "offering"  # times are being found
    CHOOSING = "choosing"  # times offered, the patient's to choose
    BOOKING = "booking"  # a time chosen, being booked
    BOOKED = "booked"  # in the specialist's calendar, to be held
    CLOSED = "closed"


class ConsultEnd(StrEnum):
    """How the booking of a follow-up consult ended."""

    HELD = "held"  # its outcome is recorded
    NOT_BOOKED = "not_booked"  # no time chosen in time, or the offer skipped: by hand
    MISSED = "missed"  # missed, and offered again as often as the policy says
    YEAR_ENDED = "year_ended"


class FollowUpConsult(BaseModel):
    """The booking of one follow-up consult, as the year carries it from run to run.

    Each round offers new times; the steps people sent wait here until the run acts on them,
    and `sent` names the emails already sent, so that a run continued as new in the middle
    of a round takes it up where the last one left it.
    """

    number: int
    phase: ConsultPhase = ConsultPhase.OFFERING
    round: int = 1
    offered: list[Slot] = Field(default_factory=list)
    offered_at: datetime | None = None
    choose_by: datetime | None = None
    booking: Booking | None = None
    no_shows: int = 0
    ended: ConsultEnd | None = None
    choice: FollowUpBooking | None = None
    other_times: FollowUpReschedule | None = None
    reschedule: FollowUpReschedule | None = None
    no_show: FollowUpNoShow | None = None
    sent: list[str] = Field(default_factory=list)

    @property
    def choosing(self) -> bool:
        """Times are offered and nothing is asked of them yet."""
        return (
            self.phase is ConsultPhase.CHOOSING and self.choice is None and self.other_times is None
        )

    @property
    def held_or_moved(self) -> bool:
        """The booked consult has its answer: moved, missed, or (with its outcome) held."""
        return self.reschedule is not None or self.no_show is not None

    def slot(self, slot_id: str) -> Slot | None:
        return next((s for s in self.offered if s.slot_id == slot_id), None)


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
    consults: dict[int, FollowUpConsult] = Field(
        default_factory=dict, description="the follow-up consults offered and booked so far"
    )


class FollowUpResult(BaseModel):
    outcomes_recorded: list[int]
    missing_outcomes: list[int]
    checkins_received: int
    checkins_missed: list[int]


class BookedFollowUp(BaseModel):
    """A follow-up consult as people see its booking: the times offered while they are to be
    chosen (and until when), or the booking, and the steps it takes now."""

    number: int
    phase: ConsultPhase
    offered: list[Slot] = Field(default_factory=list)
    choose_by: datetime | None = None
    booking: Booking | None = None
    no_shows: int = 0
    ended: ConsultEnd | None = None
    expects: list[StepName] = Field(default_factory=list)


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
    consults: list[BookedFollowUp] = Field(
        default_factory=list, description="the follow-up consults offered or booked"
    )
    expects: list[StepName] = Field(
        default_factory=list,
        description="the follow-up consult steps the year takes now (booking, rescheduling, "
        "a no-show), whoever sends them",
    )
