"""The `PatientJourney` workflow: one durable journey from inquiry to the end of follow-up.

The run method walks the journey's stages in order (`workflows/stages/`; the README's "The
journey"). Human steps arrive as updates whose validators (`workflows/checks.py`) refuse,
before anything is recorded, a step in the wrong stage, by the wrong role, or with data that
cannot apply; the handlers only record the decision in the state and the run method acts on
it. A withdrawal can arrive at any stage: the run method then cancels what was booked, newest
first, and ends WITHDRAWN.
"""

from temporalio import workflow
from temporalio.common import VersioningBehavior

from workflows import checks
from workflows.endings import Ended, Withdrawn
from workflows.journey_state import JourneyState
from workflows.moves import Moves
from workflows.stages.intake import case_manager, intake, validation
from workflows.stages.teleconsult import teleconsult
from workflows.stages.travel import plan, travel
from workflows.stages.treatment import follow_up, treatment
from workflows.timeouts import RECORDS_TIMEOUT

with workflow.unsafe.imports_passed_through():
    from activities.records import RecordsActivities
    from domain.actors import SYSTEM
    from domain.incidents import IncidentAction
    from domain.journey import JourneyInput, JourneyOutcome, JourneyStatus
    from domain.names import PATIENT_COUNTRY, REHAB_NOTICE_SIGNAL, TREATMENT_DATE
    from domain.notifications import Audience, NotificationKind
    from domain.records import SetCaseManager
    from domain.rehab import RehabNotice
    from domain.stages import Stage, Task, WaitingOn
    from domain.step_declarations import StepName, withdrawal_step
    from domain.steps import (
        Admission,
        AdverseEventReported,
        CaseManagerAssignment,
        ClinicConfirmation,
        ConsultOutcome,
        Discharge,
        DocumentKind,
        DocumentsReceived,
        IncidentResolution,
        NoShow,
        PartnerConfirmation,
        PlanDecision,
        ProcedureReported,
        RescheduleRequest,
        ReviewDecision,
        ReviewOutcome,
        SlotBooking,
        TravelChange,
        TravelDetails,
        Withdrawal,
        WithdrawalReason,
    )

# Patch ids: each names a change of shape that old histories must keep replaying without.
ANSWER_AFTER_MOVE = "answer-after-move"
# A withdrawal for an erasure clears the search attributes about the patient.
ERASURE_CLEARS_ATTRIBUTES = "erasure-clears-attributes"


