"""The human steps of a journey: updates whose validators refuse before anything is recorded.

Handlers only record the decision; the run method in `journey.py` acts on it.
"""

from temporalio import workflow

from workflows.journey_state import RECORDS_TIMEOUT, JourneyState
from workflows.rules import invalid, refuse, require_role, require_stage, require_waiting

with workflow.unsafe.imports_passed_through():
    from activities.records import RecordsActivities
    from domain.incidents import IncidentAction
    from domain.journey import JourneyStatus
    from domain.notifications import Audience, NotificationKind
    from domain.records import (
        SetCaseManager,
    )
    from domain.stages import Stage, WaitingOn
    from domain.step_roles import STEP_ROLES, StepName
    from domain.steps import (
        Admission,
        AdverseEventReported,
        CaseManagerAssignment,
        ClinicConfirmation,
        ConsultOutcome,
        Discharge,
        DocumentsReceived,
        IncidentResolution,
        NoShow,
        PlanDecision,
        ProcedureReported,
        RescheduleRequest,
        ReviewDecision,
        SlotBooking,
        TravelDetails,
        Withdrawal,
    )

# Patch ids: each names a change of shape that old histories must keep replaying without.
ANSWER_AFTER_MOVE = "answer-after-move"


class JourneySteps(JourneyState):
    """The status query and every update of `PatientJourney`."""

    async def _answer(self, transitions_before: int) -> JourneyStatus:
        """The status once the run method has acted on the step, so the caller sees where
        the journey went (older journeys answered at once)."""
        if workflow.patched(ANSWER_AFTER_MOVE):
            # An incident holds the run; the step is in, and the answer says so.
            await workflow.wait_condition(
                lambda: (
                    len(self._transitions) > transitions_before
                    or self._stage.is_final
                    or self._incidents.open is not None
                )
            )
        return self.status()

    # ---------------------------------------------------------------------- query, updates
    @workflow.query
    def status(self) -> JourneyStatus:
        return JourneyStatus(
            journey_id=self._journey.journey_id,
            stage=self._stage,
            waiting_on=self._shown_waiting_on,
            waiting_for=self._task,
            deadline=None if self._incidents.open else self._deadline,
            case_manager_id=self._case_manager_id,
            bookings=[b.model_copy() for b in self._bookings],
            offered_slots=list(self._offered.values()) if self._slot_choice is None else [],
            transitions=list(self._transitions),
            ending_reason=self._ending_reason or None,
            incident=self._incidents.open,
        )

    @workflow.update
    async def review(self, step: ReviewDecision) -> JourneyStatus:
        before = len(self._transitions)
        self._review = step
        return await self._answer(before)

    @review.validator
    def _check_review(self, step: ReviewDecision) -> None:
        require_role(step.actor.role, STEP_ROLES[StepName.REVIEW])
        require_stage(self._stage, Stage.VALIDATION, "a case review")
        require_waiting(self._waiting_on, WaitingOn.REVIEWER, "a case review")
        if self._review is not None:
            raise refuse("this case has already been reviewed")

    @workflow.update
    async def documents_received(self, step: DocumentsReceived) -> JourneyStatus:
        before = len(self._transitions)
        self._documents = step
        return await self._answer(before)

    @documents_received.validator
    def _check_documents(self, step: DocumentsReceived) -> None:
        require_role(step.actor.role, STEP_ROLES[StepName.DOCUMENTS])
        require_stage(self._stage, Stage.VALIDATION, "sending documents")
        require_waiting(self._waiting_on, WaitingOn.PATIENT, "sending documents")

    @workflow.update
    async def assign_case_manager(self, step: CaseManagerAssignment) -> JourneyStatus:
        await workflow.execute_activity_method(
            RecordsActivities.set_case_manager,
            SetCaseManager(
                journey_id=self._journey.journey_id, case_manager_id=step.case_manager_id
            ),
            start_to_close_timeout=RECORDS_TIMEOUT,
            summary="Record the case manager",
        )
        await self._case_manager_assigned(step.case_manager_id)
        return self.status()

    @assign_case_manager.validator
    def _check_case_manager(self, step: CaseManagerAssignment) -> None:
        require_role(step.actor.role, STEP_ROLES[StepName.CASE_MANAGER])
        if self._stage.is_final:
            raise refuse(f"the journey has ended ({self._stage.value})")
        if self._stage in (Stage.INQUIRY, Stage.VALIDATION):
            raise refuse("a case manager is assigned once the case is validated")
        if step.case_manager_id == self._case_manager_id:
            raise refuse(f"{step.case_manager_id} is already the case manager")

    @workflow.update
    async def book_consult(self, step: SlotBooking) -> JourneyStatus:
        before = len(self._transitions)
        self._slot_choice = step
        return await self._answer(before)

    @book_consult.validator
    def _check_booking(self, step: SlotBooking) -> None:
        require_role(step.actor.role, STEP_ROLES[StepName.BOOK_CONSULT])
        require_stage(self._stage, Stage.TELECONSULT, "booking a consultation")
        require_waiting(self._waiting_on, WaitingOn.PATIENT, "booking a consultation")
        if self._slot_choice is not None:
            raise refuse("a slot has already been chosen")
        if step.slot_id not in self._offered:
            raise invalid("that slot was not offered; choose one of the proposed slots")
        if self._offered[step.slot_id].starts_at <= workflow.now():
            raise refuse("that slot has already passed; choose a later one")

    @workflow.update
    async def reschedule_consult(self, step: RescheduleRequest) -> JourneyStatus:
        before = len(self._transitions)
        self._reschedule = step
        return await self._answer(before)

    @reschedule_consult.validator
    def _check_reschedule(self, step: RescheduleRequest) -> None:
        require_role(step.actor.role, STEP_ROLES[StepName.RESCHEDULE_CONSULT])
        self._require_booked_consult("rescheduling")
        assert self._consult is not None
        if workflow.now() >= self._consult.starts_at:
            raise refuse("the consultation has already started; it can no longer be moved")

    @workflow.update
    async def consult_no_show(self, step: NoShow) -> JourneyStatus:
        before = len(self._transitions)
        self._no_show = step
        return await self._answer(before)

    @consult_no_show.validator
    def _check_no_show(self, step: NoShow) -> None:
        require_role(step.actor.role, STEP_ROLES[StepName.NO_SHOW])
        self._require_booked_consult("a no-show")
        self._require_consult_started("a no-show")

    @workflow.update
    async def consult_outcome(self, step: ConsultOutcome) -> JourneyStatus:
        before = len(self._transitions)
        self._outcome = step
        return await self._answer(before)

    @consult_outcome.validator
    def _check_outcome(self, step: ConsultOutcome) -> None:
        require_role(step.actor.role, STEP_ROLES[StepName.CONSULT_OUTCOME])
        self._require_booked_consult("a consultation outcome")
        self._require_consult_started("a consultation outcome")

    def _require_booked_consult(self, step: str) -> None:
        require_stage(self._stage, Stage.TELECONSULT, step)
        if self._consult is None or self._waiting_on is not WaitingOn.SPECIALIST:
            raise refuse(f"{step} needs a booked consultation")
        if any((self._reschedule, self._no_show, self._outcome)):
            raise refuse("this consultation has already been settled")

    def _require_consult_started(self, step: str) -> None:
        assert self._consult is not None
        if workflow.now() < self._consult.starts_at:
            raise refuse(
                f"{step} can be recorded once the consultation has started "
                f"({self._consult.starts_at:%Y-%m-%d %H:%M} UTC)"
            )

    @workflow.update
    async def plan_decision(self, step: PlanDecision) -> JourneyStatus:
        before = len(self._transitions)
        self._plan_decision = step
        return await self._answer(before)

    @plan_decision.validator
    def _check_plan(self, step: PlanDecision) -> None:
        require_role(step.actor.role, STEP_ROLES[StepName.PLAN_DECISION])
        require_stage(self._stage, Stage.PLAN, "a decision on the plan")
        if self._plan_decision is not None:
            raise refuse("the plan has already been decided")

    @workflow.update
    async def travel_details(self, step: TravelDetails) -> JourneyStatus:
        before = len(self._transitions)
        self._travel = step
        return await self._answer(before)

    @travel_details.validator
    def _check_travel(self, step: TravelDetails) -> None:
        require_role(step.actor.role, STEP_ROLES[StepName.TRAVEL])
        require_stage(self._stage, Stage.TRAVEL, "travel details")
        if self._travel is not None:
            raise refuse("the travel details have already been sent")
        if step.arrival_date <= workflow.now().date():
            raise invalid("the arrival date must be in the future")

    @workflow.update
    async def clinic_confirmation(self, step: ClinicConfirmation) -> JourneyStatus:
        before = len(self._transitions)
        self._clinic_confirmation = step
        return await self._answer(before)

    @clinic_confirmation.validator
    def _check_clinic_confirmation(self, step: ClinicConfirmation) -> None:
        require_role(step.actor.role, STEP_ROLES[StepName.CLINIC_CONFIRMATION])
        require_stage(self._stage, Stage.TRAVEL, "the clinic's answer")
        if self._waiting_on is not WaitingOn.COORDINATOR or self._clinic_confirmation is not None:
            raise refuse("no visit request is waiting for the clinic's answer")

    @workflow.update
    async def clinic_admission(self, step: Admission) -> JourneyStatus:
        before = len(self._transitions)
        self._admission = step
        return await self._answer(before)

    @clinic_admission.validator
    def _check_admission(self, step: Admission) -> None:
        require_role(step.actor.role, STEP_ROLES[StepName.ADMISSION])
        require_stage(self._stage, Stage.TREATMENT, "an admission")
        if self._admission is not None:
            raise refuse("the admission has already been reported")

    @workflow.update
    async def procedure_report(self, step: ProcedureReported) -> JourneyStatus:
        before = len(self._transitions)
        self._procedure = step
        return await self._answer(before)

    @procedure_report.validator
    def _check_procedure(self, step: ProcedureReported) -> None:
        require_role(step.actor.role, STEP_ROLES[StepName.PROCEDURE])
        require_stage(self._stage, Stage.TREATMENT, "a procedure report")
        if self._admission is None:
            raise refuse("the procedure comes after the admission, which is not reported yet")
        if self._procedure is not None:
            raise refuse("the procedure has already been reported")

    @workflow.update
    async def adverse_event(self, step: AdverseEventReported) -> JourneyStatus:
        self._adverse_events.append(step.event_id)
        await self._notify(
            f"adverse-event-{step.event_id}",
            NotificationKind.ADVERSE_EVENT_ESCALATION,
            Audience.MEDICAL_LEAD,
        )
        return self.status()

    @adverse_event.validator
    def _check_adverse_event(self, step: AdverseEventReported) -> None:
        require_role(step.actor.role, STEP_ROLES[StepName.ADVERSE_EVENT])
        if self._stage not in (Stage.TREATMENT, Stage.FOLLOW_UP):
            raise refuse("adverse events are reported from the treatment visit on")
        if step.event_id in self._adverse_events:
            raise refuse("this adverse event has already been reported")

    @workflow.update
    async def clinic_discharge(self, step: Discharge) -> JourneyStatus:
        before = len(self._transitions)
        self._discharge = step
        return await self._answer(before)

    @clinic_discharge.validator
    def _check_discharge(self, step: Discharge) -> None:
        require_role(step.actor.role, STEP_ROLES[StepName.DISCHARGE])
        require_stage(self._stage, Stage.TREATMENT, "a discharge")
        if self._procedure is None:
            raise refuse("the discharge comes after the procedure, which is not reported yet")
        if self._discharge is not None:
            raise refuse("the discharge has already been reported")

    @workflow.update
    async def withdraw(self, step: Withdrawal) -> JourneyStatus:
        self._withdrawal = step
        await workflow.wait_condition(lambda: self._stage.is_final)
        return self.status()

    @withdraw.validator
    def _check_withdrawal(self, step: Withdrawal) -> None:
        require_role(step.actor.role, STEP_ROLES[StepName.WITHDRAW])
        if self._stage.is_final:
            raise refuse(f"the journey has already ended ({self._stage.value})")
        if self._withdrawal is not None:
            raise refuse("the journey is already being withdrawn")

    @workflow.update
    async def resolve_incident(self, step: IncidentResolution) -> JourneyStatus:
        before = len(self._transitions)
        self._incidents.resolve(step)
        # Closing the incident is itself a move, so the answer shows the journey after it;
        # a withdrawal answers once the journey has ended, as the withdrawal step does.
        if step.action is IncidentAction.WITHDRAW:
            await workflow.wait_condition(lambda: self._stage.is_final)
        await workflow.wait_condition(
            lambda: len(self._transitions) > before or self._stage.is_final
        )
        return self.status()

    @resolve_incident.validator
    def _check_resolution(self, step: IncidentResolution) -> None:
        require_role(step.actor.role, STEP_ROLES[StepName.RESOLVE_INCIDENT])
        self._incidents.check(step)
