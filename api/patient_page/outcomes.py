"""What the patient's page says after a form: the confirmation, or the refusal in the patient's
language.

A journey refuses a step with a coded `Refusal` (`domain/refusals.py`); the page words its code
from the catalogue, in the patient's language, with the numbers it names. A refused step whose
code the page has no words of its own for says that the journey is not waiting for it; a failure
that carries no code at all still reaches the patient, after a translated sentence saying the
step was not taken.
"""

from dataclasses import dataclass, field

from pydantic import ValidationError
from temporalio.client import WorkflowUpdateFailedError
from temporalio.service import RPCError

from api.problems import ProblemError, refusal_of
from api.uploads import UploadProblem
from domain.errors import StepError
from domain.refusals import Refusal, RefusalCode
from i18n import N_, format_day, format_moment, translations


@dataclass(frozen=True)
class Outcome:
    """The answer to a form: `ok` shows as a confirmation (a status), else as a refusal (an
    alert); `status` is the HTTP status of the page that shows it."""

    ok: bool
    title: str
    lines: list[str] = field(default_factory=list)
    status: int = 200
    # What a failure without a refusal's code said, passed on as it came.
    original: str = ""


SLOT_TAKEN = N_(
    "A time for your consultation has already been booked, perhaps by our team. "
    "The page shows the booking."
)
_NOT_NOW = N_("Your journey is not waiting for this step now. The page shows where it is.")
# The journey's refusals a patient can meet, by code; `%(name)s` is the refusal's parameter.
REFUSALS: dict[RefusalCode, str] = {
    RefusalCode.JOURNEY_ENDED: N_("Your journey has already ended."),
    RefusalCode.WITHDRAWAL_UNDER_WAY: N_("Your journey is being closed."),
    RefusalCode.WRONG_STAGE: _NOT_NOW,
    RefusalCode.NOT_EXPECTED_NOW: _NOT_NOW,
    RefusalCode.SLOT_TAKEN: SLOT_TAKEN,
    RefusalCode.SLOT_NOT_OFFERED: N_(
        "That time is no longer offered. Please choose one of the times shown."
    ),
    RefusalCode.SLOT_PASSED: N_("That time has already passed. Please choose a later one."),
    RefusalCode.SPECIALIST_INACTIVE: N_(
        "That time is no longer available: the specialist can no longer see you then. We "
        "will send you new times."
    ),
    RefusalCode.CONSULT_STARTED: N_(
        "Your consultation has already started, so it can no longer be moved."
    ),
    RefusalCode.NO_BOOKED_CONSULT: N_("There is no booked consultation to move."),
    RefusalCode.CONSULT_SETTLED: N_("This consultation has already been settled."),
    RefusalCode.PLAN_DECIDED: N_("You have already given your answer to the plan."),
    RefusalCode.TRAVEL_SENT: N_("Your travel details have already been sent."),
    RefusalCode.ARRIVAL_NOT_FUTURE: N_("The arrival date must be in the future."),
    RefusalCode.DEPARTURE_TOO_SOON: N_(
        "The departure must be at least three days after the arrival: a day to rest, then "
        "the two days of the visit."
    ),
    RefusalCode.TRAVEL_NOT_BOOKED: N_(
        "Your dates can be changed here once your visit, hotel and transfers are booked."
    ),
    RefusalCode.TRAVEL_CHANGE_UNDER_WAY: N_(
        "We are already changing your dates. The page shows how far it has come."
    ),
    RefusalCode.TRAVEL_CHANGE_CLOSED: N_(
        "Your dates could be changed here until %(cutoff_at)s. Please call or write to your "
        "case manager, who will arrange the change with you."
    ),
    RefusalCode.ARRIVAL_TOO_SOON: N_(
        "The new arrival must be on %(earliest_arrival)s or later, so that we can book the "
        "clinic, the hotel and the transfers again in time."
    ),
    RefusalCode.SAME_TRAVEL_DATES: N_("These are the dates already booked for you."),
    RefusalCode.REHAB_WEEK_NOT_STARTED: N_(
        "Week %(week)s has not started yet: you can send its check-in once it has begun."
    ),
    RefusalCode.CHECKIN_RECEIVED: N_("We already have your check-in for week %(week)s."),
    RefusalCode.NO_SUCH_REHAB_WEEK: N_("Rehabilitation check-ins run for %(weeks)s weeks."),
    RefusalCode.FOLLOW_UP_NOT_STARTED: N_("Your follow-up year has not started yet."),
    RefusalCode.FOLLOW_UP_NOT_OFFERED: N_(
        "Times for follow-up consultation %(consult_no)s are offered from %(opens_at)s: we will "
        "email them to you."
    ),
    RefusalCode.FOLLOW_UP_BOOKING_CLOSED: N_(
        "Follow-up consultation %(consult_no)s is no longer booked here: your case manager will "
        "arrange it with you."
    ),
    RefusalCode.FOLLOW_UP_RECORDED: N_(
        "Your follow-up consultation %(consult_no)s has already taken place."
    ),
    RefusalCode.SLOT_GONE: N_(
        "That time was taken by someone else a moment ago. Please choose another of the times "
        "shown."
    ),
}
_PROBLEMS: dict[str, str] = {
    UploadProblem.COUNT: N_("Please choose between 1 and 10 files."),
    UploadProblem.TYPE: N_(
        "%(file)s is not a file we can accept. Please send PDF, JPEG, PNG, DICOM or ZIP files."
    ),
    UploadProblem.EMPTY: N_("%(file)s is empty. Please choose the file again."),
    UploadProblem.TOO_LARGE: N_(
        "The files are too large: together they may hold at most %(limit)s."
    ),
}


