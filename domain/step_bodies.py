"""What a person sends for a step: the bodies of the API's step routes, which the console's
and the patient page's forms fill in too (domain/step_declarations.py names each step's). The
actor always comes from the token or the session, never from a body."""

from datetime import date
from decimal import Decimal
from typing import Annotated, Any, Literal

from pydantic import (
    BaseModel,
    ConfigDict,
    EmailStr,
    Field,
    StringConstraints,
    ValidationInfo,
    field_validator,
    model_validator,
)
from pydantic_core import PydanticCustomError

from domain.incidents import IncidentAction
from domain.inquiry import PhoneNumber
from domain.outcome_scales import (
    EARLIER_SCORES,
    RANGES,
    REQUIRED,
    SCALE_FIELDS,
    AisGrade,
    NeurologicalLevel,
    Score,
    in_range,
)
from domain.outcome_scales import ENGLISH as SCALE_ENGLISH
from domain.policy import MIN_CELLS
from domain.refusal_codes import ENGLISH, RefusalCode
from domain.rehab import RehabOutcome
from domain.steps import (
    DocumentKind,
    RejectionReason,
    ReviewOutcome,
    WithdrawalReason,
    check_consult_outcome,
    check_review,
    check_stay,
)

Notes = Annotated[str, StringConstraints(max_length=5000)]


class StepBody(BaseModel):
    """Unknown fields refused, text trimmed."""

    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)


class ReviewBody(StepBody):
    outcome: ReviewOutcome
    reason: RejectionReason | None = None
    documents: list[DocumentKind] = Field(default_factory=list, max_length=4)

    @model_validator(mode="after")
    def _consistent(self) -> "ReviewBody":
        check_review(self.outcome, self.reason, self.documents)
        return self


class CaseManagerBody(StepBody):
    case_manager_id: Annotated[str, StringConstraints(min_length=1, max_length=120)]


class ClinicConfirmationBody(StepBody):
    confirmed: bool
    clinic_reference: Annotated[str, StringConstraints(max_length=120)] = ""


class SlotChoiceBody(StepBody):
    slot_id: Annotated[str, StringConstraints(min_length=1, max_length=200)]


class PlanBody(StepBody):
    price: Decimal = Field(ge=0, le=10_000_000, max_digits=12, decimal_places=2)
    currency: Annotated[str, StringConstraints(pattern=r"^[A-Z]{3}$")]
    cells_target: int = Field(default=MIN_CELLS, ge=1, le=10_000_000_000)
    notes: Notes = ""


class ConsultOutcomeBody(StepBody):
    eligible: bool
    reason: RejectionReason | None = None
    plan: PlanBody | None = None

    @model_validator(mode="after")
    def _consistent(self) -> "ConsultOutcomeBody":
        check_consult_outcome(self.eligible, self.plan, self.reason, "the treatment plan")
        return self


class PlanDecisionBody(StepBody):
    accept: bool


class TravelBody(StepBody):
    arrival_date: date
    departure_date: date
    needs_visa: bool = False
    arrival_flight: Annotated[str, StringConstraints(max_length=20)] = ""
    departure_flight: Annotated[str, StringConstraints(max_length=20)] = ""
    companions: int = Field(default=0, ge=0, le=5)
    notes: Notes = ""

    @model_validator(mode="after")
    def _order(self) -> "TravelBody":
        check_stay(self.arrival_date, self.departure_date)
        return self


class PartnerConfirmationBody(StepBody):
    """A partner's answer to a request: which booking, its reference, and who confirmed."""

    booking: Literal["hotel", "transfer"]
    reference: Annotated[str, StringConstraints(min_length=1, max_length=120)]
    confirmed_by: Annotated[str, StringConstraints(min_length=1, max_length=120)]


Score10 = Annotated[int, Field(ge=0, le=10)]


def _scale(score: Score | None = None) -> Any:
    """A field of the scales, its range in the OpenAPI document; the body's validator checks
    it (and whether it is there), to refuse it by a refusal's code."""
    if score is None:
        return Field(default=None, validate_default=True)
    limits = RANGES[score]
    return Field(
        default=None,
        validate_default=True,
        json_schema_extra={"minimum": limits.low, "maximum": limits.high},
    )


def _refused(code: RefusalCode, **params: object) -> PydanticCustomError:
    """A refusal of the body, typed by its code and carrying its parameters, so that every
    page words it without reading the English."""
    english = ENGLISH[code].format_map(
        {k: SCALE_ENGLISH.get(str(v), v) if k == "scale" else v for k, v in params.items()}
    )
    return PydanticCustomError(code.value, english, params)


def _whole_number(value: object) -> int | None:
    if isinstance(value, int) and not isinstance(value, bool):
        return value
    if isinstance(value, str) and value.strip().isdecimal():
        return int(value.strip())
    return None


