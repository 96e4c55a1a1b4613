"""Whether a journey takes a step now: the validators of `PatientJourney`'s updates, as
functions of its state (and, where a check depends on it, of the time the workflow reads).
Each refuses with a coded `Refusal` before anything is recorded: the wrong role, the wrong
stage, out of order, or data that cannot apply."""

from collections.abc import Callable
from datetime import datetime

from temporalio import workflow
from temporalio.exceptions import ApplicationError

from workflows.journey_state import JourneyState
from workflows.rules import refuse, require_role, require_stage, require_waiting

with workflow.unsafe.imports_passed_through():
    from domain.actors import Actor
    from domain.records import BookingKind
    from domain.refusals import RefusalCode
    from domain.stages import Stage, Task, WaitingOn
    from domain.step_declarations import STEP_ROLES, StepName
    from domain.steps import (
        AdverseEventReported,
        CaseManagerAssignment,
        PartnerConfirmation,
        SlotBooking,
        TravelChange,
        TravelDetails,
    )
    from domain.travel_rules import change_cutoff, earliest_arrival


def role(actor: Actor, step: StepName) -> None:
    require_role(actor.role, STEP_ROLES[step])


def review(state: JourneyState) -> None:
    require_stage(state.stage, Stage.VALIDATION, StepName.REVIEW)
    require_waiting(state.waiting_on, WaitingOn.REVIEWER, StepName.REVIEW)
    if state.validation.review is not None:
        raise refuse(RefusalCode.ALREADY_REVIEWED)


def documents(state: JourneyState) -> None:
    require_stage(state.stage, Stage.VALIDATION, StepName.DOCUMENTS)
    require_waiting(state.waiting_on, WaitingOn.PATIENT, StepName.DOCUMENTS)


def case_manager(state: JourneyState, step: CaseManagerAssignment) -> None:
    case_manager_now(state)
    if step.case_manager_id == state.case_manager_id:
        raise refuse(RefusalCode.ALREADY_CASE_MANAGER, case_manager_id=step.case_manager_id)


def case_manager_now(state: JourneyState) -> None:
    if state.stage.is_final:
        raise refuse(RefusalCode.JOURNEY_ENDED, stage=state.stage, step=StepName.CASE_MANAGER)
    if state.stage in (Stage.INQUIRY, Stage.VALIDATION):
        raise refuse(RefusalCode.CASE_NOT_VALIDATED)


def slot_booking_now(state: JourneyState) -> None:
    require_stage(state.stage, Stage.TELECONSULT, StepName.BOOK_CONSULT)
    require_waiting(state.waiting_on, WaitingOn.PATIENT, StepName.BOOK_CONSULT)
    if state.teleconsult.slot_choice is not None:
        raise refuse(RefusalCode.SLOT_TAKEN)


def slot_booking(state: JourneyState, step: SlotBooking, now: datetime) -> None:
    steps = state.teleconsult
    slot_booking_now(state)
    if step.slot_id not in steps.offered:
        raise refuse(RefusalCode.SLOT_NOT_OFFERED)
    if steps.offered[step.slot_id].starts_at <= now:
        raise refuse(RefusalCode.SLOT_PASSED)


def choosing(state: JourneyState) -> bool:
    """Whether the offered slots are still to be chosen, with no other times asked for yet:
    asking for another time then ends the round, and new times are offered."""
    steps = state.teleconsult
    return (
        state.stage is Stage.TELECONSULT
        and state.waiting_on is WaitingOn.PATIENT
        and steps.slot_choice is None
        and bool(steps.offered)
        and steps.new_times is None
    )


def reschedule_now(state: JourneyState) -> None:
    if not choosing(state):
        booked_consult(state, StepName.RESCHEDULE_CONSULT)


def reschedule(state: JourneyState, now: datetime) -> None:
    if choosing(state):
        return
    booked_consult(state, StepName.RESCHEDULE_CONSULT)
    assert state.teleconsult.consult is not None
    if now >= state.teleconsult.consult.starts_at:
        raise refuse(RefusalCode.CONSULT_STARTED)


def booked_consult(state: JourneyState, step: StepName) -> None:
    steps = state.teleconsult
    require_stage(state.stage, Stage.TELECONSULT, step)
    if steps.consult is None or state.waiting_on is not WaitingOn.SPECIALIST:
        raise refuse(RefusalCode.NO_BOOKED_CONSULT, step=step)
    if steps.settled:
        raise refuse(RefusalCode.CONSULT_SETTLED)


