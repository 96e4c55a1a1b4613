"""The `PatientJourney` workflow: one durable journey from inquiry to the end of follow-up.

The run method walks DESIGN.md's stages in order. Human steps arrive as updates whose
validators refuse, before anything is recorded, a step in the wrong stage, by the wrong role,
or with data that cannot apply; the handlers only record the decision and the run method acts
on it. A withdrawal can arrive at any stage: the run method then cancels what was booked,
newest first, and ends WITHDRAWN.
"""

import asyncio
from datetime import UTC, datetime, time, timedelta

from temporalio import workflow
from temporalio.exceptions import ActivityError, ApplicationError, ChildWorkflowError

from workflows.emails import OUTSIDE_RETRY
from workflows.follow_up import FollowUp
from workflows.journey_state import (
    BOOKING_TIMEOUT,
    MAX_VISIT_REQUESTS,
    RECORDS_TIMEOUT,
    VISIT_DAY_END,
    VISIT_DAY_START,
    Ended,
    Withdrawn,
)
from workflows.journey_steps import JourneySteps

with workflow.unsafe.imports_passed_through():
    from activities.bookings import BookingActivities
    from activities.records import RecordsActivities
    from domain.actors import SYSTEM
    from domain.follow_up import FollowUpInput
    from domain.incidents import OutsideSystem
    from domain.journey import JourneyInput, JourneyOutcome
    from domain.names import (
        PATIENT_COUNTRY,
        TREATMENT_DATE,
        follow_up_workflow_id,
    )
    from domain.notifications import Audience, NotificationKind
    from domain.records import (
        AssessProcedure,
        Booking,
        BookingKind,
        BookingRequest,
        CaseManagerRequest,
        RecordInquiry,
        SlotsRequest,
    )
    from domain.stages import Stage, WaitingOn
    from domain.steps import (
        ReviewOutcome,
        Withdrawal,
    )


