"""The journey's validators (workflows/checks.py) against journeys built by hand: each step is
taken where it belongs and refused elsewhere, with the refusal's code and what it names."""

from datetime import date, timedelta

import pytest

from domain.actors import Role
from domain.errors import StepError
from domain.incidents import Incident, IncidentAction, IncidentKind
from domain.refusals import Refusal, RefusalCode
from domain.stages import Stage, Task, WaitingOn
from domain.step_declarations import STEP_ROLES, StepName
from domain.steps import (
    Admission,
    AdverseEventReported,
    CaseManagerAssignment,
    ClinicConfirmation,
    ConsultOutcome,
    Discharge,
    NoShow,
    PlanDecision,
    ProcedureReported,
    RescheduleRequest,
    ReviewDecision,
    ReviewOutcome,
    SlotBooking,
    TravelDetails,
    Withdrawal,
)
from tests.unit.states import (
    CLINIC,
    COORDINATOR,
    NOW,
    PATIENT,
    REVIEWER,
    SPECIALIST,
    booked_consult,
    journey,
    record_id,
    refusal,
    slot,
)
from workflows import checks

APPROVE = ReviewDecision(actor=REVIEWER, outcome=ReviewOutcome.APPROVE)


def test_a_role_outside_the_steps_roles_is_forbidden() -> None:
    checks.role(REVIEWER, StepName.REVIEW)
    refused = refusal(lambda: checks.role(COORDINATOR, StepName.REVIEW))
    assert refused == Refusal.of(
        RefusalCode.ROLE_NOT_ALLOWED, roles=(Role.MEDICAL_LEAD, Role.REVIEWER)
    )
    assert refused.kind is StepError.FORBIDDEN
    assert refused.english == "only a medical lead or reviewer can do this step"


@pytest.mark.parametrize("step", [s for s in StepName if s in checks._NOW])
def test_every_role_refused_names_the_roles_that_may(step: StepName) -> None:
    allowed = STEP_ROLES[step]
    outsider = next(r for r in Role if r not in allowed)
    refused = refusal(lambda: checks.role(PATIENT.model_copy(update={"role": outsider}), step))
    assert refused.params.roles == tuple(sorted(allowed))


def test_a_review_is_taken_once_from_the_reviewer_in_validation() -> None:
    state = journey(Stage.VALIDATION, WaitingOn.REVIEWER)
    checks.review(state)
    state.validation.review = APPROVE
    assert refusal(lambda: checks.review(state)) == Refusal.of(RefusalCode.ALREADY_REVIEWED)


def test_a_review_while_the_patient_sends_documents_is_not_expected() -> None:
    state = journey(Stage.VALIDATION, WaitingOn.PATIENT)
    assert refusal(lambda: checks.review(state)) == Refusal.of(
        RefusalCode.NOT_EXPECTED_NOW, step=StepName.REVIEW, waiting_on=WaitingOn.PATIENT
    )


def test_a_step_of_another_stage_names_both_stages() -> None:
    state = journey(Stage.TELECONSULT, WaitingOn.PATIENT)
    refused = refusal(lambda: checks.review(state))
    assert refused == Refusal.of(
        RefusalCode.WRONG_STAGE,
        step=StepName.REVIEW,
        expected_stage=Stage.VALIDATION,
        stage=Stage.TELECONSULT,
    )
    assert refused.kind is StepError.REFUSED
    assert refused.english == (
        "a case review belongs to stage VALIDATION; the journey is at TELECONSULT"
    )


@pytest.mark.parametrize("stage", [Stage.COMPLETED, Stage.WITHDRAWN, Stage.LOST_CONTACT])
def test_an_ended_journey_refuses_its_stages_steps(stage: Stage) -> None:
    state = journey(stage)
    assert refusal(lambda: checks.plan_decision(state)) == Refusal.of(
        RefusalCode.JOURNEY_ENDED, stage=stage, step=StepName.PLAN_DECISION
    )


def test_documents_come_from_the_patient_in_validation() -> None:
    checks.documents(journey(Stage.VALIDATION, WaitingOn.PATIENT))
    assert refusal(lambda: checks.documents(journey(Stage.VALIDATION, WaitingOn.REVIEWER))) == (
        Refusal.of(
            RefusalCode.NOT_EXPECTED_NOW, step=StepName.DOCUMENTS, waiting_on=WaitingOn.REVIEWER
        )
    )


@pytest.mark.parametrize("stage", [Stage.INQUIRY, Stage.VALIDATION])
def test_a_case_manager_waits_for_the_case_to_be_validated(stage: Stage) -> None:
    assign = CaseManagerAssignment(actor=COORDINATOR, case_manager_id="cm-es")
    assert refusal(lambda: checks.case_manager(journey(stage), assign)) == Refusal.of(
        RefusalCode.CASE_NOT_VALIDATED
    )


