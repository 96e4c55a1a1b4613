"""Why a journey refuses a step, by code, and each code's English: the one table of the
refusals' English messages, which API clients and logs read. Pages and emails word the codes
through the catalogues instead. No imports of the project's steps, so that every model that
refuses data (a step's body, a step's argument) can name its code here.

`domain/refusals.py` holds the refusal a validator raises: a code and its parameters.
"""

from enum import StrEnum

from domain.errors import StepError


class RefusalCode(StrEnum):
    """Every reason a journey (or the API: for the follow-up year, for a claim) refuses a step."""

    # Any step
    ROLE_NOT_ALLOWED = "role_not_allowed"
    JOURNEY_ENDED = "journey_ended"
    WRONG_STAGE = "wrong_stage"
    NOT_EXPECTED_NOW = "not_expected_now"
    # VALIDATION and CASE_MANAGER
    ALREADY_REVIEWED = "already_reviewed"
    CASE_NOT_VALIDATED = "case_not_validated"
    ALREADY_CASE_MANAGER = "already_case_manager"
    CASE_MANAGER_INACTIVE = "case_manager_inactive"
    # TELECONSULT
    SLOT_TAKEN = "slot_taken"
    SLOT_NOT_OFFERED = "slot_not_offered"
    SLOT_PASSED = "slot_passed"
    NO_BOOKED_CONSULT = "no_booked_consult"
    CONSULT_SETTLED = "consult_settled"
    CONSULT_STARTED = "consult_started"
    CONSULT_NOT_STARTED = "consult_not_started"
    SPECIALIST_INACTIVE = "specialist_inactive"
    # PLAN and TRAVEL
    PLAN_DECIDED = "plan_decided"
    TRAVEL_SENT = "travel_sent"
    ARRIVAL_NOT_FUTURE = "arrival_not_future"
    DEPARTURE_TOO_SOON = "departure_too_soon"
    NO_VISIT_REQUEST = "no_visit_request"
    TRAVEL_NOT_BOOKED = "travel_not_booked"
    TRAVEL_CHANGE_UNDER_WAY = "travel_change_under_way"
    TRAVEL_CHANGE_CLOSED = "travel_change_closed"
    ARRIVAL_TOO_SOON = "arrival_too_soon"
    SAME_TRAVEL_DATES = "same_travel_dates"
    NO_PARTNER_REQUEST = "no_partner_request"
    PARTNER_CONFIRMED = "partner_confirmed"
    PARTNER_LINK_USED = "partner_link_used"
    PARTNER_LINK_OTHER_JOURNEY = "partner_link_other_journey"
    # TREATMENT
    ADMISSION_REPORTED = "admission_reported"
    ADMISSION_MISSING = "admission_missing"
    PROCEDURE_REPORTED = "procedure_reported"
    PROCEDURE_MISSING = "procedure_missing"
    DISCHARGE_REPORTED = "discharge_reported"
    ADVERSE_EVENT_TOO_EARLY = "adverse_event_too_early"
    ADVERSE_EVENT_REPORTED = "adverse_event_reported"
    # Withdrawal and incidents
    WITHDRAWAL_UNDER_WAY = "withdrawal_under_way"
    NO_OPEN_INCIDENT = "no_open_incident"
    INCIDENT_SUPERSEDED = "incident_superseded"
    ACTION_NOT_OFFERED = "action_not_offered"
    # FOLLOW_UP
    FOLLOW_UP_NOT_STARTED = "follow_up_not_started"
    NO_SUCH_FOLLOW_UP = "no_such_follow_up"
    FOLLOW_UP_NOT_DUE = "follow_up_not_due"
    FOLLOW_UP_RECORDED = "follow_up_recorded"
    FOLLOW_UP_NOT_OFFERED = "follow_up_not_offered"
    FOLLOW_UP_BOOKING_CLOSED = "follow_up_booking_closed"
    SLOT_GONE = "slot_gone"
    NO_SUCH_REHAB_WEEK = "no_such_rehab_week"
    REHAB_WEEK_NOT_STARTED = "rehab_week_not_started"
    CHECKIN_RECEIVED = "checkin_received"
    NO_REHAB_FOLLOW_UP = "no_rehab_follow_up"
    REHAB_FOLLOW_UP_SUPERSEDED = "rehab_follow_up_superseded"
    # A follow-up outcome's scales (domain/outcome_scales.py), refused by the step's body
    SCORE_OUT_OF_RANGE = "score_out_of_range"
    SCALE_MISSING = "scale_missing"
    # Claims (not the journey's: the API's, before it sends the step a claim keeps)
    CASE_CLAIMED = "case_claimed"
    INCIDENT_CLAIMED = "incident_claimed"
    NOT_CLAIMED = "not_claimed"
    NOT_YOUR_CLAIM = "not_your_claim"