@workflow.defn(name="PatientJourney")
class PatientJourney(JourneySteps):
    """Carries one patient's journey; holds ids, stages and decisions, never PHI."""

    @workflow.init
    def __init__(self, journey: JourneyInput) -> None:
        super().__init__(journey)

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
        except Withdrawn:
            self._closing = True
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
        except Ended as end:
            self._closing = True
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
        facts = await self._incidents.attempt(
            lambda: workflow.execute_activity_method(
                RecordsActivities.record_inquiry,
                RecordInquiry(
                    journey_id=self._journey.journey_id, inquiry_id=self._journey.inquiry_id
                ),
                start_to_close_timeout=RECORDS_TIMEOUT,
                summary="Record the inquiry",
            ),
            system=OutsideSystem.RECORDS,
            step="record:inquiry",
        )
        assert facts is not None
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
                raise Ended(Stage.NOT_ELIGIBLE, NotificationKind.REJECTION, review.reason.value)
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
                raise Ended(Stage.LOST_CONTACT, NotificationKind.LOST_CONTACT, "no_documents")

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
            request = SlotsRequest(
                journey_id=self._journey.journey_id,
                round=consult_round,
                count=p.consult_slots_offered,
                not_before=start,
            )
            proposed = await self._incidents.attempt(
                lambda request=request: workflow.execute_activity_method(  # type: ignore[misc]
                    BookingActivities.propose_consult_slots,
                    request,
                    start_to_close_timeout=BOOKING_TIMEOUT,
                    schedule_to_close_timeout=p.outside_patience,
                    retry_policy=OUTSIDE_RETRY,
                    summary=f"Propose consult slots (round {request.round})",
                ),
                system=OutsideSystem.CALENDAR,
                step=f"slots:{consult_round}",
            )
            assert proposed is not None
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
                raise Ended(Stage.LOST_CONTACT, NotificationKind.LOST_CONTACT, "no_slot_chosen")
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
                    raise Ended(Stage.LOST_CONTACT, NotificationKind.LOST_CONTACT, "no_shows")
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
                raise Ended(Stage.NOT_ELIGIBLE, NotificationKind.NOT_ELIGIBLE, outcome.reason.value)
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
        facts = {"quote_valid_until": valid_until.date().isoformat()}
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
            raise Ended(Stage.LOST_CONTACT, NotificationKind.LOST_CONTACT, "quote_expired")
        assert self._plan_decision is not None
        if not self._plan_decision.accept:
            self._withdrawal = Withdrawal(actor=self._plan_decision.actor)
            self._ending_reason = "plan_declined"
            raise Withdrawn

    async def _travel_stage(self) -> None:
        p = self._policy
        assert self._plan_decision is not None
        actor = self._plan_decision.actor
        # The clinic may decline the dates it is asked for; the patient then sends new ones.
        # The first round keeps the step names journeys always had.
        for attempt in range(1, MAX_VISIT_REQUESTS + 1):
            sfx = "" if attempt == 1 else f"-{attempt}"
            start = workflow.now()
            await self._enter(
                Stage.TRAVEL,
                WaitingOn.PATIENT,
                start + p.travel_details_timeout,
                actor=actor,
                task="to send the travel details",
            )
            await self._notify(
                f"travel-details-request{sfx}", NotificationKind.TRAVEL_DETAILS_REQUEST
            )
            sent = await self._with_reminders(
                lambda: self._travel is not None,
                start,
                p.travel_details_timeout,
                p.travel_details_reminders,
                self._reminder(
                    f"travel-details-reminder{sfx}", NotificationKind.TRAVEL_DETAILS_REMINDER
                ),
                "Travel details deadline",
            )
            if not sent:
                raise Ended(Stage.LOST_CONTACT, NotificationKind.LOST_CONTACT, "no_travel_details")
            travel = self._travel
            assert travel is not None
            day1 = datetime.combine(
                travel.arrival_date + timedelta(days=1), VISIT_DAY_START, tzinfo=UTC
            )
            day2_end = datetime.combine(
                travel.arrival_date + timedelta(days=2), VISIT_DAY_END, tzinfo=UTC
            )
            self._visit_day1 = day1
            workflow.upsert_search_attributes([TREATMENT_DATE.value_set(day1)])
            await self._enter(
                Stage.TRAVEL,
                WaitingOn.CLINIC,
                None,
                actor=travel.actor,
                task="reserving the clinic visit, hotel and transfer",
            )
            if await self._reserve_visit(f"clinic-visit{sfx}", day1, day2_end):
                break
            actor = self._clinic_confirmation.actor if self._clinic_confirmation else SYSTEM
            self._travel = None
        else:
            raise Ended(Stage.LOST_CONTACT, NotificationKind.LOST_CONTACT, "no_visit_dates")
        arrival = datetime.combine(travel.arrival_date, time(12, 0), tzinfo=UTC)
        departure = datetime.combine(travel.departure_date, time(12, 0), tzinfo=UTC)
        jid = self._journey.journey_id
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

    async def _reserve_visit(self, step: str, day1: datetime, day2_end: datetime) -> bool:
        """Reserve the two-day visit; True once the clinic holds it.

        A clinic that confirms by hand gets the request by email and a coordinator records its
        answer; a clinic API that refuses the request leaves the coordinator to arrange it.
        """
        request = BookingRequest(
            journey_id=self._journey.journey_id,
            step=step,
            kind=BookingKind.CLINIC_VISIT,
            starts_at=day1,
            ends_at=day2_end,
        )
        visit: Booking | None
        try:
            visit = await self._book(request)
        except ActivityError as err:
            if not (isinstance(err.cause, ApplicationError) and err.cause.type == "ClinicRejected"):
                raise
            visit = None
            await self._notify(
                f"{step}-problem",
                NotificationKind.CLINIC_VISIT_PROBLEM,
                Audience.COORDINATORS,
                {"reason": "clinic_rejected"},
            )
        if visit is not None and not visit.confirm_by_hand:
            return True
        if visit is not None:
            await self._notify(
                f"{step}-request", NotificationKind.CLINIC_VISIT_REQUEST, Audience.CLINIC
            )
        self._clinic_confirmation = None
        await self._enter(
            Stage.TRAVEL,
            WaitingOn.COORDINATOR,
            None,
            task="to record the clinic's answer to the visit request",
        )
        await self._until(lambda: self._clinic_confirmation is not None, None, "")
        assert self._clinic_confirmation is not None
        if self._clinic_confirmation.confirmed:
            return True
        if visit is not None:
            visit.confirm_by_hand = False  # the clinic said no: nothing to cancel with it
            await self._cancel(visit)
        return False

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
        check = AssessProcedure(
            journey_id=self._journey.journey_id,
            report_id=self._procedure.report_id,
            min_cells=p.min_cells,
        )
        assessment = await self._incidents.attempt(
            lambda: workflow.execute_activity_method(
                RecordsActivities.assess_procedure,
                check,
                start_to_close_timeout=RECORDS_TIMEOUT,
                summary="Check the dose against the protocol minimum",
            ),
            system=OutsideSystem.RECORDS,
            step="record:procedure",
        )
        assert assessment is not None
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
        except Withdrawn:
            child.cancel()
            try:
                await child
            except (asyncio.CancelledError, ChildWorkflowError):
                pass
            raise
        child.result()