def test_a_case_manager_is_assigned_once_the_case_is_validated() -> None:
    assign = CaseManagerAssignment(actor=COORDINATOR, case_manager_id="cm-es")
    state = journey(Stage.TELECONSULT, WaitingOn.PATIENT)
    checks.case_manager(state, assign)
    state.case_manager_id = "cm-es"
    assert refusal(lambda: checks.case_manager(state, assign)) == Refusal.of(
        RefusalCode.ALREADY_CASE_MANAGER, case_manager_id="cm-es"
    )
    assert refusal(lambda: checks.case_manager_now(journey(Stage.NOT_ELIGIBLE))) == Refusal.of(
        RefusalCode.JOURNEY_ENDED, stage=Stage.NOT_ELIGIBLE, step=StepName.CASE_MANAGER
    )


def test_a_slot_is_booked_once_among_those_offered_and_before_it_starts() -> None:
    state = journey(Stage.TELECONSULT, WaitingOn.PATIENT)
    state.teleconsult.offered = {"s-1": slot("s-1"), "s-2": slot("s-2", timedelta(hours=1))}
    checks.slot_booking(state, SlotBooking(actor=PATIENT, slot_id="s-1"), NOW)

    not_offered = refusal(
        lambda: checks.slot_booking(state, SlotBooking(actor=PATIENT, slot_id="s-9"), NOW)
    )
    assert not_offered == Refusal.of(RefusalCode.SLOT_NOT_OFFERED)
    assert not_offered.kind is StepError.INVALID
    # A slot is gone from the moment it starts.
    at_start = NOW + timedelta(hours=1)
    assert refusal(
        lambda: checks.slot_booking(state, SlotBooking(actor=PATIENT, slot_id="s-2"), at_start)
    ) == Refusal.of(RefusalCode.SLOT_PASSED)

    state.teleconsult.slot_choice = SlotBooking(actor=COORDINATOR, slot_id="s-1")
    assert refusal(lambda: checks.slot_booking_now(state)) == Refusal.of(RefusalCode.SLOT_TAKEN)


def test_a_consult_moves_only_while_booked_unsettled_and_not_started() -> None:
    assert refusal(
        lambda: checks.reschedule(journey(Stage.TELECONSULT, WaitingOn.PATIENT), NOW)
    ) == Refusal.of(RefusalCode.NO_BOOKED_CONSULT, step=StepName.RESCHEDULE_CONSULT)
    state = booked_consult(starts_in=timedelta(hours=2))
    checks.reschedule(state, NOW)
    assert refusal(lambda: checks.reschedule(state, NOW + timedelta(hours=2))) == Refusal.of(
        RefusalCode.CONSULT_STARTED
    )
    state.teleconsult.no_show = NoShow(actor=SPECIALIST)
    assert refusal(lambda: checks.reschedule(state, NOW)) == Refusal.of(RefusalCode.CONSULT_SETTLED)


@pytest.mark.parametrize("step", [StepName.CONSULT_OUTCOME, StepName.NO_SHOW])
def test_an_outcome_or_a_no_show_waits_for_the_consult_to_start(step: StepName) -> None:
    state = booked_consult(starts_in=timedelta(hours=2))
    starts_at = NOW + timedelta(hours=2)
    assert refusal(lambda: checks.consult_started(state, step, NOW)) == Refusal.of(
        RefusalCode.CONSULT_NOT_STARTED, step=step, starts_at=starts_at
    )
    checks.consult_started(state, step, starts_at)


def test_a_settled_consult_takes_no_outcome() -> None:
    state = booked_consult(starts_in=timedelta(hours=2))
    starts_at = NOW + timedelta(hours=2)
    assert refusal(lambda: checks.consult_started(state, StepName.NO_SHOW, NOW)).english == (
        "a no-show can be recorded once the consultation has started (2026-12-01 11:00 UTC)"
    )
    state.teleconsult.outcome = ConsultOutcome(actor=SPECIALIST, eligible=True, plan_id=record_id())
    assert refusal(
        lambda: checks.consult_started(state, StepName.NO_SHOW, starts_at)
    ) == Refusal.of(RefusalCode.CONSULT_SETTLED)


def test_the_plan_is_decided_once_in_its_stage() -> None:
    state = journey(Stage.PLAN, WaitingOn.PATIENT)
    checks.plan_decision(state)
    state.plan.decision = PlanDecision(actor=PATIENT, accept=True)
    assert refusal(lambda: checks.plan_decision(state)) == Refusal.of(RefusalCode.PLAN_DECIDED)


