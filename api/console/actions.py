"""Staff steps as console forms: which a person may take on a journey now, and taking one.

A form posts to `/staff/journeys/{id}/actions/{step}`; its fields are read into the step's
declared body (`api/form_bodies.py`), and the step is taken as the JSON API takes it
(`api/step_taking.py`), so a step has one implementation whichever screen it comes from. What a
person may take is the journey's own list of the steps it would take now
(`JourneyStatus.expects`, from its validators) narrowed to the steps the console offers and the
person's role (`domain/step_declarations.py`).
"""

import uuid
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import asyncpg
from fastapi import Request, Response, UploadFile
from fastapi.exceptions import RequestValidationError
from pydantic import ValidationError
from starlette.datastructures import FormData
from temporalio.client import WorkflowUpdateFailedError

from api.audit_trail import note_refusal
from api.claims import ClaimRefused
from api.console.guards import CSRF_FIELD, ConsoleRefusal
from api.console.viewer import Viewer
from api.console.wording import Wording
from api.form_bodies import YES, body_from_form
from api.problems import ProblemError, field_errors, refusal_of
from api.reads.errors import Forbidden, JourneyNotFound
from api.step_access import JourneyStep, open_step
from api.step_taking import Documents, NumberedOutcome, take
from api.uploads import read_uploads
from db.staff import StaffMember, StaffRepository
from domain.actors import Role
from domain.errors import StepError
from domain.journey import JourneyStatus
from domain.outcome_scales import AisGrade, NeurologicalLevel
from domain.policy import JourneyPolicy
from domain.refusals import Refusal, RefusalParams
from domain.step_bodies import FollowUpOutcomeBody
from domain.step_declarations import STEPS, StepName, may_take
from domain.steps import DocumentKind, RejectionReason, WithdrawalReason
from i18n import translations

# Why a member of staff withdraws a journey; consent and erasure have routes of their own.
STAFF_WITHDRAWAL_REASONS = (
    WithdrawalReason.PATIENT_REQUEST,
    WithdrawalReason.FINANCIAL,
    WithdrawalReason.HEALTH_CHANGE,
    WithdrawalReason.OTHER_TREATMENT,
    WithdrawalReason.OTHER,
)


async def form_input(name: StepName, step: JourneyStep, form: FormData) -> Any:
    """What the step takes, read from its form: the declared body's fields, or the files of a
    documents step, or a follow-up outcome with the consult's number."""
    declaration = STEPS[name]
    if name is StepName.DOCUMENTS:
        files = [f for f in form.getlist("files") if isinstance(f, UploadFile) and f.filename]
        kind = DocumentKind(_text(form, "kind") or DocumentKind.OTHER.value)
        uploads = await read_uploads(files, max_bytes=step.upload_bytes)
        return Documents([(kind, upload) for upload in uploads])
    body = body_from_form(declaration.body, form) if declaration.body else None
    if name is StepName.FOLLOW_UP_OUTCOME:
        assert isinstance(body, FollowUpOutcomeBody)
        return NumberedOutcome(int(_text(form, "number") or "0"), body)
    return body


def _text(form: Mapping[str, Any], name: str) -> str | None:
    value = form.get(name)
    return value.strip() if isinstance(value, str) and value.strip() else None


@dataclass(frozen=True)
class Offer:
    """A step the signed-in person may take on the journey now."""

    step: StepName

    @property
    def path(self) -> str:
        return f"actions/{self.step.value}"


def offers(status: JourneyStatus, role: Role) -> list[Offer]:
    """The forms to show this person on this journey now, in the journey's own order."""
    expected = list(status.expects)
    if not status.stage.is_final:
        # Not a workflow step: a coordinator may correct the contact details at any time.
        expected.append(StepName.CORRECT_CONTACT)
    return [Offer(step) for step in expected if STEPS[step].console and may_take(role, step)]


@dataclass(frozen=True)
class ActionOutcome:
    """What became of a form: taken (`done`), or refused with the journey's words and what the
    person typed, which the page shows again beside the form."""

    step: StepName | None = None
    done: StepName | None = None
    message: str = ""
    field_messages: tuple[str, ...] = ()
    values: Mapping[str, str] = field(default_factory=dict)
    status: int = 200

    @property
    def failed(self) -> bool:
        return self.step is not None and self.done is None


