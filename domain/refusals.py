"""Why a journey refuses a step, as a code with parameters: what every surface words.

A workflow validator refuses with a `Refusal`: the code says what went wrong, the parameters
say with what (a step, a stage, a role, a number, a date), never free text and never PHI. The
refusal travels as the details of the validator's `ApplicationError`; the API sends its code
and parameters beside the English message, and each page and email words the code through
the catalogues, so rewording the English below changes no page.

The English message is made here, from the code and parameters, and nowhere else: API
clients and logs read it.
"""

from collections.abc import Mapping
from datetime import date, datetime
from enum import StrEnum

from pydantic import BaseModel, ConfigDict, Field

from domain.actors import Role
from domain.errors import StepError
from domain.incidents import IncidentAction
from domain.stages import Stage, WaitingOn
from domain.step_roles import StepName


class RefusalCode(StrEnum):
    """Every reason a journey (or the API, for the follow-up year) refuses a step."""

    # Any step
    ROLE_NOT_ALLOWED = "role_not_allowed"
    JOURNEY_ENDED = "journey_ended"
    WRONG_STAGE = "wrong_stage"
    NOT_EXPECTED_NOW = "not_expected_now"
    # VALIDATION and CASE_MANAGER
    ALREADY_REVIEWED = "already_reviewed"
    CASE_NOT_VALIDATED = "case_not_validated"
    ALREADY_CASE_MANAGER = "already_case_manager"
    # TELECONSULT
    SLOT_TAKEN = "slot_taken"
    SLOT_NOT_OFFERED = "slot_not_offered"
    SLOT_PASSED = "slot_passed"
    NO_BOOKED_CONSULT = "no_booked_consult"
    CONSULT_SETTLED = "consult_settled"
    CONSULT_STARTED = "consult_started"
    CONSULT_NOT_STARTED = "consult_not_started"
    # PLAN and TRAVEL
    PLAN_DECIDED = "plan_decided"
    TRAVEL_SENT = "travel_sent"
    ARRIVAL_NOT_FUTURE = "arrival_not_future"
    DEPARTURE_TOO_SOON = "departure_too_soon"
    NO_VISIT_REQUEST = "no_visit_request"
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
    NO_SUCH_REHAB_WEEK = "no_such_rehab_week"
    REHAB_WEEK_NOT_STARTED = "rehab_week_not_started"
    CHECKIN_RECEIVED = "checkin_received"