KINDS: dict[RefusalCode, StepError] = {
    RefusalCode.ROLE_NOT_ALLOWED: StepError.FORBIDDEN,
    RefusalCode.SLOT_NOT_OFFERED: StepError.INVALID,
    RefusalCode.CASE_MANAGER_INACTIVE: StepError.INVALID,
    RefusalCode.SPECIALIST_INACTIVE: StepError.INVALID,
    RefusalCode.ARRIVAL_NOT_FUTURE: StepError.INVALID,
    RefusalCode.DEPARTURE_TOO_SOON: StepError.INVALID,
    RefusalCode.ARRIVAL_TOO_SOON: StepError.INVALID,
    RefusalCode.SAME_TRAVEL_DATES: StepError.INVALID,
    RefusalCode.PARTNER_LINK_OTHER_JOURNEY: StepError.FORBIDDEN,
    RefusalCode.ACTION_NOT_OFFERED: StepError.INVALID,
    RefusalCode.NO_SUCH_FOLLOW_UP: StepError.INVALID,
    RefusalCode.NO_SUCH_REHAB_WEEK: StepError.INVALID,
    RefusalCode.SCORE_OUT_OF_RANGE: StepError.INVALID,
    RefusalCode.SCALE_MISSING: StepError.INVALID,
}