def refusal_text(refusal: Refusal, language: str, tz: str = "UTC") -> str:
    """The patient's sentence for a refusal of the journey's, in `language`; a time or day it
    names is on the patient's clock (`tz`)."""
    text = REFUSALS.get(refusal.code, _NOT_NOW)
    values: dict[str, object] = refusal.params.model_dump(exclude_none=True)
    params = refusal.params
    if params.opens_at is not None:
        values["opens_at"] = format_day(params.opens_at, language, tz)
    if params.cutoff_at is not None:
        values["cutoff_at"] = format_moment(params.cutoff_at, language, tz)
    if params.earliest_arrival is not None:
        values["earliest_arrival"] = format_day(params.earliest_arrival, language)
    return translations(language).gettext(text) % values


def refused(language: str, lines: list[str], *, status: int, original: str = "") -> Outcome:
    words = translations(language)
    title = words.gettext("Not done: nothing was changed.")
    return Outcome(ok=False, title=title, lines=lines, status=status, original=original)


def journey_refusal(err: WorkflowUpdateFailedError, language: str, tz: str = "UTC") -> Outcome:
    refusal = refusal_of(err)
    if refusal is not None:
        status = 422 if refusal.kind is StepError.INVALID else 409
        return refused(language, [refusal_text(refusal, language, tz)], status=status)
    cause = err.cause
    message = str(getattr(cause, "message", None) or cause)
    status = 422 if getattr(cause, "type", None) == StepError.INVALID else 409
    words = translations(language)
    general = words.gettext("Your journey could not take this step. It answered:")
    return refused(language, [general], status=status, original=message)


def problem_refusal(err: ProblemError, language: str, **values: str) -> Outcome:
    """A problem raised by the step code: an upload refused, a step the journey cannot take
    yet, or the journey not answering."""
    words = translations(language)
    if err.refusal is not None:
        return refused(language, [refusal_text(err.refusal, language)], status=err.status)
    text = _PROBLEMS.get(err.type_)
    if text is not None:
        return refused(language, [words.gettext(text) % values], status=err.status)
    if err.status == 504:
        return _not_known(504, language)
    general = words.gettext("Your journey could not take this step. It answered:")
    return refused(language, [general], status=err.status, original=err.detail or err.title)


def unavailable(err: RPCError, language: str) -> Outcome:
    return _not_known(503, language)


# A step whose fate the page cannot know yet, by the page's status: the journey did not answer
# in time (504), or could not be reached (503).
_NOT_KNOWN = {
    504: (
        N_("We have no answer from your journey yet."),
        N_(
            "Your request was sent and may have been taken. Please check the page in a few "
            "minutes before sending it again."
        ),
    ),
    503: (
        N_("We could not reach your journey just now."),
        N_(
            "Your request may not have been taken. Please check the page in a few minutes "
            "before sending it again."
        ),
    ),
}


def _not_known(status: int, language: str) -> Outcome:
    words = translations(language)
    title, line = _NOT_KNOWN[status]
    return Outcome(ok=False, title=words.gettext(title), lines=[words.gettext(line)], status=status)


# What each form field must hold, in the patient's words, when it does not.
FIELD_MESSAGES: dict[str, str] = {
    "arrival_date": N_("Enter your arrival date."),
    "departure_date": N_("Enter your departure date."),
    "arrival_flight": N_("A flight number has at most 20 characters."),
    "departure_flight": N_("A flight number has at most 20 characters."),
    "companions": N_("Up to 5 people can travel with you."),
    "week": N_("Enter the week as a number from 1 to 60."),
    "walking_hours_per_day": N_("Enter the hours as a number from 0 to 24, such as 5.5."),
    "days_per_week": N_("Enter the days as a number from 0 to 7."),
    "notes": N_("Notes can be at most 5000 characters."),
}


def field_errors(err: ValidationError, language: str) -> dict[str, str]:
    """Each invalid field's message; what concerns the form as a whole is under ``."""
    words = translations(language)
    found: dict[str, str] = {}
    for error in err.errors():
        name = str(error["loc"][0]) if error["loc"] else ""
        if name in FIELD_MESSAGES:
            found.setdefault(name, words.gettext(FIELD_MESSAGES[name]))
            continue
        kind = str(error.get("type", ""))
        if kind in RefusalCode._value2member_map_:
            found.setdefault(name, refusal_text(Refusal.of(RefusalCode(kind)), language))
            continue
        message = str(error.get("msg", "")).removeprefix("Value error, ")
        found.setdefault(name, message)
    return found
