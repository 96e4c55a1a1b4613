"""What the patient's page says after a form: the confirmation, or the refusal in the patient's
language.

A journey refuses a step with a message its validator words in English for whoever tried
(`workflows/checks.py`, `workflows/rules.py`, the follow-up year's validators). The API passes
that message on as it is; the page matches it against the patterns below and shows the
catalogue's sentence for it, in the patient's language, with the numbers it carried. A message
no pattern knows still reaches the patient, after a translated sentence saying the step was not
taken.
"""

import re
from dataclasses import dataclass, field

from pydantic import ValidationError
from temporalio.client import WorkflowUpdateFailedError
from temporalio.service import RPCError

from api.problems import ProblemError
from api.step_access import FOLLOW_UP_NOT_STARTED
from api.uploads import UploadProblem
from i18n import N_, translations


@dataclass(frozen=True)
class Outcome:
    """The answer to a form: `ok` shows as a confirmation (a status), else as a refusal (an
    alert); `status` is the HTTP status of the page that shows it."""

    ok: bool
    title: str
    lines: list[str] = field(default_factory=list)
    status: int = 200
    # The journey's own words, when no pattern below translated them.
    original: str = ""


SLOT_TAKEN = N_(
    "A time for your consultation has already been booked, perhaps by our team. "
    "The page shows the booking."
)
_NOT_NOW = N_("Your journey is not waiting for this step now. The page shows where it is.")
# The journey's refusals a patient can meet, by the English its validators write.
REFUSALS: list[tuple[re.Pattern[str], str]] = [
    (re.compile(r"^the journey has (already )?ended\b"), N_("Your journey has already ended.")),
    (re.compile(r"^the journey is already being withdrawn$"), N_("Your journey is being closed.")),
    (re.compile(r" belongs to stage \w+; the journey is at \w+$"), _NOT_NOW),
    (re.compile(r" is not expected now: the journey waits on \w+$"), _NOT_NOW),
    (re.compile(r"^a slot has already been chosen$"), SLOT_TAKEN),
    (
        re.compile(r"^that slot was not offered"),
        N_("That time is no longer offered. Please choose one of the times shown."),
    ),
    (
        re.compile(r"^that slot has already passed"),
        N_("That time has already passed. Please choose a later one."),
    ),
    (
        re.compile(r"^the consultation has already started"),
        N_("Your consultation has already started, so it can no longer be moved."),
    ),
    (
        re.compile(r" needs a booked consultation$"),
        N_("There is no booked consultation to move."),
    ),
    (
        re.compile(r"^this consultation has already been settled$"),
        N_("This consultation has already been settled."),
    ),
    (
        re.compile(r"^the plan has already been decided$"),
        N_("You have already given your answer to the plan."),
    ),
    (
        re.compile(r"^the travel details have already been sent$"),
        N_("Your travel details have already been sent."),
    ),
    (
        re.compile(r"^the arrival date must be in the future$"),
        N_("The arrival date must be in the future."),
    ),
    (
        re.compile(r"^the departure must be at least three days after the arrival"),
        N_(
            "The departure must be at least three days after the arrival: a day to rest, then "
            "the two days of the visit."
        ),
    ),
    (
        re.compile(r"^week (?P<week>\d+) has not started yet$"),
        N_("Week %(week)s has not started yet: you can send its check-in once it has begun."),
    ),
    (
        re.compile(r"^the check-in for week (?P<week>\d+) was already received$"),
        N_("We already have your check-in for week %(week)s."),
    ),
    (
        re.compile(r"^rehabilitation check-ins run for (?P<weeks>\d+) weeks$"),
        N_("Rehabilitation check-ins run for %(weeks)s weeks."),
    ),
    (
        re.compile(r"^the follow-up year has not started$"),
        N_("Your follow-up year has not started yet."),
    ),
]
_PROBLEMS: dict[str, str] = {
    UploadProblem.COUNT: N_("Please choose between 1 and 10 files."),
    UploadProblem.TYPE: N_(
        "%(file)s is not a file we can accept. Please send PDF, JPEG, PNG, DICOM or ZIP files."
    ),
    UploadProblem.EMPTY: N_("%(file)s is empty. Please choose the file again."),
    UploadProblem.TOO_LARGE: N_(
        "The files are too large: together they may hold at most %(limit)s."
    ),
    FOLLOW_UP_NOT_STARTED: N_("Your follow-up year has not started yet."),
}


def refusal_text(message: str, language: str) -> str | None:
    """The patient's sentence for a refusal the journey worded in English, if one is known."""
    for pattern, text in REFUSALS:
        found = pattern.search(message)
        if found:
            return translations(language).gettext(text) % found.groupdict()
    return None


def refused(language: str, lines: list[str], *, status: int, original: str = "") -> Outcome:
    words = translations(language)
    title = words.gettext("Not done: nothing was changed.")
    return Outcome(ok=False, title=title, lines=lines, status=status, original=original)


def journey_refusal(err: WorkflowUpdateFailedError, language: str) -> Outcome:
    cause = err.cause
    message = str(getattr(cause, "message", None) or cause)
    known = refusal_text(message, language)
    status = 422 if getattr(cause, "type", None) == "InvalidStep" else 409
    if known is not None:
        return refused(language, [known], status=status)
    words = translations(language)
    general = words.gettext("Your journey could not take this step. It answered:")
    return refused(language, [general], status=status, original=message)


def problem_refusal(err: ProblemError, language: str, **values: str) -> Outcome:
    """A problem raised by the step code: an upload refused, or the journey not answering."""
    words = translations(language)
    text = _PROBLEMS.get(err.type_)
    if text is not None:
        return refused(language, [words.gettext(text) % values], status=err.status)
    if err.status == 504:
        return Outcome(
            ok=False,
            title=words.gettext("We have no answer from your journey yet."),
            lines=[
                words.gettext(
                    "Your request was sent and may have been taken. Please check the page in a "
                    "few minutes before sending it again."
                )
            ],
            status=504,
        )
    known = refusal_text(err.detail or "", language)
    if known is not None:
        return refused(language, [known], status=err.status)
    general = words.gettext("Your journey could not take this step. It answered:")
    return refused(language, [general], status=err.status, original=err.detail or err.title)


def unavailable(err: RPCError, language: str) -> Outcome:
    words = translations(language)
    return Outcome(
        ok=False,
        title=words.gettext("We could not reach your journey just now."),
        lines=[
            words.gettext(
                "Your request may not have been taken. Please check the page in a few minutes "
                "before sending it again."
            )
        ],
        status=503,
    )


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
        message = str(error.get("msg", "")).removeprefix("Value error, ")
        found.setdefault(name, refusal_text(message, language) or message)
    return found