def consult_started(state: JourneyState, step: StepName, now: datetime) -> None:
    booked_consult(state, step)
    consult = state.teleconsult.consult
    assert consult is not None
    if now < consult.starts_at:
        raise refuse(RefusalCode.CONSULT_NOT_STARTED, step=step, starts_at=consult.starts_at)


def plan_decision(state: JourneyState) -> None:
    require_stage(state.stage, Stage.PLAN, StepName.PLAN_DECISION)
    if state.plan.decision is not None:
        raise refuse(RefusalCode.PLAN_DECIDED)


def travel_now(state: JourneyState) -> None:
    require_stage(state.stage, Stage.TRAVEL, StepName.TRAVEL)
    if state.travel.details is not None:
        raise refuse(RefusalCode.TRAVEL_SENT)


def travel(state: JourneyState, step: TravelDetails, now: datetime) -> None:
    travel_now(state)
    if step.arrival_date <= now.date():
        raise refuse(RefusalCode.ARRIVAL_NOT_FUTURE)


def clinic_confirmation(state: JourneyState) -> None:
    require_stage(state.stage, Stage.TRAVEL, StepName.CLINIC_CONFIRMATION)
    answered = state.travel.clinic_confirmation is not None
    # A coordinator is waited on for other things too (a failed change of dates).
    asked = state.waiting_on is WaitingOn.COORDINATOR and state.task is Task.RECORD_CLINIC_ANSWER
    if not asked or answered:
        raise refuse(RefusalCode.NO_VISIT_REQUEST)


def change_travel_now(state: JourneyState) -> None:
    """The trip is booked, no change is under way and the run has not closed changes at the
    cutoff; the validator also holds the cutoff to its own clock (below)."""
    require_stage(state.stage, Stage.TRAVEL, StepName.CHANGE_TRAVEL)
    travel = state.travel
    if not travel.changeable or travel.visit_day1 is None:
        raise refuse(RefusalCode.TRAVEL_NOT_BOOKED)
    if travel.change is not None:
        raise refuse(RefusalCode.TRAVEL_CHANGE_UNDER_WAY)
    if travel.changes_closed:
        raise refuse(
            RefusalCode.TRAVEL_CHANGE_CLOSED,
            cutoff_at=change_cutoff(travel.visit_day1, state.journey.policy),
        )


def change_travel_until(state: JourneyState) -> datetime | None:
    """Until when the trip's dates can change, while it is booked and changeable."""
    travel = state.travel
    if state.stage is not Stage.TRAVEL or not travel.changeable or travel.visit_day1 is None:
        return None
    return change_cutoff(travel.visit_day1, state.journey.policy)


def change_travel(state: JourneyState, step: TravelChange, now: datetime) -> None:
    change_travel_now(state)
    cutoff = change_travel_until(state)
    assert cutoff is not None
    if now >= cutoff:
        raise refuse(RefusalCode.TRAVEL_CHANGE_CLOSED, cutoff_at=cutoff)
    if step.arrival_date <= now.date():
        raise refuse(RefusalCode.ARRIVAL_NOT_FUTURE)
    travel = state.travel
    if (step.arrival_date, step.departure_date) == (travel.arrival, travel.departure):
        raise refuse(RefusalCode.SAME_TRAVEL_DATES)
    earliest = earliest_arrival(now, state.journey.policy)
    if step.arrival_date < earliest:
        raise refuse(RefusalCode.ARRIVAL_TOO_SOON, earliest_arrival=earliest)


def partner_confirmation_now(state: JourneyState) -> None:
    """Some hotel or transfer request of the trip awaits its partner's confirmation."""
    require_stage(state.stage, Stage.TRAVEL, StepName.PARTNER_CONFIRMATION)
    if not awaiting_partners(state):
        raise refuse(RefusalCode.NO_PARTNER_REQUEST)


def awaiting_partners(state: JourneyState) -> list[str]:
    """The hotel and transfer bookings whose partners have not confirmed, newest last."""
    if not state.travel.changeable:
        return []
    return [
        b.booking_id
        for b in state.bookings
        if b.kind in (BookingKind.HOTEL, BookingKind.TRANSFER)
        and not (b.cancelled or b.completed or b.confirmed)
    ]


def partner_confirmation(state: JourneyState, step: PartnerConfirmation) -> None:
    require_stage(state.stage, Stage.TRAVEL, StepName.PARTNER_CONFIRMATION)
    booking = next((b for b in state.bookings if b.booking_id == step.booking_id), None)
    if booking is not None and booking.confirmed:
        raise refuse(RefusalCode.PARTNER_CONFIRMED)
    if step.booking_id not in awaiting_partners(state):
        raise refuse(RefusalCode.NO_PARTNER_REQUEST)