# The one English wording of each refusal. Placeholders are `RefusalParams` fields, as
# `_english_values` writes them.
ENGLISH: dict[RefusalCode, str] = {
    RefusalCode.ROLE_NOT_ALLOWED: "only a {roles} can do this step",
    RefusalCode.JOURNEY_ENDED: "the journey has ended ({stage}); {step} is no longer possible",
    RefusalCode.WRONG_STAGE: "{step} belongs to stage {expected_stage}; the journey is at {stage}",
    RefusalCode.NOT_EXPECTED_NOW: "{step} is not expected now: the journey waits on {waiting_on}",
    RefusalCode.ALREADY_REVIEWED: "this case has already been reviewed",
    RefusalCode.CASE_NOT_VALIDATED: "a case manager is assigned once the case is validated",
    RefusalCode.ALREADY_CASE_MANAGER: "{case_manager_id} is already the case manager",
    RefusalCode.CASE_MANAGER_INACTIVE: "{case_manager_id} is not an active case manager; "
    "choose another one",
    RefusalCode.SLOT_TAKEN: "a slot has already been chosen",
    RefusalCode.SLOT_NOT_OFFERED: "that slot was not offered; choose one of the proposed slots",
    RefusalCode.SLOT_PASSED: "that slot has already passed; choose a later one",
    RefusalCode.NO_BOOKED_CONSULT: "{step} needs a booked consultation",
    RefusalCode.CONSULT_SETTLED: "this consultation has already been settled",
    RefusalCode.CONSULT_STARTED: "the consultation has already started; it can no longer be moved",
    RefusalCode.CONSULT_NOT_STARTED: "{step} can be recorded once the consultation has started "
    "({starts_at})",
    RefusalCode.SPECIALIST_INACTIVE: "the specialist of that slot no longer takes "
    "consultations; new times are to be offered",
    RefusalCode.PLAN_DECIDED: "the plan has already been decided",
    RefusalCode.TRAVEL_SENT: "the travel details have already been sent",
    RefusalCode.ARRIVAL_NOT_FUTURE: "the arrival date must be in the future",
    RefusalCode.DEPARTURE_TOO_SOON: "the departure must be at least three days after the "
    "arrival: a day to rest, then the two visit days",
    RefusalCode.NO_VISIT_REQUEST: "no visit request is waiting for the clinic's answer",
    RefusalCode.TRAVEL_NOT_BOOKED: "the dates can be changed once the visit, hotel and "
    "transfer are booked",
    RefusalCode.TRAVEL_CHANGE_UNDER_WAY: "a change of dates is already under way",
    RefusalCode.TRAVEL_CHANGE_CLOSED: "the dates could be changed until {cutoff_at}; the case "
    "manager arranges a change now",
    RefusalCode.ARRIVAL_TOO_SOON: "the new arrival must be on {earliest_arrival} or later, "
    "for the clinic, hotel and transfer to be booked again in time",
    RefusalCode.SAME_TRAVEL_DATES: "these are the dates already booked",
    RefusalCode.NO_PARTNER_REQUEST: "no hotel or transfer request of this journey waits for "
    "this confirmation",
    RefusalCode.PARTNER_CONFIRMED: "this request is already confirmed",
    RefusalCode.PARTNER_LINK_USED: "this confirmation link has been used already",
    RefusalCode.PARTNER_LINK_OTHER_JOURNEY: "this confirmation link belongs to another journey",
    RefusalCode.ADMISSION_REPORTED: "the admission has already been reported",
    RefusalCode.ADMISSION_MISSING: "the procedure comes after the admission, which is not "
    "reported yet",
    RefusalCode.PROCEDURE_REPORTED: "the procedure has already been reported",
    RefusalCode.PROCEDURE_MISSING: "the discharge comes after the procedure, which is not "
    "reported yet",
    RefusalCode.DISCHARGE_REPORTED: "the discharge has already been reported",
    RefusalCode.ADVERSE_EVENT_TOO_EARLY: "adverse events are reported from the treatment visit on",
    RefusalCode.ADVERSE_EVENT_REPORTED: "this adverse event has already been reported",
    RefusalCode.WITHDRAWAL_UNDER_WAY: "the journey is already being withdrawn",
    RefusalCode.NO_OPEN_INCIDENT: "there is no open incident to resolve",
    RefusalCode.INCIDENT_SUPERSEDED: "incident {incident_number} is no longer open; incident "
    "{open_incident} is",
    RefusalCode.ACTION_NOT_OFFERED: "this incident cannot be resolved by {action}: {actions}",
    RefusalCode.FOLLOW_UP_NOT_STARTED: "the follow-up year has not started",
    RefusalCode.NO_SUCH_FOLLOW_UP: "there are {consults} follow-up consults",
    RefusalCode.FOLLOW_UP_NOT_DUE: "follow-up consult {consult_no} is not due until {opens_at}",
    RefusalCode.FOLLOW_UP_RECORDED: "the outcome of follow-up consult {consult_no} is already "
    "recorded",
    RefusalCode.FOLLOW_UP_NOT_OFFERED: "times for follow-up consult {consult_no} are offered "
    "from {opens_at}",
    RefusalCode.FOLLOW_UP_BOOKING_CLOSED: "follow-up consult {consult_no} is not being booked "
    "now: its case manager arranges it",
    RefusalCode.SLOT_GONE: "that time was taken meanwhile; choose another of the times offered",
    RefusalCode.NO_SUCH_REHAB_WEEK: "rehabilitation check-ins run for {weeks} weeks",
    RefusalCode.REHAB_WEEK_NOT_STARTED: "week {week} has not started yet",
    RefusalCode.CHECKIN_RECEIVED: "the check-in for week {week} was already received",
    RefusalCode.NO_REHAB_FOLLOW_UP: "no rehabilitation follow-up is waiting for the case manager",
    RefusalCode.REHAB_FOLLOW_UP_SUPERSEDED: "rehabilitation follow-up {follow_up_no} is no longer "
    "open; follow-up {open_follow_up} is",
    RefusalCode.SCORE_OUT_OF_RANGE: "{scale} is a whole number from {low} to {high}",
    RefusalCode.SCALE_MISSING: "every follow-up outcome records {scale}",
    RefusalCode.CASE_CLAIMED: "{claimed_by} has claimed this case since {claimed_at}, so only "
    "they can review it; the claim lapses at {lapses_at} unless they keep it, and the medical "
    "lead can take it over",
    RefusalCode.INCIDENT_CLAIMED: "{claimed_by} has claimed this incident since {claimed_at}, "
    "so only they can resolve it; the claim lapses at {lapses_at} unless they keep it",
    RefusalCode.NOT_CLAIMED: "nobody holds a claim here to take over",
    RefusalCode.NOT_YOUR_CLAIM: "you hold no claim here to release",
}
