"""The whole journey in the time-skipping environment, with the real worker, Postgres, SMTP."""

import asyncio
import uuid
from datetime import timedelta

import asyncpg
import pytest
from temporalio.client import WorkflowUpdateFailedError
from temporalio.exceptions import ApplicationError

from db.clinical import ClinicalRepository
from domain.actors import Role
from domain.names import CASE_MANAGER
from domain.refusals import Refusal, RefusalCode
from domain.stages import Stage, WaitingOn
from domain.step_declarations import StepName
from domain.steps import (
    AdverseEventReported,
    CaseManagerAssignment,
    ConsultOutcome,
    DocumentKind,
    DocumentsReceived,
    NoShow,
    PlanDecision,
    ProcedureReported,
    RejectionReason,
    RescheduleRequest,
    ReviewDecision,
    ReviewOutcome,
    SlotBooking,
    Withdrawal,
)
from tests.helpers import eventually, read_mailbox, refusal_of, text_of
from tests.journeys import CLINIC, COORDINATOR, SPECIALIST, JourneyDriver, NewJourney
from workflows.journey import PatientJourney

pytestmark = pytest.mark.usefixtures("worker")


async def test_happy_path_from_inquiry_to_completion(new_journey: NewJourney) -> None:
    j = await new_journey().start()
    await j.approve()
    status = await j.reach(Stage.TELECONSULT, WaitingOn.PATIENT)
    assert status.case_manager_id == "cm-es", "Spanish-speaking case manager for a Spanish speaker"
    assert len(status.offered_slots) == 6
    await j.hold_consult()
    await j.accept_plan()
    await j.send_travel()
    await j.confirm_partners()
    await j.sleep(timedelta(days=31))
    await j.treat()
    await j.follow_up_year()

    outcome = await j.result()
    assert outcome.stage is Stage.COMPLETED
    assert await _ending(j) == ("COMPLETED", None)
    steps = j.mail_kinds()
    for expected in (
        "acknowledgement",
        "staff-new-inquiry",
        "case-manager-intro-1",
        "case-assigned-1",
        "slot-proposals-1",
        "booking-confirmation-1",
        "consult-booked-1",
        "consult-reminder-1-1",
        "consult-reminder-1-2",
        "plan-and-quote",
        "travel-details-request",
        "visit-confirmed",
        "visa-letter",
        "hotel-request",
        "transfer-request",
        "travel-checklist",
        "travel-reminder",
        "follow-up-advice-1-send",
        "follow-up-consult-1-slots-1",
        "follow-up-consult-1-booked-1",
        "follow-up-consult-1-booked-1-specialist",
        "follow-up-consult-1-before-1-1",
        "follow-up-consult-1-before-1-2",
        "follow-up-consult-5-booked-1",
        "completion",
    ):
        assert expected in steps, expected
    assert len(steps) == len(set(steps)), "no step emailed twice"
    assert not any("escalation" in s or "missed" in s or "overdue" in s for s in steps)
    assert await j.bookings() == {
        "consult-1": "active",
        "clinic-visit": "active",
        "hotel": "active",
        "transfer": "active",
        **{f"follow-up-{n}-1": "active" for n in range(1, 6)},
    }
    status = await j.status()
    stages = [t.stage for t in status.transitions]
    assert [s for i, s in enumerate(stages) if i == 0 or stages[i - 1] != s] == [
        Stage.INQUIRY,
        Stage.VALIDATION,
        Stage.CASE_MANAGER,
        Stage.TELECONSULT,
        Stage.PLAN,
        Stage.TRAVEL,
        Stage.TREATMENT,
        Stage.FOLLOW_UP,
        Stage.COMPLETED,
    ]
    actors = {t.actor_role for t in status.transitions}
    assert {"reviewer", "specialist", "patient", "clinic"} <= actors