class FollowUpOutcomeBody(StepBody):
    """A follow-up consult's outcome on the scales of domain/outcome_scales.py: the ASIA
    Impairment Scale grade and the ISNCSCI motor and sensory scores always, the neurological
    level and the SCIM III total when assessed; each score a whole number within its scale.
    The 0 to 10 scores of earlier outcomes may be given beside them."""

    model_config = ConfigDict(
        json_schema_extra={"required": list(REQUIRED)},
    )

    ais_grade: AisGrade | None = _scale()
    neurological_level: NeurologicalLevel | None = None
    uems: int | None = _scale(Score.UEMS)
    lems: int | None = _scale(Score.LEMS)
    light_touch: int | None = _scale(Score.LIGHT_TOUCH)
    pin_prick: int | None = _scale(Score.PIN_PRICK)
    scim_total: int | None = _scale(Score.SCIM_TOTAL)
    trunk_control: Score10 | None = None
    sitting_balance: Score10 | None = None
    standing_balance: Score10 | None = None
    spasticity: Score10 | None = None
    sensation: Score10 | None = None
    bladder: Score10 | None = None
    postural_hypotension: bool | None = None
    notes: Notes = ""

    @field_validator("ais_grade", mode="before")
    @classmethod
    def _graded(cls, value: object) -> object:
        if value is None or value == "":
            raise _refused(RefusalCode.SCALE_MISSING, scale="ais_grade")
        return value.strip().upper() if isinstance(value, str) else value

    @field_validator(*Score, mode="before")
    @classmethod
    def _scored(cls, value: object, info: ValidationInfo) -> int | None:
        score = Score(str(info.field_name))
        if value is None or value == "":
            if score in REQUIRED:
                raise _refused(RefusalCode.SCALE_MISSING, scale=score.value)
            return None
        number = _whole_number(value)
        if number is None or not in_range(score, number):
            limits = RANGES[score]
            raise _refused(
                RefusalCode.SCORE_OUT_OF_RANGE, scale=score.value, low=limits.low, high=limits.high
            )
        return number

    def record(self) -> dict[str, str | int | bool]:
        """What the outcome's record stores, by column: every scale and score given."""
        names = (*SCALE_FIELDS, *EARLIER_SCORES, "postural_hypotension")
        values = {name: getattr(self, name) for name in names}
        return {str(name): value for name, value in values.items() if value is not None}


class RehabCheckinBody(StepBody):
    week: int = Field(ge=1, le=60)
    walking_hours_per_day: Decimal = Field(ge=0, le=24, max_digits=4, decimal_places=1)
    days_per_week: int = Field(ge=0, le=7)
    notes: Notes = ""


class RehabFollowUpBody(StepBody):
    """What a case manager agreed with a patient whose rehabilitation fell behind: a coded
    outcome and a note, stored in PostgreSQL; the follow-up it closes, from the journey's
    status (`rehab_follow_up.number`), so that a newer one is not closed by mistake."""

    follow_up_no: int = Field(ge=1, le=1000)
    outcome: RehabOutcome
    note: Annotated[str, StringConstraints(min_length=1, max_length=5000)]


class WithdrawalBody(StepBody):
    reason: WithdrawalReason = WithdrawalReason.PATIENT_REQUEST

    @model_validator(mode="after")
    def _plain_reason(self) -> "WithdrawalBody":
        # These end the journey and record more: the consent's withdrawal, or an erasure.
        if self.reason is WithdrawalReason.CONSENT_WITHDRAWN:
            raise ValueError("withdraw consent with POST …/consent/withdrawal")
        if self.reason is WithdrawalReason.DATA_ERASURE:
            raise ValueError("a privacy officer erases with POST …/erasure")
        return self


class IncidentResolutionBody(StepBody):
    action: IncidentAction
    incident_number: int | None = Field(
        default=None,
        ge=1,
        description="the incident you are resolving (from the journey's status); when given, "
        "a newer incident is not resolved by mistake",
    )


class ContactBody(StepBody):
    """The patient's corrected contact details; what is left out stays as it was."""

    email: EmailStr | None = None
    phone: PhoneNumber | None = None

    @model_validator(mode="after")
    def _something(self) -> "ContactBody":
        if self.email is None and self.phone is None:
            raise ValueError("send the corrected email, phone or both")
        return self


class ClinicProcedure(StepBody):
    cells_given: int = Field(ge=0, le=10_000_000_000)
    route: Annotated[str, StringConstraints(min_length=1, max_length=40)] = "intrathecal"
    minutes: int = Field(ge=1, le=600)
    lot: Annotated[str, StringConstraints(min_length=1, max_length=60)]
    notes: Notes = ""


class ClinicAdverseEvent(StepBody):
    severity: Literal["mild", "moderate", "severe", "life_threatening"]
    description: Annotated[str, StringConstraints(min_length=1, max_length=5000)]