def test_travel_details_arrive_once_with_an_arrival_after_today() -> None:
    state = journey(Stage.TRAVEL, WaitingOn.PATIENT)
    today, tomorrow = NOW.date(), NOW.date() + timedelta(days=1)
    details = TravelDetails(
        actor=PATIENT, arrival_date=tomorrow, departure_date=tomorrow + timedelta(days=4)
    )
    checks.travel(state, details, NOW)
    same_day = details.model_copy(update={"arrival_date": today})
    refused = refusal(lambda: checks.travel(state, same_day, NOW))
    assert refused == Refusal.of(RefusalCode.ARRIVAL_NOT_FUTURE)
    assert refused.kind is StepError.INVALID
    state.travel.details = details
    assert refusal(lambda: checks.travel_now(state)) == Refusal.of(RefusalCode.TRAVEL_SENT)


def test_the_clinics_answer_is_recorded_once_while_a_coordinator_waits_for_it() -> None:
    assert refusal(
        lambda: checks.clinic_confirmation(journey(Stage.TRAVEL, WaitingOn.PATIENT))
    ) == Refusal.of(RefusalCode.NO_VISIT_REQUEST)
    state = journey(Stage.TRAVEL, WaitingOn.COORDINATOR)
    # Waiting on a coordinator for something else: no visit request to answer.
    state.task = Task.CHANGE_TRAVEL
    assert refusal(lambda: checks.clinic_confirmation(state)).code is RefusalCode.NO_VISIT_REQUEST
    state.task = Task.RECORD_CLINIC_ANSWER
    checks.clinic_confirmation(state)
    state.travel.clinic_confirmation = ClinicConfirmation(actor=COORDINATOR, confirmed=True)
    assert refusal(lambda: checks.clinic_confirmation(state)) == Refusal.of(
        RefusalCode.NO_VISIT_REQUEST
    )


def test_the_clinic_reports_admission_procedure_and_discharge_in_order_once_each() -> None:
    state = journey(Stage.TREATMENT, WaitingOn.CLINIC)
    assert refusal(lambda: checks.procedure(state)) == Refusal.of(RefusalCode.ADMISSION_MISSING)
    assert refusal(lambda: checks.discharge(state)) == Refusal.of(RefusalCode.PROCEDURE_MISSING)
    checks.admission(state)
    state.treatment.admission = Admission(actor=CLINIC)
    assert refusal(lambda: checks.admission(state)) == Refusal.of(RefusalCode.ADMISSION_REPORTED)
    checks.procedure(state)
    state.treatment.procedure = ProcedureReported(actor=CLINIC, report_id=record_id())
    assert refusal(lambda: checks.procedure(state)) == Refusal.of(RefusalCode.PROCEDURE_REPORTED)
    checks.discharge(state)
    state.treatment.discharge = Discharge(actor=CLINIC)
    assert refusal(lambda: checks.discharge(state)) == Refusal.of(RefusalCode.DISCHARGE_REPORTED)
    assert refusal(lambda: checks.admission(journey(Stage.PLAN))) == Refusal.of(
        RefusalCode.WRONG_STAGE,
        step=StepName.ADMISSION,
        expected_stage=Stage.TREATMENT,
        stage=Stage.PLAN,
    )


def test_an_adverse_event_is_reported_once_from_the_treatment_visit_on() -> None:
    event = AdverseEventReported(actor=CLINIC, event_id=record_id())
    assert refusal(lambda: checks.adverse_event(journey(Stage.TRAVEL), event)) == Refusal.of(
        RefusalCode.ADVERSE_EVENT_TOO_EARLY
    )
    state = journey(Stage.FOLLOW_UP, WaitingOn.PATIENT)
    checks.adverse_event(state, event)
    state.treatment.adverse_events.append(event.event_id)
    assert refusal(lambda: checks.adverse_event(state, event)) == Refusal.of(
        RefusalCode.ADVERSE_EVENT_REPORTED
    )


def test_a_journey_is_withdrawn_once_and_not_after_it_ended() -> None:
    state = journey(Stage.PLAN, WaitingOn.PATIENT)
    checks.withdrawal(state)
    state.withdrawal = Withdrawal(actor=PATIENT)
    assert refusal(lambda: checks.withdrawal(state)) == Refusal.of(RefusalCode.WITHDRAWAL_UNDER_WAY)
    assert refusal(lambda: checks.withdrawal(journey(Stage.WITHDRAWN))) == Refusal.of(
        RefusalCode.JOURNEY_ENDED, stage=Stage.WITHDRAWN, step=StepName.WITHDRAW
    )