async def _ending(j: JourneyDriver) -> tuple[str, str | None]:
    """The journey's last stage change as PostgreSQL holds it: its stage and coded reason."""
    row = await j.pool.fetchrow(
        """SELECT stage, reason FROM stage_changes WHERE journey_id = $1
            ORDER BY seq DESC LIMIT 1""",
        j.journey_id,
    )
    return row["stage"], row["reason"]


async def test_rejection_ends_not_eligible_with_a_kind_email(new_journey: NewJourney) -> None:
    j = await new_journey().start()
    await j.reject(RejectionReason.CONTRAINDICATION)
    assert (await j.result()).stage is Stage.NOT_ELIGIBLE
    assert j.mail_kinds()[-1] == "ending-rejection"
    assert (await j.status()).ending_reason == "contraindication"
    assert await _ending(j) == ("NOT_ELIGIBLE", "contraindication")
    rejection = next(m for m in read_mailbox(j.mail_dir) if ".ending-rejection@" in m["Message-ID"])
    assert "una contraindicación médica" in text_of(rejection), "reason in the patient's language"


async def test_review_escalates_every_day_until_the_review_arrives(new_journey: NewJourney) -> None:
    j = await new_journey().start()
    await j.reach(Stage.VALIDATION, WaitingOn.REVIEWER)
    await j.sleep(timedelta(hours=47))
    assert not [s for s in j.mail_kinds() if "escalation" in s]
    await j.sleep(timedelta(hours=2))
    await eventually(
        lambda: asyncio.sleep(0, j.mail_kinds()), until=lambda m: "review-escalation-1-1" in m
    )
    await j.sleep(timedelta(hours=24))
    await j.sleep(timedelta(hours=24))
    escalations = await eventually(
        lambda: asyncio.sleep(0, [s for s in j.mail_kinds() if "escalation" in s]),
        until=lambda m: len(m) == 3,
    )
    assert escalations == [
        "review-escalation-1-1",
        "review-escalation-1-2",
        "review-escalation-1-3",
    ]
    await j.approve()
    await j.reach(Stage.TELECONSULT, WaitingOn.PATIENT)


async def test_documents_requested_then_received_go_back_to_review(new_journey: NewJourney) -> None:
    j = await new_journey().start()
    await j.request_documents(DocumentKind.MRI, DocumentKind.ASIA_EXAM)
    await j.sleep(timedelta(days=4))
    await j.handle.execute_update(
        PatientJourney.documents_received,
        DocumentsReceived(actor=j.patient, document_ids=(str(uuid.uuid4()),)),
    )
    status = await j.reach(Stage.VALIDATION, WaitingOn.REVIEWER)
    assert status.transitions[-1].actor_role == "patient"
    assert "documents-request-1" in j.mail_kinds()
    assert "documents-reminder-1-1" in j.mail_kinds()
    assert "documents-reminder-1-2" not in j.mail_kinds()


async def test_documents_never_sent_close_as_lost_contact(new_journey: NewJourney) -> None:
    j = await new_journey().start()
    await j.request_documents(DocumentKind.MRI)
    await j.sleep(timedelta(days=31))
    assert (await j.result()).stage is Stage.LOST_CONTACT
    steps = j.mail_kinds()
    assert [s for s in steps if s.startswith("documents-reminder")] == [
        "documents-reminder-1-1",
        "documents-reminder-1-2",
    ]
    assert steps[-1] == "ending-lost_contact"


async def test_no_slot_chosen_closes_after_a_reminder(new_journey: NewJourney) -> None:
    j = await new_journey().start()
    await j.approve()
    await j.reach(Stage.TELECONSULT, WaitingOn.PATIENT)
    await j.sleep(timedelta(days=22))
    assert (await j.result()).stage is Stage.LOST_CONTACT
    assert "slot-reminder-1-1" in j.mail_kinds()


