"""The page's forms: each reads its fields, takes its step as the JSON API does
(`api/step_taking.py`), and words the confirmation. Refusals are raised for the route to word,
as the API's are."""

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from fastapi import Request
from pydantic import ValidationError
from starlette.datastructures import FormData, UploadFile
from temporalio.client import WorkflowUpdateFailedError

from api.form_bodies import body_from_form
from api.patient_page.outcomes import SLOT_TAKEN, Outcome, field_errors, refused
from api.patient_page.view import Words
from api.step_access import Answer, JourneyStep
from api.step_taking import Documents, Numbered, take
from api.uploads import MAX_FILES, read_uploads
from db.patient_page import PatientPageRepository
from domain.follow_up import FollowUpStatus
from domain.records import BookingKind
from domain.rehab import short_of_six
from domain.step_bodies import (
    PlanDecisionBody,
    RehabCheckinBody,
    SlotChoiceBody,
    TravelBody,
    WithdrawalBody,
)
from domain.step_declarations import StepName
from domain.steps import DocumentKind, WithdrawalReason
from i18n import N_, language_name, supported_languages, translations
from workflows.journey import PatientJourney

if TYPE_CHECKING:
    from api.patient_page.access import OpenLink

# One file input per kind of document, each taking up to MAX_FILES files.
MAX_FILES_PER_FORM = MAX_FILES * len(DocumentKind)
# Fields whose values a refused form shows again; files and tokens are never echoed.
ECHOED = (
    "arrival_date",
    "departure_date",
    "arrival_flight",
    "departure_flight",
    "needs_visa",
    "companions",
    "week",
    "walking_hours_per_day",
    "days_per_week",
    "notes",
)


@dataclass(frozen=True)
class Submitted:
    """A form sent by a patient whose link and form token passed: the step it takes, its
    fields, and the patient's words."""

    step: JourneyStep
    form: FormData
    words: Words


@dataclass
class FormAnswer:
    """What a form's step came to: the outcome, and the form's fields to show again with
    their errors when it was refused."""

    outcome: Outcome
    errors: dict[str, str] = field(default_factory=dict)
    values: dict[str, Any] = field(default_factory=dict)


def text(form: FormData, name: str) -> str:
    value = form.get(name)
    return value.strip() if isinstance(value, str) else ""


def values_of(form: FormData) -> dict[str, Any]:
    return {name: text(form, name) for name in ECHOED if name in form}


def invalid(
    err: ValidationError, form: FormData, words: Words, *, whole_form: str = ""
) -> FormAnswer:
    """A form whose fields the step's model refused: each field's message beside it, and
    what concerns the form as a whole at the top, and beside `whole_form` if named."""
    errors = field_errors(err, words.language)
    lines = [words.gettext("Please correct what is marked below.")]
    if "" in errors:
        lines = [errors.pop("")]
        if whole_form:
            errors.setdefault(whole_form, lines[0])
    return FormAnswer(refused(words.language, lines, status=422), errors, values_of(form))


def done(title: str, *lines: str) -> FormAnswer:
    return FormAnswer(Outcome(ok=True, title=title, lines=list(lines)))


async def upload_documents(sent_form: Submitted) -> FormAnswer:
    step, form, words = sent_form.step, sent_form.form, sent_form.words
    sent: list[tuple[DocumentKind, UploadFile]] = [
        (kind, upload)
        for kind in DocumentKind
        for upload in form.getlist(f"files_{kind.value}")
        if isinstance(upload, UploadFile) and upload.filename
    ]
    uploads = await read_uploads([u for _, u in sent], max_bytes=sent_form.step.upload_bytes)
    await take(
        StepName.DOCUMENTS,
        step,
        Documents([(kind, upload) for (kind, _), upload in zip(sent, uploads, strict=True)]),
    )
    names = ", ".join(u.filename for u in uploads)
    title = translations(words.language).ngettext(
        "Thank you: we received %(n)s file.",
        "Thank you: we received %(n)s files.",
        len(uploads),
    ) % {"n": len(uploads)}
    return done(
        title, names, words.gettext("A medical reviewer will now read them with your case.")
    )


def _chosen_slot(sent: Submitted) -> SlotChoiceBody | FormAnswer:
    """The time the form chose, or the form again asking for one."""
    slot_id = text(sent.form, "slot_id")
    if not slot_id:
        words = sent.words
        choose = words.gettext("Please choose one of the times.")
        return FormAnswer(refused(words.language, [choose], status=422))
    return SlotChoiceBody(slot_id=slot_id)