def test_only_an_open_incident_is_resolved() -> None:
    state = journey(Stage.VALIDATION, WaitingOn.REVIEWER)
    assert refusal(lambda: checks.incident_open(state)) == Refusal.of(RefusalCode.NO_OPEN_INCIDENT)
    state.incidents.open = Incident(
        number=1,
        kind=IncidentKind.EMAIL_REFUSED,
        step="email:acknowledgement",
        since=NOW,
        actions=(IncidentAction.RETRY,),
    )
    checks.incident_open(state)


def test_follow_up_steps_belong_to_the_follow_up_year() -> None:
    checks.follow_up_year(journey(Stage.FOLLOW_UP, WaitingOn.PATIENT), StepName.REHAB_CHECKIN)
    assert refusal(
        lambda: checks.follow_up_year(journey(Stage.TREATMENT), StepName.FOLLOW_UP_OUTCOME)
    ) == Refusal.of(
        RefusalCode.WRONG_STAGE,
        step=StepName.FOLLOW_UP_OUTCOME,
        expected_stage=Stage.FOLLOW_UP,
        stage=Stage.TREATMENT,
    )


@pytest.mark.parametrize(
    ("stage", "waiting_on", "expected"),
    [
        (Stage.INQUIRY, WaitingOn.NONE, [StepName.WITHDRAW]),
        (Stage.VALIDATION, WaitingOn.REVIEWER, [StepName.REVIEW, StepName.WITHDRAW]),
        (Stage.VALIDATION, WaitingOn.PATIENT, [StepName.DOCUMENTS, StepName.WITHDRAW]),
        (
            Stage.TELECONSULT,
            WaitingOn.PATIENT,
            [StepName.CASE_MANAGER, StepName.BOOK_CONSULT, StepName.WITHDRAW],
        ),
        (
            Stage.TREATMENT,
            WaitingOn.CLINIC,
            [
                StepName.CASE_MANAGER,
                StepName.ADMISSION,
                StepName.ADVERSE_EVENT,
                StepName.WITHDRAW,
            ],
        ),
        (
            Stage.FOLLOW_UP,
            WaitingOn.PATIENT,
            [
                StepName.CASE_MANAGER,
                StepName.ADVERSE_EVENT,
                StepName.WITHDRAW,
                StepName.FOLLOW_UP_OUTCOME,
                StepName.REHAB_CHECKIN,
            ],
        ),
        (Stage.COMPLETED, WaitingOn.NONE, []),
    ],
)
def test_the_journey_expects_the_steps_its_checks_take_now(
    stage: Stage, waiting_on: WaitingOn, expected: list[StepName]
) -> None:
    assert checks.expected_steps(journey(stage, waiting_on)) == expected


def test_a_booked_consult_expects_its_outcome_or_a_move() -> None:
    assert checks.expected_steps(booked_consult()) == [
        StepName.CASE_MANAGER,
        StepName.RESCHEDULE_CONSULT,
        StepName.CONSULT_OUTCOME,
        StepName.NO_SHOW,
        StepName.WITHDRAW,
    ]


def test_other_times_may_be_asked_for_while_the_offered_ones_are_not_chosen() -> None:
    """None of the times suits the patient, or their specialist left: asking for another time
    before choosing ends the round, once."""
    state = journey(Stage.TELECONSULT, WaitingOn.PATIENT)
    state.teleconsult.offered = {"s-1": slot("s-1")}
    assert checks.expected_steps(state) == [
        StepName.CASE_MANAGER,
        StepName.BOOK_CONSULT,
        StepName.RESCHEDULE_CONSULT,
        StepName.WITHDRAW,
    ]
    checks.reschedule(state, NOW)
    state.teleconsult.new_times = RescheduleRequest(actor=COORDINATOR)
    assert StepName.RESCHEDULE_CONSULT not in checks.expected_steps(state)
    assert refusal(lambda: checks.reschedule(state, NOW)) == Refusal.of(
        RefusalCode.NO_BOOKED_CONSULT, step=StepName.RESCHEDULE_CONSULT
    )


def test_arrival_is_compared_on_the_workflows_day() -> None:
    state = journey(Stage.TRAVEL, WaitingOn.PATIENT)
    late_evening = NOW.replace(hour=23, minute=59)
    details = TravelDetails(
        actor=PATIENT, arrival_date=date(2026, 12, 2), departure_date=date(2026, 12, 6)
    )
    checks.travel(state, details, late_evening)
    assert refusal(
        lambda: checks.travel(state, details, late_evening + timedelta(minutes=1))
    ) == Refusal.of(RefusalCode.ARRIVAL_NOT_FUTURE)