async def test_two_no_shows_close_the_journey_and_cancel_the_consults(
    new_journey: NewJourney,
) -> None:
    j = await new_journey().start()
    await j.approve()
    for _ in range(2):
        starts_at = await j.book_first_slot()
        await j.sleep(starts_at - await j.now() + timedelta(minutes=10))
        await j.handle.execute_update(PatientJourney.consult_no_show, NoShow(actor=SPECIALIST))
    assert (await j.result()).stage is Stage.LOST_CONTACT
    assert await j.bookings() == {"consult-1": "cancelled", "consult-2": "cancelled"}
    assert "no-show-1" in j.mail_kinds()
    assert (await j.status()).ending_reason == "no_shows"


async def test_reschedule_offers_new_slots(new_journey: NewJourney) -> None:
    j = await new_journey().start()
    await j.approve()
    await j.book_first_slot()
    await j.handle.execute_update(
        PatientJourney.reschedule_consult, RescheduleRequest(actor=j.patient)
    )
    status = await j.reach(Stage.TELECONSULT, WaitingOn.PATIENT)
    assert all(s.slot_id.endswith(tuple(f":2:{i}" for i in range(6))) for s in status.offered_slots)
    assert await j.bookings() == {"consult-1": "cancelled"}
    assert "consult-cancelled-1" in j.mail_kinds()


async def test_quote_expires_after_two_reminders(new_journey: NewJourney) -> None:
    j = await new_journey().start()
    await j.approve()
    await j.hold_consult()
    await j.reach(Stage.PLAN, WaitingOn.PATIENT)
    await j.sleep(timedelta(days=31))
    assert (await j.result()).stage is Stage.LOST_CONTACT
    assert [s for s in j.mail_kinds() if s.startswith("plan-reminder")] == [
        "plan-reminder-1",
        "plan-reminder-2",
    ]


async def test_withdrawal_mid_travel_cancels_bookings_newest_first(
    new_journey: NewJourney, pool: asyncpg.Pool
) -> None:
    j = await new_journey().start()
    await j.book_the_trip()
    status = await j.handle.execute_update(PatientJourney.withdraw, Withdrawal(actor=COORDINATOR))
    assert status.stage is Stage.WITHDRAWN
    assert await j.bookings() == {
        "consult-1": "active",
        "clinic-visit": "cancelled",
        "hotel": "cancelled",
        "transfer": "cancelled",
    }
    order = await pool.fetch(
        """SELECT step FROM bookings WHERE journey_id = $1 AND status = 'cancelled'
            ORDER BY cancelled_at""",
        j.journey_id,
    )
    assert [r["step"] for r in order] == ["transfer", "hotel", "clinic-visit"]
    steps = j.mail_kinds()
    assert steps[-4:] == ["cancel-transfer", "cancel-hotel", "cancel-clinic-visit", "withdrawal"]
    assert status.transitions[-1].actor_role == "coordinator"
    assert (await j.result()).stage is Stage.WITHDRAWN
    assert await _ending(j) == ("WITHDRAWN", "patient_request")


@pytest.mark.parametrize(
    "stage", [Stage.VALIDATION, Stage.TELECONSULT, Stage.PLAN, Stage.TREATMENT, Stage.FOLLOW_UP]
)
async def test_withdrawal_at_any_stage(new_journey: NewJourney, stage: Stage) -> None:
    j = await new_journey().start()
    expected_cancelled: set[str] = set()
    if stage is not Stage.VALIDATION:
        await j.approve()
    if stage is Stage.TELECONSULT:
        await j.book_first_slot()
        expected_cancelled = {"consult-1"}
    if stage in (Stage.PLAN, Stage.TREATMENT, Stage.FOLLOW_UP):
        await j.hold_consult()
    if stage in (Stage.TREATMENT, Stage.FOLLOW_UP):
        await j.accept_plan()
        await j.send_travel()
        await j.sleep(timedelta(days=31))
        expected_cancelled = {"clinic-visit", "hotel", "transfer"}
    if stage is Stage.FOLLOW_UP:
        await j.treat()
        expected_cancelled = set()
    await j.reach(stage)
    if stage is Stage.FOLLOW_UP:
        # The year opens with an email. The patient withdraws after it arrives: one already
        # handed to the relay cannot be called back, so it could land after the withdrawal's.
        async def kinds() -> list[str]:
            return j.mail_kinds()

        await eventually(
            kinds,
            until=lambda sent: "follow-up-advice-1-send" in sent,
            what="the follow-up year's first email",
        )
    await j.handle.execute_update(PatientJourney.withdraw, Withdrawal(actor=j.patient))
    assert (await j.result()).stage is Stage.WITHDRAWN
    cancelled = {k for k, v in (await j.bookings()).items() if v == "cancelled"}
    assert cancelled == expected_cancelled
    assert j.mail_kinds()[-1] == "withdrawal"


