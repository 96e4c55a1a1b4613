"""Whether a journey takes a step now: the validators of `PatientJourney`'s updates, as
functions of its state. Each refuses, worded for the person who tried, before anything is
recorded: the wrong role, the wrong stage, out of order, or data that cannot apply."""

from collections.abc import Callable

from temporalio import workflow
from temporalio.exceptions import ApplicationError

from workflows.journey_state import JourneyState
from workflows.rules import invalid, refuse, require_role, require_stage, require_waiting

with workflow.unsafe.imports_passed_through():
    from domain.actors import Actor
    from domain.stages import Stage, WaitingOn
    from domain.step_declarations import STEP_ROLES, StepName
    from domain.steps import (
        AdverseEventReported,
        CaseManagerAssignment,
        SlotBooking,
        TravelDetails,
    )


def role(actor: Actor, step: StepName) -> None:
    require_role(actor.role, STEP_ROLES[step])


def review(state: JourneyState) -> None:
    require_stage(state.stage, Stage.VALIDATION, "a case review")
    require_waiting(state.waiting_on, WaitingOn.REVIEWER, "a case review")
    if state.validation.review is not None:
        raise refuse("this case has already been reviewed")


def documents(state: JourneyState) -> None:
    require_stage(state.stage, Stage.VALIDATION, "sending documents")
    require_waiting(state.waiting_on, WaitingOn.PATIENT, "sending documents")


def case_manager(state: JourneyState, step: CaseManagerAssignment) -> None:
    case_manager_now(state)
    if step.case_manager_id == state.case_manager_id:
        raise refuse(f"{step.case_manager_id} is already the case manager")


def case_manager_now(state: JourneyState) -> None:
    if state.stage.is_final:
        raise refuse(f"the journey has ended ({state.stage.value})")
    if state.stage in (Stage.INQUIRY, Stage.VALIDATION):
        raise refuse("a case manager is assigned once the case is validated")


def slot_booking_now(state: JourneyState) -> None:
    require_stage(state.stage, Stage.TELECONSULT, "booking a consultation")
    require_waiting(state.waiting_on, WaitingOn.PATIENT, "booking a consultation")
    if state.teleconsult.slot_choice is not None:
        raise refuse("a slot has already been chosen")


def slot_booking(state: JourneyState, step: SlotBooking) -> None:
    steps = state.teleconsult
    slot_booking_now(state)
    if step.slot_id not in steps.offered:
        raise invalid("that slot was not offered; choose one of the proposed slots")
    if steps.offered[step.slot_id].starts_at <= workflow.now():
        raise refuse("that slot has already passed; choose a later one")


def reschedule(state: JourneyState) -> None:
    booked_consult(state, "rescheduling")
    assert state.teleconsult.consult is not None
    if workflow.now() >= state.teleconsult.consult.starts_at:
        raise refuse("the consultation has already started; it can no longer be moved")


def booked_consult(state: JourneyState, step: str) -> None:
    steps = state.teleconsult
    require_stage(state.stage, Stage.TELECONSULT, step)
    if steps.consult is None or state.waiting_on is not WaitingOn.SPECIALIST:
        raise refuse(f"{step} needs a booked consultation")
    if steps.settled:
        raise refuse("this consultation has already been settled")


def consult_started(state: JourneyState, step: str) -> None:
    booked_consult(state, step)
    consult = state.teleconsult.consult
    assert consult is not None
    if workflow.now() < consult.starts_at:
        raise refuse(
            f"{step} can be recorded once the consultation has started "
            f"({consult.starts_at:%Y-%m-%d %H:%M} UTC)"
        )


def plan_decision(state: JourneyState) -> None:
    require_stage(state.stage, Stage.PLAN, "a decision on the plan")
    if state.plan.decision is not None:
        raise refuse("the plan has already been decided")


def travel_now(state: JourneyState) -> None:
    require_stage(state.stage, Stage.TRAVEL, "travel details")
    if state.travel.details is not None:
        raise refuse("the travel details have already been sent")