class RefusalParams(BaseModel):
    """What a refusal names, each a coded value or a number; only those a code uses are set."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    step: StepName | None = Field(default=None, description="the step refused")
    stage: Stage | None = Field(default=None, description="the journey's stage now")
    expected_stage: Stage | None = Field(default=None, description="the stage the step belongs to")
    waiting_on: WaitingOn | None = Field(default=None, description="whom the journey waits on now")
    roles: tuple[Role, ...] | None = Field(
        default=None, description="the roles that may take the step"
    )
    case_manager_id: str | None = Field(default=None, description="a member of staff's id")
    starts_at: datetime | None = Field(default=None, description="when the consultation starts")
    opens_at: datetime | None = Field(default=None, description="when the step can first be taken")
    consult_no: int | None = Field(default=None, description="a follow-up consult's number")
    consults: int | None = Field(default=None, description="how many follow-up consults there are")
    week: int | None = Field(default=None, description="a week of rehabilitation")
    weeks: int | None = Field(default=None, description="how many weeks of check-ins there are")
    incident_number: int | None = Field(default=None, description="the incident named by the step")
    open_incident: int | None = Field(default=None, description="the incident open now")
    action: IncidentAction | None = Field(default=None, description="the resolution asked for")
    actions: tuple[IncidentAction, ...] | None = Field(
        default=None, description="the resolutions the open incident offers"
    )


class Refusal(BaseModel):
    """A refused step: its code and what the code names."""

    model_config = ConfigDict(frozen=True)

    code: RefusalCode
    params: RefusalParams = Field(default_factory=RefusalParams)

    @classmethod
    def of(cls, code: RefusalCode, **params: object) -> "Refusal":
        return cls(code=code, params=RefusalParams.model_validate(params))

    @property
    def kind(self) -> StepError:
        """How the refusal reads over HTTP: not now (409), bad data (422), not you (403)."""
        return KINDS.get(self.code, StepError.REFUSED)

    @property
    def english(self) -> str:
        """The refusal in English, for API clients and logs."""
        return ENGLISH[self.code].format_map(_english_values(self.params))


KINDS: dict[RefusalCode, StepError] = {
    RefusalCode.ROLE_NOT_ALLOWED: StepError.FORBIDDEN,
    RefusalCode.SLOT_NOT_OFFERED: StepError.INVALID,
    RefusalCode.ARRIVAL_NOT_FUTURE: StepError.INVALID,
    RefusalCode.DEPARTURE_TOO_SOON: StepError.INVALID,
    RefusalCode.ACTION_NOT_OFFERED: StepError.INVALID,
    RefusalCode.NO_SUCH_FOLLOW_UP: StepError.INVALID,
    RefusalCode.NO_SUCH_REHAB_WEEK: StepError.INVALID,
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
    RefusalCode.SLOT_TAKEN: "a slot has already been chosen",
    RefusalCode.SLOT_NOT_OFFERED: "that slot was not offered; choose one of the proposed slots",
    RefusalCode.SLOT_PASSED: "that slot has already passed; choose a later one",
    RefusalCode.NO_BOOKED_CONSULT: "{step} needs a booked consultation",
    RefusalCode.CONSULT_SETTLED: "this consultation has already been settled",
    RefusalCode.CONSULT_STARTED: "the consultation has already started; it can no longer be moved",
    RefusalCode.CONSULT_NOT_STARTED: "{step} can be recorded once the consultation has started "
    "({starts_at})",
    RefusalCode.PLAN_DECIDED: "the plan has already been decided",
    RefusalCode.TRAVEL_SENT: "the travel details have already been sent",
    RefusalCode.ARRIVAL_NOT_FUTURE: "the arrival date must be in the future",
    RefusalCode.DEPARTURE_TOO_SOON: "the departure must be at least three days after the "
    "arrival: a day to rest, then the two visit days",
    RefusalCode.NO_VISIT_REQUEST: "no visit request is waiting for the clinic's answer",
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
    RefusalCode.NO_SUCH_REHAB_WEEK: "rehabilitation check-ins run for {weeks} weeks",
    RefusalCode.REHAB_WEEK_NOT_STARTED: "week {week} has not started yet",
    RefusalCode.CHECKIN_RECEIVED: "the check-in for week {week} was already received",
}

# Each step as the English messages name it ("{step} belongs to stage …").
STEP_ENGLISH: dict[StepName, str] = {
    StepName.REVIEW: "a case review",
    StepName.DOCUMENTS: "sending documents",
    StepName.CASE_MANAGER: "assigning a case manager",
    StepName.BOOK_CONSULT: "booking a consultation",
    StepName.RESCHEDULE_CONSULT: "rescheduling",
    StepName.CONSULT_OUTCOME: "a consultation outcome",
    StepName.NO_SHOW: "a no-show",
    StepName.PLAN_DECISION: "a decision on the plan",
    StepName.TRAVEL: "travel details",
    StepName.CLINIC_CONFIRMATION: "the clinic's answer",
    StepName.ADMISSION: "an admission",
    StepName.PROCEDURE: "a procedure report",
    StepName.DISCHARGE: "a discharge",
    StepName.ADVERSE_EVENT: "an adverse event",
    StepName.WITHDRAW: "a withdrawal",
    StepName.FOLLOW_UP_OUTCOME: "a follow-up outcome",
    StepName.REHAB_CHECKIN: "a rehabilitation check-in",
    StepName.RESOLVE_INCIDENT: "resolving an incident",
}


def _english_values(params: RefusalParams) -> Mapping[str, object]:
    """Each parameter as the English messages write it."""
    values: dict[str, object] = {}
    for name, value in params:
        if value is None:
            continue
        if isinstance(value, StepName):
            values[name] = STEP_ENGLISH.get(value, value.value.replace("_", " "))
        elif isinstance(value, datetime) and name == "opens_at":
            values[name] = f"{value:%d %b %Y}"
        elif isinstance(value, datetime):
            values[name] = f"{value:%Y-%m-%d %H:%M} UTC"
        elif isinstance(value, date):
            values[name] = f"{value:%d %b %Y}"
        elif name == "roles":
            values[name] = " or ".join(sorted(r.value.replace("_", " ") for r in value))
        elif name == "actions":
            values[name] = ", ".join(a.value for a in value)
        elif isinstance(value, StrEnum):
            values[name] = value.value
        else:
            values[name] = value
    return values


def refusal_from_details(details: object) -> Refusal | None:
    """The refusal an ApplicationError's details carry, as a client decodes them; None when
    they carry none (a failure that is not a validator's refusal)."""
    if not isinstance(details, list | tuple) or not details:
        return None
    first = details[0]
    if isinstance(first, Refusal):
        return first
    if not isinstance(first, dict):
        return None
    try:
        return Refusal.model_validate(first)
    except ValueError:
        return None
