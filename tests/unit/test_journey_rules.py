"""Other pure rules of a journey: resolving an incident, what its status says it waits for,
whom people see it wait on, and which incident a failure opens."""

import pytest

from domain.errors import ActivityFailure, StepError
from domain.incidents import Incident, IncidentAction, IncidentKind, OutsideSystem, incident_kind
from domain.journey import JourneyStatus
from domain.refusals import Refusal, RefusalCode
from domain.stages import TASK_ENGLISH, Stage, Task, WaitingOn
from domain.step_declarations import StepName, withdrawal_step
from domain.steps import IncidentResolution, WithdrawalReason
from tests.unit.states import COORDINATOR, NOW, journey, refusal
from workflows.incidents import IncidentState, check_resolution

RETRY_ONLY = Incident(
    number=2,
    kind=IncidentKind.CLINIC_UNAVAILABLE,
    step="book:clinic-visit",
    since=NOW,
    actions=(IncidentAction.RETRY, IncidentAction.WITHDRAW),
)


def resolution(action: IncidentAction, number: int | None = None) -> IncidentResolution:
    return IncidentResolution(actor=COORDINATOR, action=action, incident_number=number)


def test_an_incident_is_resolved_while_open_by_one_of_its_actions() -> None:
    state = IncidentState(count=2, open=RETRY_ONLY)
    check_resolution(state, resolution(IncidentAction.RETRY))
    check_resolution(state, resolution(IncidentAction.WITHDRAW, 2))
    skipped = refusal(lambda: check_resolution(state, resolution(IncidentAction.SKIP)))
    assert skipped == Refusal.of(
        RefusalCode.ACTION_NOT_OFFERED,
        action=IncidentAction.SKIP,
        actions=(IncidentAction.RETRY, IncidentAction.WITHDRAW),
    )
    assert skipped.kind is StepError.INVALID
    assert refusal(lambda: check_resolution(state, resolution(IncidentAction.RETRY, 1))) == (
        Refusal.of(RefusalCode.INCIDENT_SUPERSEDED, incident_number=1, open_incident=2)
    )


def test_an_incident_already_resolved_or_none_refuses_a_resolution() -> None:
    assert refusal(
        lambda: check_resolution(IncidentState(), resolution(IncidentAction.RETRY))
    ) == Refusal.of(RefusalCode.NO_OPEN_INCIDENT)
    resolving = IncidentState(count=2, open=RETRY_ONLY, resolution=resolution(IncidentAction.RETRY))
    assert refusal(lambda: check_resolution(resolving, resolution(IncidentAction.RETRY))) == (
        Refusal.of(RefusalCode.NO_OPEN_INCIDENT)
    )


def test_the_status_says_in_english_and_in_code_what_the_journey_waits_for() -> None:
    state = journey(Stage.VALIDATION, WaitingOn.REVIEWER)
    state.task = Task.REVIEW_CASE
    assert (state.task, state.waiting_for) == (Task.REVIEW_CASE, "to review the case")
    # A journey closed for a coded reason names the reason, as its status always has.
    state.stage, state.task, state.ending_reason = Stage.LOST_CONTACT, Task.CLOSED, "no_shows"
    assert state.waiting_for == "no_shows"
    state.ending_reason = ""
    assert state.waiting_for == "closed"


def test_every_task_has_english() -> None:
    assert set(TASK_ENGLISH) == set(Task)
    assert len(set(TASK_ENGLISH.values())) == len(Task)


@pytest.mark.parametrize(("english", "task"), [(e, t) for t, e in TASK_ENGLISH.items()])
def test_an_older_status_in_english_alone_reads_with_its_code(english: str, task: Task) -> None:
    older = {
        "journey_id": "j-1",
        "stage": "VALIDATION",
        "waiting_on": "reviewer",
        "waiting_for": english,
    }
    assert JourneyStatus.model_validate(older).task is task


def test_a_status_keeps_the_code_it_carries() -> None:
    status = JourneyStatus.model_validate(
        {
            "journey_id": "j-1",
            "stage": "LOST_CONTACT",
            "waiting_on": "none",
            "waiting_for": "no_shows",
            "task": "closed",
        }
    )
    assert status.task is Task.CLOSED
    unknown = JourneyStatus(
        journey_id="j-1", stage=Stage.INQUIRY, waiting_on=WaitingOn.NONE, waiting_for="?"
    )
    assert unknown.task is None


def test_an_open_incident_shows_a_coordinator_and_no_deadline() -> None:
    state = journey(Stage.TELECONSULT, WaitingOn.PATIENT)
    state.deadline = NOW
    assert (state.shown_waiting_on, state.shown_deadline) == (WaitingOn.PATIENT, NOW)
    state.incidents.open = RETRY_ONLY
    assert (state.shown_waiting_on, state.shown_deadline) == (WaitingOn.COORDINATOR, None)


@pytest.mark.parametrize(
    ("system", "failure", "kind"),
    [
        (OutsideSystem.EMAIL, ActivityFailure.MAIL_REJECTED, IncidentKind.EMAIL_REFUSED),
        (OutsideSystem.EMAIL, None, IncidentKind.EMAIL_UNAVAILABLE),
        (OutsideSystem.CLINIC, ActivityFailure.CLINIC_REJECTED, IncidentKind.CLINIC_REFUSED),
        (OutsideSystem.CLINIC, ActivityFailure.UNEXPECTED, IncidentKind.CLINIC_UNAVAILABLE),
        (OutsideSystem.CALENDAR, ActivityFailure.NO_SPECIALIST, IncidentKind.NO_SPECIALIST),
        (OutsideSystem.RECORDS, ActivityFailure.RECORD_NOT_FOUND, IncidentKind.RECORD_MISSING),
    ],
)
def test_a_failure_opens_the_incident_of_its_kind(
    system: OutsideSystem, failure: str | None, kind: IncidentKind
) -> None:
    assert incident_kind(system, failure) is kind


def test_a_withdrawal_for_consent_or_erasure_is_those_steps() -> None:
    assert withdrawal_step(WithdrawalReason.FINANCIAL) is StepName.WITHDRAW
    assert withdrawal_step(WithdrawalReason.CONSENT_WITHDRAWN) is StepName.WITHDRAW_CONSENT
    assert withdrawal_step(WithdrawalReason.DATA_ERASURE) is StepName.ERASE