async def book_consult(sent: Submitted) -> FormAnswer:
    step, words = sent.step, sent.words
    chosen = _chosen_slot(sent)
    if isinstance(chosen, FormAnswer):
        return chosen
    try:
        answer: Answer = await take(StepName.BOOK_CONSULT, step, chosen)
    except WorkflowUpdateFailedError:
        # Someone else (a coordinator on the phone, another tab) booked a time meanwhile: the
        # journey refuses because it now waits on the specialist; say what happened.
        status = await step.handle.query(PatientJourney.status)
        if any(b.kind is BookingKind.CONSULT and not b.cancelled for b in status.bookings):
            taken = words.gettext(SLOT_TAKEN)
            return FormAnswer(refused(words.language, [taken], status=409))
        raise
    consult = consult_time(answer, words)
    return done(
        words.gettext("Your video consultation is booked for %(when)s.", when=consult),
        words.gettext("We are emailing you the invitation with the video link."),
    )


def consult_time(answer: Answer, words: Words) -> str:
    booked = [b for b in answer.bookings if b.kind is BookingKind.CONSULT and not b.cancelled]
    return words.moment(booked[-1].starts_at) if booked else ""


async def reschedule_consult(sent: Submitted) -> FormAnswer:
    await take(StepName.RESCHEDULE_CONSULT, sent.step)
    words = sent.words
    return done(
        words.gettext("Your consultation is cancelled."),
        words.gettext("Please choose a new time below; we have emailed you the new times too."),
    )


def follow_up_number(form: FormData) -> int:
    """The follow-up consult a form is about (0, which names none, when it says no number)."""
    number = text(form, "number")
    return int(number) if number.isdigit() else 0


async def book_follow_up(sent: Submitted) -> FormAnswer:
    step, form, words = sent.step, sent.form, sent.words
    chosen = _chosen_slot(sent)
    if isinstance(chosen, FormAnswer):
        return chosen
    number = follow_up_number(form)
    year: FollowUpStatus = await take(StepName.BOOK_FOLLOW_UP, step, Numbered(number, chosen))
    booked = next((c.booking for c in year.consults if c.number == number and c.booking), None)
    if booked is None:
        # Held by a problem on our side a moment: the booking follows, with its email.
        return done(
            words.gettext("We are booking the time you chose."),
            words.gettext("We will email you the invitation with the video link."),
        )
    return done(
        words.gettext(
            "Your follow-up consultation %(number)s is booked for %(when)s.",
            number=number,
            when=words.moment(booked.starts_at),
        ),
        words.gettext("We are emailing you the invitation with the video link."),
    )


async def reschedule_follow_up(sent: Submitted) -> FormAnswer:
    step, form, words = sent.step, sent.form, sent.words
    number = follow_up_number(form)
    year: FollowUpStatus = await take(StepName.RESCHEDULE_FOLLOW_UP, step, Numbered(number))
    offered = any(c.number == number and c.offered for c in year.consults)
    return done(
        words.gettext(
            "Other times for your follow-up consultation %(number)s: nothing is booked for it now.",
            number=number,
        ),
        words.gettext("Please choose a new time below; we have emailed the times too.")
        if offered
        else words.gettext("We will email you the new times."),
    )


async def decide_plan(sent: Submitted) -> FormAnswer:
    step, form, words = sent.step, sent.form, sent.words
    decision = text(form, "decision")
    if decision not in ("accept", "decline"):
        return FormAnswer(
            refused(
                words.language, [words.gettext("Please accept or decline the plan.")], status=422
            )
        )
    if decision == "decline" and text(form, "confirm_decline") != "yes":
        return FormAnswer(
            refused(
                words.language,
                [words.gettext("To decline, please tick the box that says you understand.")],
                status=422,
            ),
            errors={"confirm_decline": words.gettext("Tick this box to decline the plan.")},
        )
    await take(StepName.PLAN_DECISION, step, PlanDecisionBody(accept=decision == "accept"))
    if decision == "accept":
        return done(
            words.gettext("Thank you: you accepted the plan."),
            words.gettext("Next, please send us your travel dates below."),
        )
    return done(
        words.gettext("You declined the plan."),
        words.gettext("Your journey is now closed. You can write to us again at any time."),
    )