async def test_low_dose_and_adverse_event_reach_the_medical_lead(new_journey: NewJourney) -> None:
    j = await new_journey().start()
    await j.book_the_trip()
    await j.sleep(timedelta(days=31))
    await j.treat(cells=90_000_000)
    async with j.pool.acquire() as conn:
        event_id = await ClinicalRepository(conn).add_adverse_event(
            journey_id=j.journey_id, severity="moderate", description="post-procedure headache"
        )
    await j.handle.execute_update(
        PatientJourney.adverse_event, AdverseEventReported(actor=CLINIC, event_id=event_id)
    )
    steps = j.mail_kinds()
    assert "dose-escalation" in steps
    assert f"adverse-event-{event_id}" in steps
    with pytest.raises(WorkflowUpdateFailedError) as raised:
        await j.handle.execute_update(
            PatientJourney.adverse_event, AdverseEventReported(actor=CLINIC, event_id=event_id)
        )
    assert refusal_of(raised.value).code is RefusalCode.ADVERSE_EVENT_REPORTED
    assert j.mail_kinds().count(f"adverse-event-{event_id}") == 1


async def test_no_admission_by_end_of_day_one_alerts_the_coordinator(
    new_journey: NewJourney,
) -> None:
    j = await new_journey().start()
    await j.book_the_trip()
    await j.sleep(timedelta(days=31))
    await j.reach(Stage.TREATMENT, WaitingOn.CLINIC)
    await j.sleep(timedelta(days=1, hours=1))
    status = await j.reach(Stage.TREATMENT, WaitingOn.COORDINATOR)
    assert "admission-overdue" in j.mail_kinds()
    assert status.deadline is None
    await j.treat()


