"""Why a journey refuses a step, as a code with parameters: what every surface words.

A workflow validator refuses with a `Refusal`: the code says what went wrong, the parameters
say with what (a step, a stage, a role, a number, a date), never free text and never PHI. The
refusal travels as the details of the validator's `ApplicationError`; the API sends its code
and parameters beside the English message, and each page and email words the code through
the catalogues, so rewording the English changes no page.

The English message (API clients and logs read it) is made here and nowhere else: the code's
template in `domain/refusal_codes.py`, filled with the parameters as `_english_values` writes
them.
"""

from collections.abc import Mapping
from datetime import date, datetime
from enum import StrEnum

from pydantic import BaseModel, ConfigDict, Field

from domain.actors import Role
from domain.errors import StepError
from domain.incidents import IncidentAction
from domain.outcome_scales import ENGLISH as SCALE_ENGLISH
from domain.refusal_codes import ENGLISH, KINDS, RefusalCode
from domain.stages import Stage, WaitingOn
from domain.step_declarations import StepName


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
    cutoff_at: datetime | None = Field(
        default=None, description="until when the travel dates could be changed"
    )
    earliest_arrival: date | None = Field(
        default=None, description="the earliest arrival a change of dates may ask for"
    )
    consult_no: int | None = Field(default=None, description="a follow-up consult's number")
    consults: int | None = Field(default=None, description="how many follow-up consults there are")
    week: int | None = Field(default=None, description="a week of rehabilitation")
    weeks: int | None = Field(default=None, description="how many weeks of check-ins there are")
    incident_number: int | None = Field(default=None, description="the incident named by the step")
    open_incident: int | None = Field(default=None, description="the incident open now")
    follow_up_no: int | None = Field(
        default=None, description="the rehabilitation follow-up named by the step"
    )
    open_follow_up: int | None = Field(
        default=None, description="the rehabilitation follow-up open now"
    )
    scale: str | None = Field(
        default=None,
        description="a follow-up outcome's field: `ais_grade`, `uems`, `lems`, `light_touch`, "
        "`pin_prick` or `scim_total`",
    )
    low: int | None = Field(default=None, description="the lowest score the scale gives")
    high: int | None = Field(default=None, description="the highest score the scale gives")
    action: IncidentAction | None = Field(default=None, description="the resolution asked for")
    actions: tuple[IncidentAction, ...] | None = Field(
        default=None, description="the resolutions the open incident offers"
    )
    claimed_by: str | None = Field(default=None, description="the staff id holding a claim")
    claimed_at: datetime | None = Field(default=None, description="since when they hold it")
    lapses_at: datetime | None = Field(default=None, description="when their claim lapses")


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
    StepName.CHANGE_TRAVEL: "a change of travel dates",
    StepName.PARTNER_CONFIRMATION: "a partner's confirmation",
    StepName.ADMISSION: "an admission",
    StepName.PROCEDURE: "a procedure report",
    StepName.DISCHARGE: "a discharge",
    StepName.ADVERSE_EVENT: "an adverse event",
    StepName.WITHDRAW: "a withdrawal",
    StepName.FOLLOW_UP_OUTCOME: "a follow-up outcome",
    StepName.REHAB_CHECKIN: "a rehabilitation check-in",
    StepName.REHAB_FOLLOW_UP: "a rehabilitation follow-up",
    StepName.BOOK_FOLLOW_UP: "booking a follow-up consult",
    StepName.RESCHEDULE_FOLLOW_UP: "rescheduling a follow-up consult",
    StepName.FOLLOW_UP_NO_SHOW: "a follow-up no-show",
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
        elif name == "scale":
            values[name] = SCALE_ENGLISH.get(value, value)
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
