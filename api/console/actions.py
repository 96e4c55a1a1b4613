"""Staff steps as console forms: which a person may take on a journey now, and taking one.

A form posts to `/staff/journeys/{id}/actions/{step}`; its fields become the same body model
the JSON API takes, and the same route function of the API sends the step, so a step has one
implementation whichever screen it comes from. What a person may take is the journey's own
list of the steps it would take now (`JourneyStatus.expects`, from its validators) narrowed to
the person's role (`domain/step_roles.py`).
"""

import uuid
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

import asyncpg
from fastapi import Request, Response, UploadFile
from fastapi.exceptions import RequestValidationError
from pydantic import ValidationError
from starlette.datastructures import FormData
from temporalio.client import Client, WorkflowUpdateFailedError

from api.auth import authorize
from api.console.guards import CSRF_FIELD, ConsoleRefusal
from api.console.viewer import Viewer
from api.console.wording import Wording
from api.journey_access import ensure_journey
from api.problems import ProblemError, field_errors, refusal_of
from api.routes import clinic, follow_ups, incidents, steps
from api.schemas import (
    CaseManagerBody,
    ClinicAdverseEvent,
    ClinicConfirmationBody,
    ClinicProcedure,
    ConsultOutcomeBody,
    ContactBody,
    FollowUpOutcomeBody,
    IncidentResolutionBody,
    RehabCheckinBody,
    ReviewBody,
    SlotChoiceBody,
    TravelBody,
    WithdrawalBody,
)
from api.step_access import JourneyStep
from db.staff import StaffMember, StaffRepository
from domain.actors import Role
from domain.errors import StepError
from domain.journey import JourneyStatus
from domain.policy import JourneyPolicy
from domain.step_roles import STEP_ROLES, StepName, may_take
from domain.steps import DocumentKind, RejectionReason, WithdrawalReason
from i18n import translations
from settings import Settings

Send = Callable[[JourneyStep, FormData], Awaitable[Any]]

# Steps the patient takes alone: the console never offers them, even to a coordinator.
PATIENT_ONLY = frozenset({StepName.PLAN_DECISION})
# Why a member of staff withdraws a journey; consent and erasure have routes of their own.
STAFF_WITHDRAWAL_REASONS = (
    WithdrawalReason.PATIENT_REQUEST,
    WithdrawalReason.FINANCIAL,
    WithdrawalReason.HEALTH_CHANGE,
    WithdrawalReason.OTHER_TREATMENT,
    WithdrawalReason.OTHER,
)


def _text(form: Mapping[str, Any], name: str) -> str | None:
    value = form.get(name)
    return value.strip() if isinstance(value, str) and value.strip() else None


def _flag(form: Mapping[str, Any], name: str) -> bool:
    return form.get(name) in ("on", "true", "yes", "1")


def _fields(form: Mapping[str, Any], *names: str) -> dict[str, Any]:
    """The named fields a person filled in; an empty field is left to the model's default."""
    return {n: v for n in names if (v := _text(form, n)) is not None}


async def _review(step: JourneyStep, form: FormData) -> Any:
    body = ReviewBody.model_validate(
        {
            **_fields(form, "outcome", "reason"),
            "documents": [d for d in form.getlist("documents") if isinstance(d, str) and d],
        }
    )
    return await steps.review(body, step)


async def _documents(step: JourneyStep, form: FormData) -> Any:
    files = [f for f in form.getlist("files") if isinstance(f, UploadFile) and f.filename]
    kind = DocumentKind(_text(form, "kind") or DocumentKind.OTHER.value)
    return await steps.upload_documents(step, kind, files)


async def _case_manager(step: JourneyStep, form: FormData) -> Any:
    body = CaseManagerBody.model_validate(_fields(form, "case_manager_id"))
    return await steps.case_manager(body, step)


async def _book(step: JourneyStep, form: FormData) -> Any:
    return await steps.book_consult(SlotChoiceBody.model_validate(_fields(form, "slot_id")), step)


async def _reschedule(step: JourneyStep, form: FormData) -> Any:
    return await steps.reschedule(step)


async def _outcome(step: JourneyStep, form: FormData) -> Any:
    eligible = _text(form, "eligible") == "yes"
    plan = _fields(form, "price", "currency", "cells_target", "notes") if eligible else None
    body = ConsultOutcomeBody.model_validate(
        {"eligible": eligible, "plan": plan, **_fields(form, "reason")}
    )
    return await steps.consult_outcome(body, step)


async def _no_show(step: JourneyStep, form: FormData) -> Any:
    return await steps.no_show(step)


async def _travel(step: JourneyStep, form: FormData) -> Any:
    body = TravelBody.model_validate(
        {
            **_fields(
                form,
                "arrival_date",
                "departure_date",
                "arrival_flight",
                "departure_flight",
                "companions",
                "notes",
            ),
            "needs_visa": _flag(form, "needs_visa"),
        }
    )
    return await steps.travel(body, step)


async def _clinic_confirmation(step: JourneyStep, form: FormData) -> Any:
    body = ClinicConfirmationBody.model_validate(
        {"confirmed": _text(form, "confirmed") == "yes", **_fields(form, "clinic_reference")}
    )
    return await steps.clinic_confirmation(body, step)


async def _admission(step: JourneyStep, form: FormData) -> Any:
    return await clinic.admission(step)