# A journey outlives many builds and never continues as new, so it moves to each new build at
# its next task and stays replayable by every change being behind `workflow.patched`.
@workflow.defn(name="PatientJourney", versioning_behavior=VersioningBehavior.AUTO_UPGRADE)
class PatientJourney:
    """Carries one patient's journey; holds ids, stages and decisions, never PHI."""

    @workflow.init
    def __init__(self, journey: JourneyInput) -> None:
        self.state = JourneyState(journey=journey)
        self.moves = Moves(self.state)

    @workflow.run
    async def run(self, journey: JourneyInput) -> JourneyOutcome:
        m, state = self.moves, self.state
        try:
            for stage in (
                intake,
                validation,
                case_manager,
                teleconsult,
                plan,
                travel,
                treatment,
                follow_up,
            ):
                await stage(m)
            await m.notify("completion", NotificationKind.COMPLETION)
            await m.enter(Stage.COMPLETED, WaitingOn.NONE, task=Task.COMPLETED)
        except Withdrawn:
            state.closing = True
            withdrawal = state.withdrawal
            if (
                withdrawal is not None
                and withdrawal.reason is WithdrawalReason.DATA_ERASURE
                and workflow.patched(ERASURE_CLEARS_ATTRIBUTES)
            ):
                # Search attributes are stored in clear and outlive the run by the namespace's
                # retention: what they say of the patient goes while the run can still
                # change them (a closed run's attributes cannot be changed).
                workflow.upsert_search_attributes(
                    [PATIENT_COUNTRY.value_unset(), TREATMENT_DATE.value_unset()]
                )
            await m.compensate()
            await m.notify(
                "withdrawal",
                NotificationKind.WITHDRAWAL,
                facts={"reason": withdrawal.reason.value if withdrawal else ""},
            )
            await m.enter(
                Stage.WITHDRAWN,
                WaitingOn.NONE,
                actor=withdrawal.actor if withdrawal else SYSTEM,
                task=Task.WITHDRAWN,
                # A declined plan is a withdrawal the journey names itself.
                reason=state.ending_reason or (withdrawal.reason.value if withdrawal else None),
            )
        except Ended as end:
            state.closing = True
            state.ending_reason = end.reason
            if end.stage is not Stage.NOT_ELIGIBLE:
                await m.compensate()
            if end.kind is not None:
                await m.notify(f"ending-{end.kind.value}", end.kind, facts={"reason": end.reason})
            await m.enter(end.stage, WaitingOn.NONE, task=Task.CLOSED, reason=end.reason or None)
        await workflow.wait_condition(workflow.all_handlers_finished)
        return JourneyOutcome(journey_id=journey.journey_id, stage=state.stage)

    @workflow.query
    def status(self) -> JourneyStatus:
        state = self.state
        return JourneyStatus(
            journey_id=state.journey_id,
            stage=state.stage,
            waiting_on=state.shown_waiting_on,
            waiting_for=state.waiting_for,
            task=state.task,
            deadline=state.shown_deadline,
            case_manager_id=state.case_manager_id,
            bookings=[b.model_copy() for b in state.bookings],
            offered_slots=list(state.teleconsult.offered.values())
            if state.teleconsult.slot_choice is None
            else [],
            transitions=list(state.transitions),
            ending_reason=state.ending_reason or None,
            incident=state.incidents.open,
            expects=checks.expected_steps(state),
            takes_steps_from=state.waiting_on,
            documents_requested=list(self._documents_requested()),
            travel_change_until=checks.change_travel_until(state),
            confirms_partners=state.travel.changeable,
            rehab_follow_up=state.rehab_follow_up,
        )

    def _documents_requested(self) -> tuple[DocumentKind, ...]:
        """What the reviewer's last request asked for, while the journey waits on it."""
        state, review = self.state, self.state.validation.review
        waiting = state.stage is Stage.VALIDATION and state.waiting_on is WaitingOn.PATIENT
        if not waiting or review is None or review.outcome is not ReviewOutcome.REQUEST_DOCUMENTS:
            return ()
        return review.documents

    async def _answer(self, transitions_before: int) -> JourneyStatus:
        """The status once the run method has acted on the step, so the caller sees where
        the journey went (older journeys answered at once)."""
        state = self.state
        if workflow.patched(ANSWER_AFTER_MOVE):
            # An incident holds the run; the step is in, and the answer says so.
            await workflow.wait_condition(
                lambda: (
                    len(state.transitions) > transitions_before
                    or state.stage.is_final
                    or state.incidents.open is not None
                )
            )
        return self.status()

    @workflow.update
    async def review(self, step: ReviewDecision) -> JourneyStatus:
        before = len(self.state.transitions)
        self.state.validation.review = step
        return await self._answer(before)

    @review.validator
    def _check_review(self, step: ReviewDecision) -> None:
        checks.role(step.actor, StepName.REVIEW)
        checks.review(self.state)

    @workflow.update
    async def documents_received(self, step: DocumentsReceived) -> JourneyStatus:
        before = len(self.state.transitions)
        self.state.validation.documents = step
        return await self._answer(before)

    @documents_received.validator
    def _check_documents(self, step: DocumentsReceived) -> None:
        checks.role(step.actor, StepName.DOCUMENTS)
        checks.documents(self.state)

    @workflow.update
    async def assign_case_manager(self, step: CaseManagerAssignment) -> JourneyStatus:
        await workflow.execute_activity_method(
            RecordsActivities.set_case_manager,
            SetCaseManager(journey_id=self.state.journey_id, case_manager_id=step.case_manager_id),
            start_to_close_timeout=RECORDS_TIMEOUT,
            summary="Record the case manager",
        )
        await self.moves.case_manager_assigned(step.case_manager_id)
        return self.status()

    @assign_case_manager.validator
    def _check_case_manager(self, step: CaseManagerAssignment) -> None:
        checks.role(step.actor, StepName.CASE_MANAGER)
        checks.case_manager(self.state, step)

    @workflow.update
    async def book_consult(self, step: SlotBooking) -> JourneyStatus:
        before = len(self.state.transitions)
        self.state.teleconsult.slot_choice = step
        return await self._answer(before)

    @book_consult.validator
    def _check_booking(self, step: SlotBooking) -> None:
        checks.role(step.actor, StepName.BOOK_CONSULT)
        checks.slot_booking(self.state, step, workflow.now())

    @workflow.update
    async def reschedule_consult(self, step: RescheduleRequest) -> JourneyStatus:
        before = len(self.state.transitions)
        if checks.choosing(self.state):
            # No run of an earlier build took this step while choosing (its validator refused
            # it), so its histories never reach this path: no patch is needed.
            self.state.teleconsult.new_times = step
        else:
            self.state.teleconsult.reschedule = step
        return await self._answer(before)

    @reschedule_consult.validator
    def _check_reschedule(self, step: RescheduleRequest) -> None:
        checks.role(step.actor, StepName.RESCHEDULE_CONSULT)
        checks.reschedule(self.state, workflow.now())

    @workflow.update
    async def consult_no_show(self, step: NoShow) -> JourneyStatus:
        before = len(self.state.transitions)
        self.state.teleconsult.no_show = step
        return await self._answer(before)

    @consult_no_show.validator
    def _check_no_show(self, step: NoShow) -> None:
        checks.role(step.actor, StepName.NO_SHOW)
        checks.consult_started(self.state, StepName.NO_SHOW, workflow.now())

    @workflow.update
    async def consult_outcome(self, step: ConsultOutcome) -> JourneyStatus:
        before = len(self.state.transitions)
        self.state.teleconsult.outcome = step
        return await self._answer(before)

    @consult_outcome.validator
    def _check_outcome(self, step: ConsultOutcome) -> None:
        checks.role(step.actor, StepName.CONSULT_OUTCOME)
        checks.consult_started(self.state, StepName.CONSULT_OUTCOME, workflow.now())

    @workflow.update
    async def plan_decision(self, step: PlanDecision) -> JourneyStatus:
        before = len(self.state.transitions)
        self.state.plan.decision = step
        return await self._answer(before)

    @plan_decision.validator
    def _check_plan(self, step: PlanDecision) -> None:
        checks.role(step.actor, StepName.PLAN_DECISION)
        checks.plan_decision(self.state)

    @workflow.update
    async def travel_details(self, step: TravelDetails) -> JourneyStatus:
        before = len(self.state.transitions)
        self.state.travel.details = step
        return await self._answer(before)

    @travel_details.validator
    def _check_travel(self, step: TravelDetails) -> None:
        checks.role(step.actor, StepName.TRAVEL)
        checks.travel(self.state, step, workflow.now())

    @workflow.update
    async def clinic_confirmation(self, step: ClinicConfirmation) -> JourneyStatus:
        before = len(self.state.transitions)
        self.state.travel.clinic_confirmation = step
        return await self._answer(before)

    @clinic_confirmation.validator
    def _check_clinic_confirmation(self, step: ClinicConfirmation) -> None:
        checks.role(step.actor, StepName.CLINIC_CONFIRMATION)
        checks.clinic_confirmation(self.state)

    @workflow.update
    async def change_travel(self, step: TravelChange) -> JourneyStatus:
        before = len(self.state.transitions)
        self.state.travel.change = step
        return await self._answer(before)

    @change_travel.validator
    def _check_change_travel(self, step: TravelChange) -> None:
        checks.role(step.actor, StepName.CHANGE_TRAVEL)
        checks.change_travel(self.state, step, workflow.now())

    @workflow.update
    async def partner_confirmation(self, step: PartnerConfirmation) -> JourneyStatus:
        # The partner's watch sees it and stops; nothing else of the run waits on it.
        for booking in self.state.bookings:
            if booking.booking_id == step.booking_id:
                booking.confirmed = True
        return self.status()

    @partner_confirmation.validator
    def _check_partner_confirmation(self, step: PartnerConfirmation) -> None:
        checks.role(step.actor, StepName.PARTNER_CONFIRMATION)
        checks.partner_confirmation(self.state, step)

    @workflow.update
    async def clinic_admission(self, step: Admission) -> JourneyStatus:
        before = len(self.state.transitions)
        self.state.treatment.admission = step
        return await self._answer(before)

    @clinic_admission.validator
    def _check_admission(self, step: Admission) -> None:
        checks.role(step.actor, StepName.ADMISSION)
        checks.admission(self.state)

    @workflow.update
    async def procedure_report(self, step: ProcedureReported) -> JourneyStatus:
        before = len(self.state.transitions)
        self.state.treatment.procedure = step
        return await self._answer(before)

    @procedure_report.validator
    def _check_procedure(self, step: ProcedureReported) -> None:
        checks.role(step.actor, StepName.PROCEDURE)
        checks.procedure(self.state)

    @workflow.update
    async def adverse_event(self, step: AdverseEventReported) -> JourneyStatus:
        self.state.treatment.adverse_events.append(step.event_id)
        await self.moves.notify(
            f"adverse-event-{step.event_id}",
            NotificationKind.ADVERSE_EVENT_ESCALATION,
            Audience.MEDICAL_LEAD,
        )
        return self.status()

    @adverse_event.validator
    def _check_adverse_event(self, step: AdverseEventReported) -> None:
        checks.role(step.actor, StepName.ADVERSE_EVENT)
        checks.adverse_event(self.state, step)

    @workflow.update
    async def clinic_discharge(self, step: Discharge) -> JourneyStatus:
        before = len(self.state.transitions)
        self.state.treatment.discharge = step
        return await self._answer(before)

    @clinic_discharge.validator
    def _check_discharge(self, step: Discharge) -> None:
        checks.role(step.actor, StepName.DISCHARGE)
        checks.discharge(self.state)

    @workflow.update
    async def withdraw(self, step: Withdrawal) -> JourneyStatus:
        self.state.withdrawal = step
        await workflow.wait_condition(lambda: self.state.stage.is_final)
        return self.status()

    @withdraw.validator
    def _check_withdrawal(self, step: Withdrawal) -> None:
        # Validators do not run on replay, so who may withdraw for which reason can change
        # without a patch.
        checks.role(step.actor, withdrawal_step(step.reason))
        checks.withdrawal(self.state)

    @workflow.signal(name=REHAB_NOTICE_SIGNAL)
    def rehab_follow_up_changed(self, notice: RehabNotice) -> None:
        """The follow-up year opened or closed a rehabilitation follow-up; the FOLLOW_UP stage
        shows it (signals may cross: only a later notice replaces an earlier one)."""
        latest = self.state.rehab_notice
        if latest is None or notice.order > latest.order:
            self.state.rehab_notice = notice

    @workflow.update
    async def resolve_incident(self, step: IncidentResolution) -> JourneyStatus:
        state = self.state
        before = len(state.transitions)
        self.moves.incidents.resolve(step)
        # Closing the incident is itself a move, so the answer shows the journey after it;
        # a withdrawal answers once the journey has ended, as the withdrawal step does.
        if step.action is IncidentAction.WITHDRAW:
            await workflow.wait_condition(lambda: state.stage.is_final)
        await workflow.wait_condition(
            lambda: len(state.transitions) > before or state.stage.is_final
        )
        return self.status()

    @resolve_incident.validator
    def _check_resolution(self, step: IncidentResolution) -> None:
        checks.role(step.actor, StepName.RESOLVE_INCIDENT)
        self.moves.incidents.check(step)
