"""Deadlines of a journey, in one model passed at start so a running journey keeps its own."""

from datetime import time, timedelta
from typing import Annotated, Self

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, model_validator

from domain.clinic_hours import (
    CLINIC_TIME_ZONE,
    VISIT_DAY_END,
    VISIT_DAY_START,
    checked_time_zone,
    checked_visit_day,
    wall_clock,
)

DAY = timedelta(days=1)
# The protocol: an intrathecal transplant of at least 120 million cord-tissue MSCs. Plans
# target it by default, and a procedure below it is escalated to the medical lead.
MIN_CELLS = 120_000_000


class JourneyPolicy(BaseModel):
    """Every deadline and threshold of the journey, with their defaults.

    The policy travels in the workflow input, so it is recorded in the history and a journey
    keeps the policy it started with even after the defaults change.
    """

    model_config = ConfigDict(frozen=True, extra="forbid")

    # Every stage: how long an outside system (email, calendar, clinic) may keep failing
    # before the journey opens an incident for a coordinator instead of retrying on its own.
    outside_patience: timedelta = Field(default=DAY, gt=timedelta(0))
    # VALIDATION
    review_sla: timedelta = Field(default=timedelta(hours=48), gt=timedelta(0))
    review_escalation_every: timedelta = Field(default=timedelta(hours=24), gt=timedelta(0))
    document_reminders: tuple[timedelta, ...] = (3 * DAY, 7 * DAY)
    documents_timeout: timedelta = Field(default=30 * DAY, gt=timedelta(0))
    # TELECONSULT
    consult_slots_offered: int = Field(default=6, ge=1, le=20)
    slot_choice_reminders: tuple[timedelta, ...] = (3 * DAY,)
    slot_choice_timeout: timedelta = Field(default=21 * DAY, gt=timedelta(0))
    consult_reminders_before: tuple[timedelta, ...] = (timedelta(hours=24), timedelta(hours=1))
    consult_outcome_grace: timedelta = Field(default=2 * DAY, gt=timedelta(0))
    max_no_shows: int = Field(default=2, ge=1)
    # PLAN
    quote_validity: timedelta = Field(default=30 * DAY, gt=timedelta(0))
    quote_reminders: tuple[timedelta, ...] = (7 * DAY, 21 * DAY)
    # TRAVEL
    travel_details_reminders: tuple[timedelta, ...] = (7 * DAY,)
    travel_details_timeout: timedelta = Field(default=60 * DAY, gt=timedelta(0))
    travel_checklist_before: timedelta = 14 * DAY
    travel_reminder_before: timedelta = 3 * DAY
    # The patient (or a coordinator for her) changes her dates until this long before the
    # start of visit day 1, for the visit she has and for the one she asks for; after it the
    # page names her case manager, who arranges a change by hand.
    travel_change_cutoff: timedelta = Field(default=7 * DAY, ge=timedelta(0))
    # Each hotel and transfer request: reminders to the partner this long after it is sent,
    # while unconfirmed; an incident if still unconfirmed this long before the arrival, or,
    # for a request sent later than that, this grace after it.
    partner_reminders: tuple[timedelta, ...] = (2 * DAY, 4 * DAY)
    partner_confirmation_before: timedelta = Field(default=7 * DAY, ge=timedelta(0))
    partner_confirmation_grace: timedelta = Field(default=DAY, gt=timedelta(0))
    # TRAVEL and TREATMENT: the visit days' hours on the clinic's clock (domain/clinic_hours.py).
    # The API sets them from JOURNEYS_CLINIC_*; a history recorded before they existed decodes
    # with these defaults, the settings' own.
    clinic_time_zone: Annotated[str, AfterValidator(checked_time_zone)] = CLINIC_TIME_ZONE
    visit_day_start: Annotated[time, AfterValidator(wall_clock)] = VISIT_DAY_START
    visit_day_end: Annotated[time, AfterValidator(wall_clock)] = VISIT_DAY_END
    # TREATMENT
    admission_alert_after: timedelta = Field(
        default=DAY,
        gt=timedelta(0),
        description="after the start of visit day 1, on the clinic's clock",
    )
    min_cells: int = Field(default=MIN_CELLS, gt=0)
    # FOLLOW_UP
    follow_up_offsets: tuple[timedelta, ...] = (
        14 * DAY,
        42 * DAY,
        91 * DAY,
        182 * DAY,
        365 * DAY,
    )
    follow_up_reminder_before: timedelta = 3 * DAY
    # Each follow-up consult is offered as the first consultation was: times with the
    # patient's own specialist, this long before it is due, placed from its reminder's time on
    # (`follow_up_reminder_before`), the first free ones in the specialist's working hours.
    follow_up_offer_before: timedelta = Field(default=10 * DAY, gt=timedelta(0))
    follow_up_choice_reminders: tuple[timedelta, ...] = (3 * DAY,)
    # Unchosen by then, the times are withdrawn and the case manager is asked to arrange it.
    follow_up_choice_timeout: timedelta = Field(default=7 * DAY, gt=timedelta(0))
    # How many times a missed follow-up consult is offered again before the case manager is
    # asked to follow it up.
    follow_up_reoffers: int = Field(default=1, ge=0, le=5)
    follow_up_outcome_grace: timedelta = 14 * DAY
    rehab_checkin_every: timedelta = Field(default=7 * DAY, gt=timedelta(0))
    rehab_weeks: int = Field(default=26, ge=0, le=60)
    rehab_checkin_grace: timedelta = 2 * DAY
    # How soon a case manager is expected to follow up a patient whose rehabilitation fell
    # behind (domain/rehab.py): the journey's deadline while it waits on them.
    rehab_follow_up_within: timedelta = Field(default=3 * DAY, gt=timedelta(0))
    care_advice_after: tuple[timedelta, ...] = (timedelta(0), 30 * DAY)

    @model_validator(mode="after")
    def _visit_day_runs_forward(self) -> Self:
        checked_visit_day(self.visit_day_start, self.visit_day_end)
        return self