async def test_refused_steps_leave_no_trace_in_the_history(new_journey: NewJourney) -> None:
    j = await new_journey().start()
    await j.reach(Stage.VALIDATION, WaitingOn.REVIEWER)
    await j.idle()
    before = await j.decisions()

    def wrong_stage(step: StepName, expected: Stage) -> Refusal:
        return Refusal.of(
            RefusalCode.WRONG_STAGE, step=step, expected_stage=expected, stage=Stage.VALIDATION
        )

    refusals = [
        (
            PatientJourney.review,
            ReviewDecision(actor=COORDINATOR, outcome=ReviewOutcome.APPROVE),
            Refusal.of(RefusalCode.ROLE_NOT_ALLOWED, roles=(Role.MEDICAL_LEAD, Role.REVIEWER)),
        ),
        (
            PatientJourney.plan_decision,
            PlanDecision(actor=j.patient, accept=True),
            wrong_stage(StepName.PLAN_DECISION, expected=Stage.PLAN),
        ),
        (
            PatientJourney.procedure_report,
            ProcedureReported(actor=CLINIC, report_id=str(uuid.uuid4())),
            wrong_stage(StepName.PROCEDURE, expected=Stage.TREATMENT),
        ),
        (
            PatientJourney.documents_received,
            DocumentsReceived(actor=j.patient, document_ids=(str(uuid.uuid4()),)),
            Refusal.of(
                RefusalCode.NOT_EXPECTED_NOW,
                step=StepName.DOCUMENTS,
                waiting_on=WaitingOn.REVIEWER,
            ),
        ),
        (
            PatientJourney.assign_case_manager,
            CaseManagerAssignment(actor=COORDINATOR, case_manager_id="cm-en"),
            Refusal.of(RefusalCode.CASE_NOT_VALIDATED),
        ),
    ]
    for update, step, expected in refusals:
        with pytest.raises(WorkflowUpdateFailedError) as raised:
            await j.handle.execute_update(update, step)  # type: ignore[call-overload]
        assert refusal_of(raised.value) == expected, raised.value.cause
        # The English message, for API clients and logs, is the refusal's own.
        cause = raised.value.cause
        assert isinstance(cause, ApplicationError) and cause.message == expected.english
    # The time-skipping server records the workflow tasks that ran the validators (the real
    # server drops them); beyond those, nothing: no update, no activity, no timer.
    assert await j.decisions() == before
    await j.approve()
    status = await j.reach(Stage.TELECONSULT, WaitingOn.PATIENT)
    with pytest.raises(WorkflowUpdateFailedError) as raised:
        await j.handle.execute_update(
            PatientJourney.book_consult, SlotBooking(actor=j.patient, slot_id="not-offered")
        )
    assert refusal_of(raised.value).code is RefusalCode.SLOT_NOT_OFFERED
    with pytest.raises(WorkflowUpdateFailedError) as raised:
        await j.handle.execute_update(
            PatientJourney.consult_outcome,
            ConsultOutcome(actor=SPECIALIST, eligible=False, reason=RejectionReason.OTHER),
        )
    assert refusal_of(raised.value) == Refusal.of(
        RefusalCode.NO_BOOKED_CONSULT, step=StepName.CONSULT_OUTCOME
    )
    after = await j.status()
    assert (after.stage, after.waiting_on) == (Stage.TELECONSULT, WaitingOn.PATIENT)
    assert after.transitions == status.transitions, "the refused steps moved nothing"


async def test_case_manager_can_be_reassigned(new_journey: NewJourney) -> None:
    j = await new_journey().start()
    await j.approve()
    await j.reach(Stage.TELECONSULT, WaitingOn.PATIENT)
    status = await j.handle.execute_update(
        PatientJourney.assign_case_manager,
        CaseManagerAssignment(actor=COORDINATOR, case_manager_id="cm-en"),
    )
    assert status.case_manager_id == "cm-en"
    described = await j.handle.describe()
    assert described.typed_search_attributes.get(CASE_MANAGER) == "cm-en"
    assert "case-manager-intro-2" in j.mail_kinds()


async def test_the_status_names_the_steps_the_journey_takes_now(new_journey: NewJourney) -> None:
    """What a staff screen offers: the steps the journey would take at each point, and no
    other (each would pass the update's own validator)."""
    j = await new_journey().start()
    at_review = await j.reach(Stage.VALIDATION, WaitingOn.REVIEWER)
    assert set(at_review.expects) == {StepName.REVIEW, StepName.WITHDRAW}
    await j.approve()
    choosing = await j.reach(Stage.TELECONSULT, WaitingOn.PATIENT)
    assert set(choosing.expects) == {
        StepName.BOOK_CONSULT,
        # Other times, when none of these suits.
        StepName.RESCHEDULE_CONSULT,
        StepName.CASE_MANAGER,
        StepName.WITHDRAW,
    }
    starts_at = await j.book_first_slot()
    booked = await j.status()
    # Whether the consult has started is the validator's to say when the step arrives.
    assert {
        StepName.RESCHEDULE_CONSULT,
        StepName.CONSULT_OUTCOME,
        StepName.NO_SHOW,
    } <= set(booked.expects)
    assert StepName.BOOK_CONSULT not in booked.expects
    await j.consult_held(starts_at)
    planning = await j.reach(Stage.PLAN, WaitingOn.PATIENT)
    assert set(planning.expects) == {
        StepName.PLAN_DECISION,
        StepName.CASE_MANAGER,
        StepName.WITHDRAW,
    }
    await j.handle.terminate("test over")