def travel(state: JourneyState, step: TravelDetails) -> None:
    travel_now(state)
    if step.arrival_date <= workflow.now().date():
        raise invalid("the arrival date must be in the future")


def clinic_confirmation(state: JourneyState) -> None:
    require_stage(state.stage, Stage.TRAVEL, "the clinic's answer")
    answered = state.travel.clinic_confirmation is not None
    if state.waiting_on is not WaitingOn.COORDINATOR or answered:
        raise refuse("no visit request is waiting for the clinic's answer")


def admission(state: JourneyState) -> None:
    require_stage(state.stage, Stage.TREATMENT, "an admission")
    if state.treatment.admission is not None:
        raise refuse("the admission has already been reported")


def procedure(state: JourneyState) -> None:
    require_stage(state.stage, Stage.TREATMENT, "a procedure report")
    if state.treatment.admission is None:
        raise refuse("the procedure comes after the admission, which is not reported yet")
    if state.treatment.procedure is not None:
        raise refuse("the procedure has already been reported")


def adverse_event_now(state: JourneyState) -> None:
    if state.stage not in (Stage.TREATMENT, Stage.FOLLOW_UP):
        raise refuse("adverse events are reported from the treatment visit on")


def adverse_event(state: JourneyState, step: AdverseEventReported) -> None:
    adverse_event_now(state)
    if step.event_id in state.treatment.adverse_events:
        raise refuse("this adverse event has already been reported")


def discharge(state: JourneyState) -> None:
    require_stage(state.stage, Stage.TREATMENT, "a discharge")
    if state.treatment.procedure is None:
        raise refuse("the discharge comes after the procedure, which is not reported yet")
    if state.treatment.discharge is not None:
        raise refuse("the discharge has already been reported")


def withdrawal(state: JourneyState) -> None:
    if state.stage.is_final:
        raise refuse(f"the journey has already ended ({state.stage.value})")
    if state.withdrawal is not None:
        raise refuse("the journey is already being withdrawn")


def incident_open(state: JourneyState) -> None:
    if state.incidents.open is None or state.incidents.resolution is not None:
        raise refuse("there is no open incident to resolve")


def follow_up_year(state: JourneyState) -> None:
    require_stage(state.stage, Stage.FOLLOW_UP, "a follow-up step")


# The part of each step's check that reads the journey alone, without the step's data: what
# the journey would take now. Staff screens show these, so a person sees only what applies.
# Checks against the clock (has the consult started?) are the validator's alone: a query
# reads the workflow's clock as of its last task, which may be hours behind.
_NOW: dict[StepName, Callable[[JourneyState], None]] = {
    StepName.REVIEW: review,
    StepName.DOCUMENTS: documents,
    StepName.CASE_MANAGER: case_manager_now,
    StepName.BOOK_CONSULT: slot_booking_now,
    StepName.RESCHEDULE_CONSULT: lambda state: booked_consult(state, "rescheduling"),
    StepName.CONSULT_OUTCOME: lambda state: booked_consult(state, "a consultation outcome"),
    StepName.NO_SHOW: lambda state: booked_consult(state, "a no-show"),
    StepName.PLAN_DECISION: plan_decision,
    StepName.TRAVEL: travel_now,
    StepName.CLINIC_CONFIRMATION: clinic_confirmation,
    StepName.ADMISSION: admission,
    StepName.PROCEDURE: procedure,
    StepName.DISCHARGE: discharge,
    StepName.ADVERSE_EVENT: adverse_event_now,
    StepName.WITHDRAW: withdrawal,
    StepName.RESOLVE_INCIDENT: incident_open,
    StepName.FOLLOW_UP_OUTCOME: follow_up_year,
    StepName.REHAB_CHECKIN: follow_up_year,
}


def expected_steps(state: JourneyState) -> list[StepName]:
    """The steps the journey would take now, whoever sends them (roles are checked apart)."""
    expected = []
    for name, check in _NOW.items():
        try:
            check(state)
        except ApplicationError:
            continue
        expected.append(name)
    return expected
