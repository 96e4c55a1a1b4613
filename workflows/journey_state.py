"""The state of a journey and the moves every stage makes: wait, remind, email, book, enter.

`PatientJourney` (in `journey.py`) runs the stages; its update handlers are in
`journey_steps.py`; both build on `JourneyState`.
"""

from collections.abc import Awaitable, Callable, Sequence
from datetime import datetime, time, timedelta

from temporalio import workflow
from temporalio.exceptions import ActivityError

from workflows.emails import OUTSIDE_RETRY, send_email

with workflow.unsafe.imports_passed_through():
    from activities.bookings import BookingActivities
    from activities.records import RecordsActivities
    from domain.actors import SYSTEM, Actor, Role
    from domain.journey import JourneyInput, StageTransition
    from domain.names import (
        CASE_MANAGER,
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
    )

RECORDS_TIMEOUT = timedelta(seconds=30)
BOOKING_TIMEOUT = timedelta(minutes=2)
MAX_VISIT_REQUESTS = 5
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


class Ended(Exception):
    """The journey ends early; raised inside the run method, caught at its top."""

    def __init__(self, stage: Stage, kind: NotificationKind | None, reason: str = "") -> None:
        super().__init__(stage.value)
        self.stage, self.kind, self.reason = stage, kind, reason


class Withdrawn(Exception):
    pass


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
