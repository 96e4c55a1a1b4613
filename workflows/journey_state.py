"""The state of a journey and the moves every stage makes: wait, remind, email, book, enter.

`PatientJourney` (in `journey.py`) runs the stages; its update handlers are in
`journey_steps.py`; both build on `JourneyState`.
"""

from collections.abc import Awaitable, Callable, Sequence
from datetime import datetime, time, timedelta

from temporalio import workflow
from temporalio.exceptions import ActivityError

from workflows.emails import OUTSIDE_RETRY, send_email, tell_coordinators
from workflows.endings import Ended, Withdrawn
from workflows.incidents import ANY_ACTION, RETRY_OR_WITHDRAW, IncidentDesk, incident_details

with workflow.unsafe.imports_passed_through():
    from activities.bookings import BookingActivities
    from activities.records import RecordsActivities
    from domain.actors import SYSTEM, Actor
    from domain.errors import ActivityFailure
    from domain.incidents import Incident, IncidentAction, OutsideSystem
    from domain.journey import JourneyInput, StageTransition
    from domain.names import (
        CASE_MANAGER,
        INCIDENT,
        JOURNEY_STAGE,
        NEXT_DEADLINE,
        WAITING_ON,
    )
    from domain.notifications import Audience, NotificationKind, NotificationRequest
    from domain.records import (
        Booking,
        BookingKind,
        BookingRequest,
        CancelBooking,
        IncidentRecord,
        Slot,
        StageChange,
    )
    from domain.stages import Stage, WaitingOn
    from domain.steps import (
        Admission,
        ClinicConfirmation,
        ConsultOutcome,
        Discharge,
        DocumentsReceived,
        NoShow,
        PlanDecision,
        ProcedureReported,
        RescheduleRequest,
        ReviewDecision,
        SlotBooking,
        TravelDetails,
        Withdrawal,
        WithdrawalReason,
    )

__all__ = ["Ended", "JourneyState", "Withdrawn"]

RECORDS_TIMEOUT = timedelta(seconds=30)
BOOKING_TIMEOUT = timedelta(minutes=2)
MAX_VISIT_REQUESTS = 5
VISIT_DAY_START = time(8, 0)
VISIT_DAY_END = time(18, 0)

# What holds each kind of booking, which names the incident when it stays down.
_BOOKED_WITH = {
    BookingKind.CONSULT: OutsideSystem.CALENDAR,
    BookingKind.CLINIC_VISIT: OutsideSystem.CLINIC,
}

_WAITING_PHRASES: dict[WaitingOn, str] = {
    WaitingOn.PATIENT: "the patient",
    WaitingOn.REVIEWER: "a medical reviewer",
    WaitingOn.SPECIALIST: "the specialist",
    WaitingOn.CLINIC: "the clinic",
    WaitingOn.COORDINATOR: "a coordinator",
}