async def _procedure(step: JourneyStep, form: FormData) -> Any:
    body = ClinicProcedure.model_validate(
        _fields(form, "cells_given", "route", "minutes", "lot", "notes")
    )
    return await clinic.procedure(body, step)


async def _discharge(step: JourneyStep, form: FormData) -> Any:
    return await clinic.discharge(step)


async def _adverse_event(step: JourneyStep, form: FormData) -> Any:
    body = ClinicAdverseEvent.model_validate(_fields(form, "severity", "description"))
    return await clinic.adverse_event(body, step)


async def _withdraw(step: JourneyStep, form: FormData) -> Any:
    body = WithdrawalBody.model_validate(_fields(form, "reason"))
    return await steps.withdraw(step, body)


async def _resolve(step: JourneyStep, form: FormData) -> Any:
    body = IncidentResolutionBody.model_validate(_fields(form, "action", "incident_number"))
    return await incidents.resolve_incident(body, step)


async def _contact(step: JourneyStep, form: FormData) -> Any:
    return await incidents.correct_contact(
        ContactBody.model_validate(_fields(form, "email", "phone")), step
    )


async def _follow_up_outcome(step: JourneyStep, form: FormData) -> Any:
    number = int(_text(form, "number") or "0")
    scores = (
        "trunk_control",
        "sitting_balance",
        "standing_balance",
        "spasticity",
        "sensation",
        "bladder",
    )
    body = FollowUpOutcomeBody.model_validate(
        {
            **_fields(form, *scores, "notes"),
            **(
                {"postural_hypotension": _text(form, "postural_hypotension") == "yes"}
                if _text(form, "postural_hypotension")
                else {}
            ),
        }
    )
    return await follow_ups.follow_up_outcome(number, body, step)


async def _checkin(step: JourneyStep, form: FormData) -> Any:
    body = RehabCheckinBody.model_validate(
        _fields(form, "week", "walking_hours_per_day", "days_per_week", "notes")
    )
    return await follow_ups.rehab_checkin(body, step)


SENDERS: dict[StepName, Send] = {
    StepName.REVIEW: _review,
    StepName.DOCUMENTS: _documents,
    StepName.CASE_MANAGER: _case_manager,
    StepName.BOOK_CONSULT: _book,
    StepName.RESCHEDULE_CONSULT: _reschedule,
    StepName.CONSULT_OUTCOME: _outcome,
    StepName.NO_SHOW: _no_show,
    StepName.TRAVEL: _travel,
    StepName.CLINIC_CONFIRMATION: _clinic_confirmation,
    StepName.ADMISSION: _admission,
    StepName.PROCEDURE: _procedure,
    StepName.DISCHARGE: _discharge,
    StepName.ADVERSE_EVENT: _adverse_event,
    StepName.WITHDRAW: _withdraw,
    StepName.RESOLVE_INCIDENT: _resolve,
    StepName.CORRECT_CONTACT: _contact,
    StepName.FOLLOW_UP_OUTCOME: _follow_up_outcome,
    StepName.REHAB_CHECKIN: _checkin,
}


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
    return [
        Offer(step)
        for step in expected
        if step in SENDERS and step not in PATIENT_ONLY and may_take(role, step)
    ]


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


async def take_step(
    request: Request,
    journey_id: str,
    step: str,
    viewer: Viewer,
    pool: asyncpg.Pool,
    client: Client,
    settings: Settings,
) -> ActionOutcome:
    """Send one step from a console form, through the API's own route function."""
    name = StepName(step) if step in StepName._value2member_map_ else None
    if name is None or name not in SENDERS or name in PATIENT_ONLY:
        raise ConsoleRefusal(404, "no_step", None)
    form = await request.form()
    typed = {k: v for k, v in form.multi_items() if isinstance(v, str) and k != CSRF_FIELD}
    try:
        jid = str(uuid.UUID(journey_id))
    except ValueError:
        raise ConsoleRefusal(404, "no_journey", None) from None
    if name is StepName.WITHDRAW and not _flag(form, "confirm"):
        # The page's checkbox is required, but a form sent some other way is checked here too.
        message = translations(viewer.language).gettext(
            "Tick the box to confirm the withdrawal: the journey was not withdrawn."
        )
        return ActionOutcome(step=name, message=str(message), values=typed, status=422)
    principal = viewer.principal
    journey_step = JourneyStep(
        principal, jid, pool, client, Response(), settings.step_answer_seconds
    )
    try:
        authorize(principal, jid, STEP_ROLES[name])
        await ensure_journey(pool, jid)
        await SENDERS[name](journey_step, form)
    except (ValidationError, RequestValidationError) as err:
        return ActionOutcome(
            step=name, field_messages=_messages(err.errors()), values=typed, status=422
        )
    except ProblemError as err:
        if err.status == 404 and err.detail == "no such journey":
            raise ConsoleRefusal(404, "no_journey", None) from None
        message = (
            Wording(viewer.language).refusal(err.refusal, viewer.time_zone)
            if err.refusal
            else err.detail or err.title
        )
        return ActionOutcome(step=name, message=message, values=typed, status=err.status)
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


def _messages(errors: Any) -> tuple[str, ...]:
    """Each refused field's message, named by the field unless it is about the whole form."""
    return tuple(
        e.message if e.field == "body" else f"{e.field}: {e.message}" for e in field_errors(errors)
    )


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


FORM_CHOICES = FormChoices()