async def take_step(request: Request, journey_id: str, step: str, viewer: Viewer) -> ActionOutcome:
    """Send one step from a console form, through the API's own route function."""
    name = StepName(step) if step in StepName._value2member_map_ else None
    if name is None or not STEPS[name].console:
        raise ConsoleRefusal(404, "no_step", None)
    form = await request.form()
    typed = {k: v for k, v in form.multi_items() if isinstance(v, str) and k != CSRF_FIELD}
    try:
        jid = str(uuid.UUID(journey_id))
    except ValueError:
        raise ConsoleRefusal(404, "no_journey", None) from None
    if name is StepName.WITHDRAW and (_text(form, "confirm") or "") not in YES:
        # The page's checkbox is required, but a form sent some other way is checked here too.
        message = translations(viewer.language).gettext(
            "Tick the box to confirm the withdrawal: the journey was not withdrawn."
        )
        return ActionOutcome(step=name, message=str(message), values=typed, status=422)
    try:
        # As the API opens a step: the role, then the journey's assignment (api/authorization.py).
        journey_step = await open_step(
            name, principal=viewer.principal, journey_id=jid, request=request, response=Response()
        )
    except JourneyNotFound:
        raise ConsoleRefusal(404, "no_journey", None) from None
    except Forbidden as err:
        note_refusal(request, err.reason)
        return ActionOutcome(step=name, message=err.detail, values=typed, status=err.status)
    except ClaimRefused as err:
        # Someone else holds a live claim on this work: nothing was stored or sent.
        return ActionOutcome(
            step=name, message=_worded(err, viewer), values=typed, status=err.status
        )
    try:
        await take(name, journey_step, await form_input(name, journey_step, form))
    except (ValidationError, RequestValidationError) as err:
        return ActionOutcome(
            step=name,
            field_messages=_messages(err.errors(), Wording(viewer.language), viewer.time_zone),
            values=typed,
            status=422,
        )
    except ProblemError as err:
        if err.status == 404 and err.detail == "no such journey":
            raise ConsoleRefusal(404, "no_journey", None) from None
        return ActionOutcome(
            step=name, message=_worded(err, viewer), values=typed, status=err.status
        )
    except WorkflowUpdateFailedError as err:
        kind = getattr(err.cause, "type", None) or StepError.REFUSED
        refused = {StepError.INVALID: 422, StepError.FORBIDDEN: 403}.get(kind, 409)
        refusal = refusal_of(err)
        message = (
            Wording(viewer.language).refusal(refusal, viewer.time_zone)
            if refusal
            else getattr(err.cause, "message", None) or str(err.cause)
        )
        return ActionOutcome(step=name, message=message, values=typed, status=refused)
    return ActionOutcome(step=name, done=name)


def _worded(err: ProblemError, viewer: Viewer) -> str:
    """A problem as the viewer reads it: its refusal's code worded through the catalogues
    (staff named by name where the refusal knows them), else the problem's own English."""
    if err.refusal is None:
        return err.detail or err.title
    names = err.names if isinstance(err, ClaimRefused) else None
    return Wording(viewer.language).refusal(err.refusal, viewer.time_zone, names)


def _messages(errors: Any, words: Wording, tz: str) -> tuple[str, ...]:
    """Each refused field's message, named by the field unless it is about the whole form; a
    field refused by a refusal's code (a score off its scale) is worded in the reader's
    language, and names its field itself."""
    messages = []
    for e in field_errors(errors):
        if e.code is not None:
            messages.append(
                words.refusal(Refusal(code=e.code, params=e.params or RefusalParams()), tz)
            )
        elif e.field == "body":
            messages.append(e.message)
        else:
            messages.append(f"{e.field}: {e.message}")
    return tuple(messages)


async def case_managers(pool: asyncpg.Pool) -> list[StaffMember]:
    """Who a case may be assigned to, for the assignment form."""
    async with pool.acquire() as conn:
        members = await StaffRepository(conn).active_members()
    return [m for m in members if m.role == Role.CASE_MANAGER.value]


@dataclass(frozen=True)
class FormChoices:
    """The coded choices the forms offer, from the domain's enums."""

    rejection_reasons: tuple[str, ...] = tuple(r.value for r in RejectionReason)
    document_kinds: tuple[str, ...] = tuple(d.value for d in DocumentKind)
    withdrawal_reasons: tuple[str, ...] = tuple(r.value for r in STAFF_WITHDRAWAL_REASONS)
    severities: tuple[str, ...] = ("mild", "moderate", "severe", "life_threatening")
    follow_ups: tuple[int, ...] = tuple(range(1, len(JourneyPolicy().follow_up_offsets) + 1))
    ais_grades: tuple[str, ...] = tuple(g.value for g in AisGrade)
    neurological_levels: tuple[str, ...] = tuple(level.value for level in NeurologicalLevel)


FORM_CHOICES = FormChoices()