def _clinic_report(state: JourneyState, step: StepName) -> None:
    """The clinic reports the treatment in order, admission, procedure and discharge, and each
    report once: refused while the report before it is missing, or when it is in already."""
    require_stage(state.stage, Stage.TREATMENT, step)
    t = state.treatment
    before: tuple[object | None, RefusalCode] | None
    report, reported, before = {
        StepName.ADMISSION: (t.admission, RefusalCode.ADMISSION_REPORTED, None),
        StepName.PROCEDURE: (
            t.procedure,
            RefusalCode.PROCEDURE_REPORTED,
            (t.admission, RefusalCode.ADMISSION_MISSING),
        ),
        StepName.DISCHARGE: (
            t.discharge,
            RefusalCode.DISCHARGE_REPORTED,
            (t.procedure, RefusalCode.PROCEDURE_MISSING),
        ),
    }[step]
    if before is not None and before[0] is None:
        raise refuse(before[1])
    if report is not None:
        raise refuse(reported)


def admission(state: JourneyState) -> None:
    _clinic_report(state, StepName.ADMISSION)


def procedure(state: JourneyState) -> None:
    _clinic_report(state, StepName.PROCEDURE)


def adverse_event_now(state: JourneyState) -> None:
    if state.stage not in (Stage.TREATMENT, Stage.FOLLOW_UP):
        raise refuse(RefusalCode.ADVERSE_EVENT_TOO_EARLY)


def adverse_event(state: JourneyState, step: AdverseEventReported) -> None:
    adverse_event_now(state)
    if step.event_id in state.treatment.adverse_events:
        raise refuse(RefusalCode.ADVERSE_EVENT_REPORTED)


def discharge(state: JourneyState) -> None:
    _clinic_report(state, StepName.DISCHARGE)


def withdrawal(state: JourneyState) -> None:
    if state.stage.is_final:
        raise refuse(RefusalCode.JOURNEY_ENDED, stage=state.stage, step=StepName.WITHDRAW)
    if state.withdrawal is not None:
        raise refuse(RefusalCode.WITHDRAWAL_UNDER_WAY)


def incident_open(state: JourneyState) -> None:
    if state.incidents.open is None or state.incidents.resolution is not None:
        raise refuse(RefusalCode.NO_OPEN_INCIDENT)


def follow_up_year(state: JourneyState, step: StepName) -> None:
    require_stage(state.stage, Stage.FOLLOW_UP, step)


def rehab_follow_up(state: JourneyState) -> None:
    """The follow-up year takes the case manager's record (its own validator checks which
    follow-up); the journey expects it while it waits on them."""
    require_stage(state.stage, Stage.FOLLOW_UP, StepName.REHAB_FOLLOW_UP)
    require_waiting(state.waiting_on, WaitingOn.CASE_MANAGER, StepName.REHAB_FOLLOW_UP)


# The part of each step's check that reads the journey alone, without the step's data: what
# the journey would take now. Staff screens show these, so a person sees only what applies.
# Checks against the clock (has the consult started?) are the validator's alone: a query
# reads the workflow's clock as of its last task, which may be hours behind.
_NOW: dict[StepName, Callable[[JourneyState], None]] = {
    StepName.REVIEW: review,
    StepName.DOCUMENTS: documents,
    StepName.CASE_MANAGER: case_manager_now,
    StepName.BOOK_CONSULT: slot_booking_now,
    StepName.RESCHEDULE_CONSULT: reschedule_now,
    StepName.CONSULT_OUTCOME: lambda state: booked_consult(state, StepName.CONSULT_OUTCOME),
    StepName.NO_SHOW: lambda state: booked_consult(state, StepName.NO_SHOW),
    StepName.PLAN_DECISION: plan_decision,
    StepName.TRAVEL: travel_now,
    StepName.CLINIC_CONFIRMATION: clinic_confirmation,
    StepName.CHANGE_TRAVEL: change_travel_now,
    StepName.PARTNER_CONFIRMATION: partner_confirmation_now,
    StepName.ADMISSION: admission,
    StepName.PROCEDURE: procedure,
    StepName.DISCHARGE: discharge,
    StepName.ADVERSE_EVENT: adverse_event_now,
    StepName.WITHDRAW: withdrawal,
    StepName.RESOLVE_INCIDENT: incident_open,
    StepName.FOLLOW_UP_OUTCOME: lambda state: follow_up_year(state, StepName.FOLLOW_UP_OUTCOME),
    StepName.REHAB_CHECKIN: lambda state: follow_up_year(state, StepName.REHAB_CHECKIN),
    StepName.REHAB_FOLLOW_UP: rehab_follow_up,
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
