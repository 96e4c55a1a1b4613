"""The `PatientJourney` workflow: one durable journey from inquiry to the end of follow-up.

The run method walks DESIGN.md's stages in order. Human steps arrive as updates whose
validators refuse, before anything is recorded, a step in the wrong stage, by the wrong role,
or with data that cannot apply; the handlers only record the decision and the run method acts
on it. A withdrawal can arrive at any stage: the run method then cancels what was booked,
newest first, and ends WITHDRAWN.
"""

import asyncio
from collections.abc import Awaitable, Callable, Sequence
from datetime import UTC, datetime, time, timedelta

from temporalio import workflow
from temporalio.exceptions import ActivityError, ChildWorkflowError

with workflow.unsafe.imports_passed_through():
    from activities.bookings import BookingActivities
    from activities.records import RecordsActivities
    from domain.actors import SYSTEM, Actor, Role
    from domain.journey import JourneyInput, JourneyOutcome, JourneyStatus, StageTransition
    from domain.names import (
        CASE_MANAGER,
        JOURNEY_STAGE,
        NEXT_DEADLINE,
        PATIENT_COUNTRY,
        TREATMENT_DATE,
        WAITING_ON,
    )
    from domain.notifications import Audience, NotificationKind, NotificationRequest
    from domain.records import (
        AssessProcedure,
        Booking,
        BookingKind,
        BookingRequest,
        CancelBooking,
        CaseManagerRequest,
        RecordInquiry,
        SetCaseManager,
        Slot,
        SlotsRequest,
        StageChange,
    )
    from domain.stages import Stage, WaitingOn
    from domain.steps import (
        Admission,
        AdverseEventReported,
        CaseManagerAssignment,
        ConsultOutcome,
        Discharge,
        DocumentsReceived,
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
    from workflows.emails import OUTSIDE_RETRY, send_email
    from workflows.follow_up import FollowUp, FollowUpInput
    from workflows.rules import invalid, refuse, require_role, require_stage, require_waiting

RECORDS_TIMEOUT = timedelta(seconds=30)
BOOKING_TIMEOUT = timedelta(minutes=2)
VISIT_DAY_START = time(8, 0)
VISIT_DAY_END = time(18, 0)
PATIENT_SIDE = {Role.PATIENT, Role.COORDINATOR}

_WAITING_PHRASES: dict[WaitingOn, str] = {
    WaitingOn.PATIENT: "the patient",
    WaitingOn.REVIEWER: "a medical reviewer",
    WaitingOn.SPECIALIST: "the specialist",
    WaitingOn.CLINIC: "the clinic",
    WaitingOn.COORDINATOR: "a coordinator",
}


class _Ended(Exception):
    """The journey ends early; raised inside the run method, caught at its top."""

    def __init__(self, stage: Stage, kind: NotificationKind | None, reason: str = "") -> None:
        super().__init__(stage.value)
        self.stage, self.kind, self.reason = stage, kind, reason


class _Withdrawn(Exception):
    pass


@workflow.defn(name="PatientJourney")
class PatientJourney:
    """Carries one patient's journey; holds ids, stages and decisions, never PHI."""

    @workflow.init
    def __init__(self, journey: JourneyInput) -> None:
        self._journey = journey
        self._policy = journey.policy
        self._stage = Stage.INQUIRY
        self._waiting_on = WaitingOn.NONE
        self._deadline: datetime | None = None
        self._task = "recording the inquiry"
        self._transitions: list[StageTransition] = []
        self._language = "en"
        self._case_manager_id: str | None = None
        self._case_manager_changes = 0
        self._bookings: list[Booking] = []
        self._withdrawal: Withdrawal | None = None
        self._ending_reason = ""
        # pending human steps, set by update handlers and consumed by the run method
        self._review: ReviewDecision | None = None
        self._documents: DocumentsReceived | None = None
        self._offered: dict[str, Slot] = {}
        self._slot_choice: SlotBooking | None = None
        self._consult: Booking | None = None
        self._reschedule: RescheduleRequest | None = None
        self._no_show: NoShow | None = None
        self._outcome: ConsultOutcome | None = None
        self._plan_id: str | None = None
        self._plan_decision: PlanDecision | None = None
        self._travel: TravelDetails | None = None
        self._visit_day1: datetime | None = None
        self._admission: Admission | None = None
        self._procedure: ProcedureReported | None = None
        self._discharge: Discharge | None = None
        self._adverse_events: list[str] = []
        # who made the decision that opened the next stage, for its transition record
        self._actor_of_next: Actor = SYSTEM

    # ----------------------------------------------------------------------------- the run
    @workflow.run
    async def run(self, journey: JourneyInput) -> JourneyOutcome:
        try:
            await self._intake()
            await self._validation()
            await self._case_manager()
            await self._teleconsult()
            await self._plan()
            await self._travel_stage()
            await self._treatment()
            await self._follow_up()
            await self._notify("completion", NotificationKind.COMPLETION)
            await self._enter(Stage.COMPLETED, WaitingOn.NONE, None, task="journey completed")
        except _Withdrawn:
            await self._compensate()
            await self._notify(
                "withdrawal",
                NotificationKind.WITHDRAWAL,
                facts={"reason": self._withdrawal.reason.value if self._withdrawal else ""},
            )
            await self._enter(
                Stage.WITHDRAWN,
                WaitingOn.NONE,
                None,
                actor=self._withdrawal.actor if self._withdrawal else SYSTEM,
                task="withdrawn",
            )
        except _Ended as end:
            self._ending_reason = end.reason
            if end.stage is not Stage.NOT_ELIGIBLE:
                await self._compensate()
            if end.kind is not None:
                await self._notify(
                    f"ending-{end.kind.value}", end.kind, facts={"reason": end.reason}
                )
            await self._enter(end.stage, WaitingOn.NONE, None, task=end.reason or "closed")
        await workflow.wait_condition(workflow.all_handlers_finished)
        return JourneyOutcome(journey_id=journey.journey_id, stage=self._stage)

    # --------------------------------------------------------------------------- the stages
    async def _intake(self) -> None:
        await self._enter(Stage.INQUIRY, WaitingOn.NONE, None, task="recording the inquiry")
        facts = await workflow.execute_activity_method(
            RecordsActivities.record_inquiry,
            RecordInquiry(journey_id=self._journey.journey_id, inquiry_id=self._journey.inquiry_id),
            start_to_close_timeout=RECORDS_TIMEOUT,
            summary="Record the inquiry",
        )
        self._language = facts.language
        workflow.upsert_search_attributes([PATIENT_COUNTRY.value_set(facts.country)])
        await self._notify("acknowledgement", NotificationKind.ACKNOWLEDGEMENT)
        await self._notify(
            "staff-new-inquiry", NotificationKind.STAFF_NEW_INQUIRY, Audience.COORDINATORS
        )

    async def _validation(self) -> None:
        p = self._policy
        for review_round in range(1, 1000):
            sla = workflow.now() + p.review_sla
            self._review = None
            await self._enter(
                Stage.VALIDATION,
                WaitingOn.REVIEWER,
                sla,
                actor=self._documents.actor if self._documents else SYSTEM,
                task="to review the case",
            )
            until, escalations = sla, 0
            while not await self._until(lambda: self._review is not None, until, "Review SLA"):
                escalations += 1
                await self._notify(
                    f"review-escalation-{review_round}-{escalations}",
                    NotificationKind.REVIEW_ESCALATION,
                    Audience.MEDICAL_LEAD,
                    {"count": str(escalations), "reason": "review_sla_passed"},
                )
                until = workflow.now() + p.review_escalation_every
            review = self._review
            assert review is not None
            if review.outcome is ReviewOutcome.APPROVE:
                self._actor_of_next = review.actor
                return
            if review.outcome is ReviewOutcome.REJECT:
                assert review.reason is not None
                raise _Ended(Stage.NOT_ELIGIBLE, NotificationKind.REJECTION, review.reason.value)
            start = workflow.now()
            self._documents = None
            await self._enter(
                Stage.VALIDATION,
                WaitingOn.PATIENT,
                start + p.documents_timeout,
                actor=review.actor,
                task="to send the requested documents",
            )
            facts = {"documents": ",".join(d.value for d in review.documents)}
            await self._notify(
                f"documents-request-{review_round}", NotificationKind.DOCUMENTS_REQUEST, facts=facts
            )
            received = await self._with_reminders(
                lambda: self._documents is not None,
                start,
                p.documents_timeout,
                p.document_reminders,
                self._reminder(
                    f"documents-reminder-{review_round}", NotificationKind.DOCUMENTS_REMINDER, facts
                ),
                "Documents deadline",
            )
            if not received:
                raise _Ended(Stage.LOST_CONTACT, NotificationKind.LOST_CONTACT, "no_documents")

    async def _case_manager(self) -> None:
        await self._enter(
            Stage.CASE_MANAGER,
            WaitingOn.NONE,
            None,
            actor=self._actor_of_next,
            task="assigning a case manager",
        )
        if self._case_manager_id is None:
            assigned = await workflow.execute_activity_method(
                RecordsActivities.assign_case_manager,
                CaseManagerRequest(journey_id=self._journey.journey_id, language=self._language),
                start_to_close_timeout=RECORDS_TIMEOUT,
                summary="Assign a case manager by language and load",
            )
            if assigned.case_manager_id is None:
                await self._enter(
                    Stage.CASE_MANAGER, WaitingOn.COORDINATOR, None, task="to assign a case manager"
                )
                await self._notify(
                    "case-manager-needed",
                    NotificationKind.CASE_MANAGER_NEEDED,
                    Audience.COORDINATORS,
                )
                await self._until(lambda: self._case_manager_id is not None, None, "")
            else:
                await self._case_manager_assigned(assigned.case_manager_id)

    async def _teleconsult(self) -> None:
        p = self._policy
        no_shows = 0
        for consult_round in range(1, 1000):
            start = workflow.now()
            proposed = await workflow.execute_activity_method(
                BookingActivities.propose_consult_slots,
                SlotsRequest(
                    journey_id=self._journey.journey_id,
                    round=consult_round,
                    count=p.consult_slots_offered,
                    not_before=start,
                ),
                start_to_close_timeout=BOOKING_TIMEOUT,
                retry_policy=OUTSIDE_RETRY,
                summary=f"Propose consult slots (round {consult_round})",
            )
            self._offered = {s.slot_id: s for s in proposed.slots}
            self._slot_choice = None
            await self._enter(
                Stage.TELECONSULT,
                WaitingOn.PATIENT,
                start + p.slot_choice_timeout,
                task="to choose a consultation slot",
            )
            await self._notify(f"slot-proposals-{consult_round}", NotificationKind.SLOT_PROPOSALS)
            chosen = await self._with_reminders(
                lambda: self._slot_choice is not None,
                start,
                p.slot_choice_timeout,
                p.slot_choice_reminders,
                self._reminder(f"slot-reminder-{consult_round}", NotificationKind.SLOT_REMINDER),
                "Slot choice deadline",
            )
            if not chosen:
                raise _Ended(Stage.LOST_CONTACT, NotificationKind.LOST_CONTACT, "no_slot_chosen")
            assert self._slot_choice is not None
            slot = self._offered[self._slot_choice.slot_id]
            self._consult = await self._book(
                BookingRequest(
                    journey_id=self._journey.journey_id,
                    step=f"consult-{consult_round}",
                    kind=BookingKind.CONSULT,
                    starts_at=slot.starts_at,
                    ends_at=slot.ends_at,
                    slot_id=slot.slot_id,
                )
            )
            self._reschedule = self._no_show = self._outcome = None
            await self._enter(
                Stage.TELECONSULT,
                WaitingOn.SPECIALIST,
                slot.starts_at + p.consult_outcome_grace,
                actor=self._slot_choice.actor,
                task="to hold the consultation and record its outcome",
            )
            await self._notify(
                f"booking-confirmation-{consult_round}", NotificationKind.BOOKING_CONFIRMATION
            )
            await self._notify(
                f"consult-booked-{consult_round}",
                NotificationKind.CONSULT_BOOKED_SPECIALIST,
                Audience.SPECIALIST,
            )

            def settled() -> bool:
                return any((self._reschedule, self._no_show, self._outcome))

            for i, before in enumerate(sorted(p.consult_reminders_before, reverse=True), 1):
                if await self._until(settled, slot.starts_at - before, "Consult reminder"):
                    break
                await self._notify(
                    f"consult-reminder-{consult_round}-{i}", NotificationKind.CONSULT_REMINDER
                )
            await self._until(settled, None, "")
            consult = self._consult
            if self._reschedule is not None:
                await self._cancel(consult)
                await self._notify(
                    f"consult-cancelled-{consult_round}",
                    NotificationKind.CONSULT_CANCELLED,
                    facts={"reason": "reschedule_requested"},
                )
                continue
            if self._no_show is not None:
                await self._cancel(consult)
                no_shows += 1
                if no_shows >= p.max_no_shows:
                    raise _Ended(Stage.LOST_CONTACT, NotificationKind.LOST_CONTACT, "no_shows")
                await self._notify(
                    f"no-show-{consult_round}",
                    NotificationKind.NO_SHOW_NOTICE,
                    facts={"count": str(no_shows)},
                )
                continue
            outcome = self._outcome
            assert outcome is not None
            self._mark_completed(consult)
            if not outcome.eligible:
                assert outcome.reason is not None
                raise _Ended(
                    Stage.NOT_ELIGIBLE, NotificationKind.NOT_ELIGIBLE, outcome.reason.value
                )
            self._plan_id = outcome.plan_id
            self._actor_of_next = outcome.actor
            return

    async def _plan(self) -> None:
        p = self._policy
        start = workflow.now()
        valid_until = start + p.quote_validity
        await self._enter(
            Stage.PLAN,
            WaitingOn.PATIENT,
            valid_until,
            actor=self._actor_of_next,
            task="to accept or decline the treatment plan",
        )
        facts = {"quote_valid_until": f"{valid_until:%d %b %Y}"}
        await self._notify("plan-and-quote", NotificationKind.PLAN_AND_QUOTE, facts=facts)
        decided = await self._with_reminders(
            lambda: self._plan_decision is not None,
            start,
            p.quote_validity,
            p.quote_reminders,
            self._reminder("plan-reminder", NotificationKind.PLAN_REMINDER, facts),
            "Quote expiry",
        )
        if not decided:
            raise _Ended(Stage.LOST_CONTACT, NotificationKind.LOST_CONTACT, "quote_expired")
        assert self._plan_decision is not None
        if not self._plan_decision.accept:
            self._withdrawal = Withdrawal(actor=self._plan_decision.actor)
            self._ending_reason = "plan_declined"
            raise _Withdrawn

    async def _travel_stage(self) -> None:
        p = self._policy
        start = workflow.now()
        assert self._plan_decision is not None
        await self._enter(
            Stage.TRAVEL,
            WaitingOn.PATIENT,
            start + p.travel_details_timeout,
            actor=self._plan_decision.actor,
            task="to send the travel details",
        )
        await self._notify("travel-details-request", NotificationKind.TRAVEL_DETAILS_REQUEST)
        sent = await self._with_reminders(
            lambda: self._travel is not None,
            start,
            p.travel_details_timeout,
            p.travel_details_reminders,
            self._reminder("travel-details-reminder", NotificationKind.TRAVEL_DETAILS_REMINDER),
            "Travel details deadline",
        )
        if not sent:
            raise _Ended(Stage.LOST_CONTACT, NotificationKind.LOST_CONTACT, "no_travel_details")
        travel = self._travel
        assert travel is not None
        arrival = datetime.combine(travel.arrival_date, time(12, 0), tzinfo=UTC)
        day1 = datetime.combine(
            travel.arrival_date + timedelta(days=1), VISIT_DAY_START, tzinfo=UTC
        )
        day2_end = datetime.combine(
            travel.arrival_date + timedelta(days=2), VISIT_DAY_END, tzinfo=UTC
        )
        departure = datetime.combine(travel.departure_date, time(12, 0), tzinfo=UTC)
        self._visit_day1 = day1
        workflow.upsert_search_attributes([TREATMENT_DATE.value_set(day1)])
        await self._enter(
            Stage.TRAVEL,
            WaitingOn.CLINIC,
            None,
            actor=travel.actor,
            task="reserving the clinic visit, hotel and transfer",
        )
        jid = self._journey.journey_id
        await self._book(
            BookingRequest(
                journey_id=jid,
                step="clinic-visit",
                kind=BookingKind.CLINIC_VISIT,
                starts_at=day1,
                ends_at=day2_end,
            )
        )
        await self._notify("visit-confirmed", NotificationKind.VISIT_CONFIRMED)
        if travel.needs_visa:
            await self._notify("visa-letter", NotificationKind.VISA_LETTER)
        await self._book(
            BookingRequest(
                journey_id=jid,
                step="hotel",
                kind=BookingKind.HOTEL,
                starts_at=arrival,
                ends_at=departure,
            )
        )
        await self._notify("hotel-request", NotificationKind.HOTEL_REQUEST, Audience.HOTEL_PARTNER)
        await self._book(
            BookingRequest(
                journey_id=jid,
                step="transfer",
                kind=BookingKind.TRANSFER,
                starts_at=arrival,
                ends_at=departure,
            )
        )
        await self._notify(
            "transfer-request", NotificationKind.TRANSFER_REQUEST, Audience.TRANSFER_PARTNER
        )
        await self._enter(Stage.TRAVEL, WaitingOn.PATIENT, day1, task="to travel to the clinic")
        await self._until(lambda: False, arrival - p.travel_checklist_before, "Checklist due")
        await self._notify("travel-checklist", NotificationKind.TRAVEL_CHECKLIST)
        await self._until(lambda: False, arrival - p.travel_reminder_before, "Travel reminder")
        await self._notify("travel-reminder", NotificationKind.TRAVEL_REMINDER)
        await self._until(lambda: False, day1, "Visit day 1")

    async def _treatment(self) -> None:
        p = self._policy
        assert self._visit_day1 is not None
        alert_at = self._visit_day1 + p.admission_alert_after
        await self._enter(
            Stage.TREATMENT, WaitingOn.CLINIC, alert_at, task="to report the admission"
        )
        if not await self._until(
            lambda: self._admission is not None, alert_at, "Admission expected"
        ):
            await self._notify(
                "admission-overdue", NotificationKind.ADMISSION_OVERDUE, Audience.COORDINATORS
            )
            await self._enter(
                Stage.TREATMENT,
                WaitingOn.COORDINATOR,
                None,
                task="to find out why the clinic has not reported the admission",
            )
            await self._until(lambda: self._admission is not None, None, "")
        assert self._admission is not None
        await self._enter(
            Stage.TREATMENT,
            WaitingOn.CLINIC,
            None,
            actor=self._admission.actor,
            task="to report the procedure",
        )
        await self._until(lambda: self._procedure is not None, None, "")
        assert self._procedure is not None
        assessment = await workflow.execute_activity_method(
            RecordsActivities.assess_procedure,
            AssessProcedure(
                journey_id=self._journey.journey_id,
                report_id=self._procedure.report_id,
                min_cells=p.min_cells,
            ),
            start_to_close_timeout=RECORDS_TIMEOUT,
            summary="Check the dose against the protocol minimum",
        )
        if assessment.below_minimum:
            await self._notify(
                "dose-escalation", NotificationKind.DOSE_ESCALATION, Audience.MEDICAL_LEAD
            )
        await self._enter(
            Stage.TREATMENT,
            WaitingOn.CLINIC,
            None,
            actor=self._procedure.actor,
            task="to report the discharge",
        )
        await self._until(lambda: self._discharge is not None, None, "")
        for booking in self._bookings:
            self._mark_completed(booking)

    async def _follow_up(self) -> None:
        assert self._discharge is not None
        await self._enter(
            Stage.FOLLOW_UP,
            WaitingOn.PATIENT,
            None,
            actor=self._discharge.actor,
            task="for the follow-up year (consults and weekly check-ins)",
        )
        child = asyncio.ensure_future(
            workflow.execute_child_workflow(
                FollowUp.run,
                FollowUpInput(
                    journey_id=self._journey.journey_id,
                    discharged_at=workflow.now(),
                    policy=self._policy,
                ),
                id=follow_up_workflow_id(self._journey.journey_id),
                static_summary=f"Follow-up year of journey {self._journey.journey_id}",
            )
        )
        try:
            await self._until(child.done, None, "")
        except _Withdrawn:
            child.cancel()
            try:
                await child
            except (asyncio.CancelledError, ChildWorkflowError):
                pass
            raise
        child.result()

    # ------------------------------------------------------------------------- the helpers
    async def _until(
        self, condition: Callable[[], bool], until: datetime | None, summary: str
    ) -> bool:
        """Wait for `condition` until `until` (None: for ever); False when the time ran out.

        A withdrawal interrupts every wait.
        """

        def ready() -> bool:
            return condition() or self._withdrawal is not None

        if until is None:
            await workflow.wait_condition(ready)
        else:
            remaining = until - workflow.now()
            if remaining > timedelta(0):
                try:
                    await workflow.wait_condition(ready, timeout=remaining, timeout_summary=summary)
                except TimeoutError:
                    pass
        if self._withdrawal is not None:
            raise _Withdrawn
        return condition()

    async def _with_reminders(
        self,
        condition: Callable[[], bool],
        start: datetime,
        give_up_after: timedelta,
        reminders: Sequence[timedelta],
        remind: Callable[[int], Awaitable[None]],
        summary: str,
    ) -> bool:
        """Wait for `condition`, reminding at `start + r` for each r; False at the end."""
        for i, offset in enumerate(sorted(r for r in reminders if r < give_up_after), 1):
            if await self._until(condition, start + offset, f"Reminder {i}"):
                return True
            await remind(i)
        return await self._until(condition, start + give_up_after, summary)

    def _reminder(
        self, step_prefix: str, kind: NotificationKind, facts: dict[str, str] | None = None
    ) -> Callable[[int], Awaitable[None]]:
        async def remind(i: int) -> None:
            await self._notify(f"{step_prefix}-{i}", kind, facts=facts)

        return remind

    async def _notify(
        self,
        step: str,
        kind: NotificationKind,
        audience: Audience = Audience.PATIENT,
        facts: dict[str, str] | None = None,
    ) -> None:
        await send_email(
            NotificationRequest(
                journey_id=self._journey.journey_id,
                step=step,
                kind=kind,
                audience=audience,
                facts=facts or {},
            )
        )

    async def _book(self, request: BookingRequest) -> Booking:
        booking = await workflow.execute_activity_method(
            BookingActivities.book,
            request,
            start_to_close_timeout=BOOKING_TIMEOUT,
            retry_policy=OUTSIDE_RETRY,
            summary=f"Book {request.kind.value.replace('_', ' ')}",
        )
        self._bookings.append(booking)
        return booking

    async def _cancel(self, booking: Booking | None) -> None:
        if booking is None or booking.cancelled or booking.completed:
            return
        await workflow.execute_activity_method(
            BookingActivities.cancel_booking,
            CancelBooking(journey_id=self._journey.journey_id, booking_id=booking.booking_id),
            start_to_close_timeout=BOOKING_TIMEOUT,
            retry_policy=OUTSIDE_RETRY,
            summary=f"Cancel {booking.kind.value.replace('_', ' ')}",
        )
        booking.cancelled = True
        partner = {
            BookingKind.HOTEL: (NotificationKind.HOTEL_CANCELLATION, Audience.HOTEL_PARTNER),
            BookingKind.TRANSFER: (
                NotificationKind.TRANSFER_CANCELLATION,
                Audience.TRANSFER_PARTNER,
            ),
        }.get(booking.kind)
        if partner is not None:
            await self._notify(f"cancel-{booking.booking_id.rsplit(':', 1)[-1]}", *partner)

    def _mark_completed(self, booking: Booking | None) -> None:
        if booking is not None:
            booking.completed = True

    async def _compensate(self) -> None:
        """Undo what was booked and is still to come, newest first (the saga)."""
        for booking in reversed(self._bookings):
            try:
                await self._cancel(booking)
            except ActivityError:
                workflow.logger.warning("could not cancel booking %s", booking.booking_id)

    async def _case_manager_assigned(self, case_manager_id: str) -> None:
        self._case_manager_id = case_manager_id
        self._case_manager_changes += 1
        workflow.upsert_search_attributes([CASE_MANAGER.value_set(case_manager_id)])
        n = self._case_manager_changes
        await self._notify(f"case-manager-intro-{n}", NotificationKind.CASE_MANAGER_INTRO)
        await self._notify(
            f"case-assigned-{n}", NotificationKind.CASE_ASSIGNED, Audience.CASE_MANAGER
        )

    async def _enter(
        self,
        stage: Stage,
        waiting_on: WaitingOn,
        deadline: datetime | None,
        *,
        task: str,
        actor: Actor = SYSTEM,
    ) -> None:
        """Move to a stage (or a new wait within it): log it, show it, project it."""
        now = workflow.now()
        self._stage, self._waiting_on, self._deadline, self._task = (
            stage,
            waiting_on,
            deadline,
            task,
        )
        self._transitions.append(
            StageTransition(
                stage=stage,
                waiting_on=waiting_on,
                entered_at=now,
                actor_id=actor.id,
                actor_role=actor.role.value,
            )
        )
        workflow.upsert_search_attributes(
            [
                JOURNEY_STAGE.value_set(stage.value),
                WAITING_ON.value_set(waiting_on.value),
                NEXT_DEADLINE.value_set(deadline) if deadline else NEXT_DEADLINE.value_unset(),
            ]
        )
        workflow.set_current_details(self._details())
        await workflow.execute_activity_method(
            RecordsActivities.record_stage,
            StageChange(
                journey_id=self._journey.journey_id,
                seq=len(self._transitions),
                stage=stage,
                waiting_on=waiting_on,
                deadline=deadline,
                changed_at=now,
                actor_id=actor.id,
                actor_role=actor.role.value,
            ),
            start_to_close_timeout=RECORDS_TIMEOUT,
            summary=f"Record stage {stage.value} ({waiting_on.value})",
        )

    def _details(self) -> str:
        """One markdown sentence: what the journey waits for, from whom, until when."""
        head = f"**{self._stage.value}**"
        if self._waiting_on is WaitingOn.NONE:
            return f"{head}: {self._task}."
        who = _WAITING_PHRASES[self._waiting_on]
        until = f" by **{self._deadline:%Y-%m-%d %H:%M} UTC**" if self._deadline else ""
        return f"{head}: waiting on {who} {self._task}{until}."

    # ---------------------------------------------------------------------- query, updates
    @workflow.query
    def status(self) -> JourneyStatus:
        return JourneyStatus(
            journey_id=self._journey.journey_id,
            stage=self._stage,
            waiting_on=self._waiting_on,
            waiting_for=self._task,
            deadline=self._deadline,
            case_manager_id=self._case_manager_id,
            bookings=[b.model_copy() for b in self._bookings],
            offered_slots=list(self._offered.values()) if self._slot_choice is None else [],
            transitions=list(self._transitions),
            ending_reason=self._ending_reason or None,
        )

    @workflow.update
    async def review(self, step: ReviewDecision) -> JourneyStatus:
        self._review = step
        return self.status()

    @review.validator
    def _check_review(self, step: ReviewDecision) -> None:
        require_role(step.actor.role, {Role.REVIEWER, Role.MEDICAL_LEAD})
        require_stage(self._stage, Stage.VALIDATION, "a case review")
        require_waiting(self._waiting_on, WaitingOn.REVIEWER, "a case review")
        if self._review is not None:
            raise refuse("this case has already been reviewed")

    @workflow.update
    async def documents_received(self, step: DocumentsReceived) -> JourneyStatus:
        self._documents = step
        return self.status()

    @documents_received.validator
    def _check_documents(self, step: DocumentsReceived) -> None:
        require_role(step.actor.role, PATIENT_SIDE)
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
        require_role(step.actor.role, {Role.COORDINATOR})
        if self._stage.is_final:
            raise refuse(f"the journey has ended ({self._stage.value})")
        if self._stage in (Stage.INQUIRY, Stage.VALIDATION):
            raise refuse("a case manager is assigned once the case is validated")
        if step.case_manager_id == self._case_manager_id:
            raise refuse(f"{step.case_manager_id} is already the case manager")

    @workflow.update
    async def book_consult(self, step: SlotBooking) -> JourneyStatus:
        self._slot_choice = step
        return self.status()

    @book_consult.validator
    def _check_booking(self, step: SlotBooking) -> None:
        require_role(step.actor.role, PATIENT_SIDE)
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
        self._reschedule = step
        return self.status()

    @reschedule_consult.validator
    def _check_reschedule(self, step: RescheduleRequest) -> None:
        require_role(step.actor.role, PATIENT_SIDE)
        self._require_booked_consult("rescheduling")
        assert self._consult is not None
        if workflow.now() >= self._consult.starts_at:
            raise refuse("the consultation has already started; it can no longer be moved")

    @workflow.update
    async def consult_no_show(self, step: NoShow) -> JourneyStatus:
        self._no_show = step
        return self.status()

    @consult_no_show.validator
    def _check_no_show(self, step: NoShow) -> None:
        require_role(step.actor.role, {Role.SPECIALIST})
        self._require_booked_consult("a no-show")
        self._require_consult_started("a no-show")

    @workflow.update
    async def consult_outcome(self, step: ConsultOutcome) -> JourneyStatus:
        self._outcome = step
        return self.status()

    @consult_outcome.validator
    def _check_outcome(self, step: ConsultOutcome) -> None:
        require_role(step.actor.role, {Role.SPECIALIST})
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
        self._plan_decision = step
        return self.status()

    @plan_decision.validator
    def _check_plan(self, step: PlanDecision) -> None:
        require_role(step.actor.role, {Role.PATIENT})
        require_stage(self._stage, Stage.PLAN, "a decision on the plan")
        if self._plan_decision is not None:
            raise refuse("the plan has already been decided")

    @workflow.update
    async def travel_details(self, step: TravelDetails) -> JourneyStatus:
        self._travel = step
        return self.status()

    @travel_details.validator
    def _check_travel(self, step: TravelDetails) -> None:
        require_role(step.actor.role, PATIENT_SIDE)
        require_stage(self._stage, Stage.TRAVEL, "travel details")
        if self._travel is not None:
            raise refuse("the travel details have already been sent")
        if step.arrival_date <= workflow.now().date():
            raise invalid("the arrival date must be in the future")

    @workflow.update
    async def clinic_admission(self, step: Admission) -> JourneyStatus:
        self._admission = step
        return self.status()

    @clinic_admission.validator
    def _check_admission(self, step: Admission) -> None:
        require_role(step.actor.role, {Role.CLINIC, Role.COORDINATOR})
        require_stage(self._stage, Stage.TREATMENT, "an admission")
        if self._admission is not None:
            raise refuse("the admission has already been reported")

    @workflow.update
    async def procedure_report(self, step: ProcedureReported) -> JourneyStatus:
        self._procedure = step
        return self.status()

    @procedure_report.validator
    def _check_procedure(self, step: ProcedureReported) -> None:
        require_role(step.actor.role, {Role.CLINIC, Role.COORDINATOR})
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
        require_role(
            step.actor.role, {Role.CLINIC, Role.COORDINATOR, Role.SPECIALIST, Role.CASE_MANAGER}
        )
        if self._stage not in (Stage.TREATMENT, Stage.FOLLOW_UP):
            raise refuse("adverse events are reported from the treatment visit on")
        if step.event_id in self._adverse_events:
            raise refuse("this adverse event has already been reported")

    @workflow.update
    async def clinic_discharge(self, step: Discharge) -> JourneyStatus:
        self._discharge = step
        return self.status()

    @clinic_discharge.validator
    def _check_discharge(self, step: Discharge) -> None:
        require_role(step.actor.role, {Role.CLINIC, Role.COORDINATOR})
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
        require_role(step.actor.role, PATIENT_SIDE)
        if self._stage.is_final:
            raise refuse(f"the journey has already ended ({self._stage.value})")
        if self._withdrawal is not None:
            raise refuse("the journey is already being withdrawn")


def follow_up_workflow_id(journey_id: str) -> str:
    return f"journey-{journey_id}-follow-up"