class JourneyState:
    """What a journey knows, and the helpers its stages share. Ids and decisions only."""

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
        self._clinic_confirmation: ClinicConfirmation | None = None
        # who made the decision that opened the next stage, for its transition record
        self._actor_of_next: Actor = SYSTEM
        self._incidents = IncidentDesk(self)
        # Set once the run is ending: an incident then can no longer be resolved by withdrawing.
        self._closing = False

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
            raise Withdrawn
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
        request = NotificationRequest(
            journey_id=self._journey.journey_id,
            step=step,
            kind=kind,
            audience=audience,
            facts=facts or {},
        )
        await self._incidents.attempt(
            lambda: send_email(request, self._policy.outside_patience),
            system=OutsideSystem.EMAIL,
            step=f"email:{step}",
            actions=self._actions(IncidentAction.SKIP),
        )

    async def _book(self, request: BookingRequest) -> Booking:
        """Book through the system that holds the booking; a clinic's refusal is the
        caller's to handle (the coordinator arranges the visit)."""
        booking = await self._incidents.attempt(
            lambda: workflow.execute_activity_method(
                BookingActivities.book,
                request,
                start_to_close_timeout=BOOKING_TIMEOUT,
                schedule_to_close_timeout=self._policy.outside_patience,
                retry_policy=OUTSIDE_RETRY,
                summary=f"Book {request.kind.value.replace('_', ' ')}",
            ),
            system=_BOOKED_WITH.get(request.kind, OutsideSystem.RECORDS),
            step=f"book:{request.step}",
            passthrough=frozenset({ActivityFailure.CLINIC_REJECTED}),
        )
        assert booking is not None, "a booking is never skipped"
        self._bookings.append(booking)
        return booking

    async def _cancel(self, booking: Booking | None) -> None:
        if booking is None or booking.cancelled or booking.completed:
            return
        # Skipping a cancellation leaves it to the coordinator, who undoes it by hand.
        await self._incidents.attempt(
            lambda: workflow.execute_activity_method(
                BookingActivities.cancel_booking,
                CancelBooking(journey_id=self._journey.journey_id, booking_id=booking.booking_id),
                start_to_close_timeout=BOOKING_TIMEOUT,
                schedule_to_close_timeout=self._policy.outside_patience,
                retry_policy=OUTSIDE_RETRY,
                summary=f"Cancel {booking.kind.value.replace('_', ' ')}",
            ),
            system=_BOOKED_WITH.get(booking.kind, OutsideSystem.RECORDS),
            step=f"cancel:{booking.booking_id.rsplit(':', 1)[-1]}",
            actions=self._actions(IncidentAction.SKIP),
        )
        booking.cancelled = True
        partner = {
            BookingKind.HOTEL: (NotificationKind.HOTEL_CANCELLATION, Audience.HOTEL_PARTNER),
            BookingKind.TRANSFER: (
                NotificationKind.TRANSFER_CANCELLATION,
                Audience.TRANSFER_PARTNER,
            ),
        }.get(booking.kind)
        if booking.kind is BookingKind.CLINIC_VISIT and booking.confirm_by_hand:
            partner = (NotificationKind.CLINIC_VISIT_CANCELLATION, Audience.CLINIC)
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
        """Move to a stage (or a new wait within it), and show it."""
        self._stage, self._waiting_on, self._deadline, self._task = (
            stage,
            waiting_on,
            deadline,
            task,
        )
        await self._project(actor)

    @property
    def _shown_waiting_on(self) -> WaitingOn:
        """Whom people see the journey wait on: a coordinator while an incident is open.

        Steps are still checked against `_waiting_on`, so the patient can book a slot while a
        coordinator sorts out the reminder email that failed.
        """
        return WaitingOn.COORDINATOR if self._incidents.open else self._waiting_on

    async def _project(self, actor: Actor) -> None:
        """Log the state as people see it, show it in the UI and project it into PostgreSQL."""
        now = workflow.now()
        stage, waiting_on = self._stage, self._shown_waiting_on
        deadline = None if self._incidents.open else self._deadline
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
        if self._incidents.open is not None:
            return incident_details(self._incidents.open, head)
        if self._waiting_on is WaitingOn.NONE:
            return f"{head}: {self._task}."
        who = _WAITING_PHRASES[self._waiting_on]
        until = f" by **{self._deadline:%Y-%m-%d %H:%M} UTC**" if self._deadline else ""
        return f"{head}: waiting on {who} {self._task}{until}."

    # The incident desk's host: what the journey shows and records as incidents come and go.
    def _actions(self, *also: IncidentAction) -> tuple[IncidentAction, ...]:
        """How an incident may be resolved now: withdrawing only while the journey runs."""
        base = ANY_ACTION if also else RETRY_OR_WITHDRAW
        if self._closing or self._withdrawal is not None or self._stage.is_final:
            return tuple(a for a in base if a is not IncidentAction.WITHDRAW)
        return base

    def withdrawal_requested(self) -> Actor | None:
        return self._withdrawal.actor if self._withdrawal else None

    async def incident_opened(self, incident: Incident) -> None:
        workflow.upsert_search_attributes([INCIDENT.value_set(incident.kind.value)])
        await self._project(SYSTEM)
        await self._record_incident(incident)
        await tell_coordinators(self._journey.journey_id, incident)

    async def incident_closed(
        self, incident: Incident, action: IncidentAction, actor: Actor
    ) -> None:
        if action is IncidentAction.WITHDRAW and self._withdrawal is None:
            self._withdrawal = Withdrawal(actor=actor, reason=WithdrawalReason.OTHER)
        await self._record_incident(incident, action, actor)
        workflow.upsert_search_attributes([INCIDENT.value_set("")])
        await self._project(actor)

    async def _record_incident(
        self,
        incident: Incident,
        action: IncidentAction | None = None,
        actor: Actor | None = None,
    ) -> None:
        await workflow.execute_activity_method(
            RecordsActivities.record_incident,
            IncidentRecord(
                journey_id=self._journey.journey_id,
                incident=incident,
                resolution=action,
                resolved_by=actor.id if actor else None,
                resolved_at=workflow.now() if action else None,
            ),
            start_to_close_timeout=RECORDS_TIMEOUT,
            summary=f"Record incident {incident.number} ({incident.kind.value})",
        )
