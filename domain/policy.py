"""Deadlines of a journey, in one model passed at start so a running journey keeps its own."""

from datetime import timedelta

from pydantic import BaseModel, ConfigDict, Field

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
    # TREATMENT
    admission_alert_after: timedelta = Field(
        default=DAY, gt=timedelta(0), description="after the start of visit day 1"
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
    follow_up_outcome_grace: timedelta = 14 * DAY
    rehab_checkin_every: timedelta = Field(default=7 * DAY, gt=timedelta(0))
    rehab_weeks: int = Field(default=26, ge=0, le=60)
    rehab_checkin_grace: timedelta = 2 * DAY
    care_advice_after: tuple[timedelta, ...] = (timedelta(0), 30 * DAY)