# What the patient is told once the journey took their dates: sent first, or changed.
_TRAVEL_TAKEN = {
    StepName.TRAVEL: (
        N_("Thank you: we received your travel details."),
        N_("Arrival %(arrival)s, departure %(departure)s."),
        N_("We are now reserving your clinic visit, hotel and airport transfers."),
    ),
    StepName.CHANGE_TRAVEL: (
        N_("Thank you: we are changing your dates."),
        N_("New arrival %(arrival)s, departure %(departure)s."),
        N_(
            "We are booking your clinic visit, hotel and airport transfers for them, and will "
            "email you once they are booked. Until then your current bookings stand."
        ),
    ),
}


async def _take_travel(sent: Submitted, step_name: StepName) -> FormAnswer:
    step, form, words = sent.step, sent.form, sent.words
    try:
        body = body_from_form(TravelBody, form)
    except ValidationError as err:
        # The rule between the two dates is the departure's to meet.
        return invalid(err, form, words, whole_form="departure_date")
    assert isinstance(body, TravelBody)
    await take(step_name, step, body)
    thanks, dates, then = _TRAVEL_TAKEN[step_name]
    arrival, departure = words.day(body.arrival_date), words.day(body.departure_date)
    return done(
        words.gettext(thanks),
        words.gettext(dates, arrival=arrival, departure=departure),
        words.gettext(then),
    )


async def send_travel(sent: Submitted) -> FormAnswer:
    return await _take_travel(sent, StepName.TRAVEL)


async def change_travel(sent: Submitted) -> FormAnswer:
    return await _take_travel(sent, StepName.CHANGE_TRAVEL)


async def check_in(sent: Submitted) -> FormAnswer:
    step, form, words = sent.step, sent.form, sent.words
    body = body_from_form(RehabCheckinBody, form)
    assert isinstance(body, RehabCheckinBody)
    await take(StepName.REHAB_CHECKIN, step, body)
    lines = [
        words.gettext(
            "%(hours)s hours a day, %(days)s days this week.",
            hours=words.number(body.walking_hours_per_day),
            days=body.days_per_week,
        )
    ]
    if short_of_six(body.walking_hours_per_day, body.days_per_week):
        lines.append(
            words.gettext(
                "That is less than the rule of six asks (6 hours a day, 6 days a week). That is "
                "all right: do what you can, and tell your case manager if something makes it "
                "hard."
            )
        )
    return done(
        words.gettext("Thank you: your check-in for week %(week)s is recorded.", week=body.week),
        *lines,
    )


async def withdraw(sent: Submitted, cancels: list[str]) -> FormAnswer:
    """`cancels` says what was booked when the patient confirmed: what the withdrawal undid."""
    step, form, words = sent.step, sent.form, sent.words
    if text(form, "confirm") != "yes":
        return FormAnswer(
            refused(
                words.language,
                [words.gettext("Please confirm that you want to withdraw.")],
                status=422,
            )
        )
    reasons = {r.value: r for r in WithdrawalReason}
    reason = reasons.get(text(form, "reason"), WithdrawalReason.PATIENT_REQUEST)
    await take(StepName.WITHDRAW, step, WithdrawalBody(reason=reason))
    if not cancels:
        return done(
            words.gettext("Your journey is closed."),
            words.gettext("Nothing was booked yet, so nothing had to be cancelled."),
        )
    return done(words.gettext("Your journey is closed. We cancelled:"), *cancels)


async def change_language(
    request: Request, link: "OpenLink", form: FormData
) -> tuple[str, FormAnswer]:
    """Store the patient's preferred language (audited): the language the page is shown in
    next, and the outcome, in that language."""
    chosen = text(form, "language")
    if chosen not in supported_languages():
        words = Words(link.language, link.patient.time_zone)
        outcome = refused(
            link.language, [words.gettext("Please choose one of the languages.")], status=422
        )
        return link.language, FormAnswer(outcome)
    async with request.app.state.pool.acquire() as conn:
        before = await PatientPageRepository(conn).set_language(
            journey_id=link.journey_id, language=chosen
        )
    client = request.client
    await request.app.state.audit.append(
        actor_id=link.principal.actor.id,
        actor_role=link.principal.actor.role.value,
        action="patient.preferred_language",
        journey_id=link.journey_id,
        patient_id=link.principal.actor.id,
        source=client.host if client else None,
        detail={"from": before or "", "to": chosen},
    )
    words = Words(chosen, link.patient.time_zone)
    return chosen, done(
        words.gettext("Your language is now: %(language)s.", language=language_name(chosen)),
        words.gettext("This page and every email we send you from now on are in this language."),
    )
