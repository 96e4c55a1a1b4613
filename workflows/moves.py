"""The moves every stage of a journey makes on its state: wait, remind, email, book, cancel,
enter a stage, and hold an incident.

`PatientJourney` owns the state and hands it to `Moves`; the stage functions
(`workflows/stages/`) make their moves through it, so the state changes in one place.
"""

import asyncio
from collections.abc import Awaitable, Callable, Coroutine, Sequence
from datetime import datetime, timedelta
from typing import Any, TypeVar

from temporalio import workflow
from temporalio.exceptions import ActivityError

from workflows.bookings import booking_call
from workflows.emails import send_email, tell_coordinators
from workflows.endings import Ended, Withdrawn
from workflows.incidents import (
    ANY_ACTION,
    RETRY_OR_WITHDRAW,
    IncidentDesk,
    incident_details,
    record_incident,
)
from workflows.journey_state import JourneyState
from workflows.timeouts import RECORDS_TIMEOUT
from workflows.waits import wait_until

with workflow.unsafe.imports_passed_through():
    from activities.bookings import BookingActivities
    from activities.records import RecordsActivities
    from domain.actors import SYSTEM, Actor
    from domain.errors import ActivityFailure
    from domain.incidents import Incident, IncidentAction, OutsideSystem
    from domain.journey import StageTransition
    from domain.names import CASE_MANAGER, INCIDENT, JOURNEY_STAGE, NEXT_DEADLINE, WAITING_ON
    from domain.notifications import Audience, NotificationKind, NotificationRequest
    from domain.policy import JourneyPolicy
    from domain.reasons import EndingReason
    from domain.records import (
        Booking,
        BookingKind,
        BookingRequest,
        CancelBooking,
        StageChange,
    )
    from domain.stages import Stage, Task, WaitingOn
    from domain.steps import Withdrawal, WithdrawalReason

# What holds each kind of booking, which names the incident when it stays down.
_BOOKED_WITH = {
    BookingKind.CONSULT: OutsideSystem.CALENDAR,
    BookingKind.CLINIC_VISIT: OutsideSystem.CLINIC,
}
# Partners told when a booking of theirs is cancelled.
_PARTNER_OF = {
    BookingKind.HOTEL: (NotificationKind.HOTEL_CANCELLATION, Audience.HOTEL_PARTNER),
    BookingKind.TRANSFER: (NotificationKind.TRANSFER_CANCELLATION, Audience.TRANSFER_PARTNER),
}

_WAITING_PHRASES: dict[WaitingOn, str] = {
    WaitingOn.PATIENT: "the patient",
    WaitingOn.REVIEWER: "a medical reviewer",
    WaitingOn.SPECIALIST: "the specialist",
    WaitingOn.CLINIC: "the clinic",
    WaitingOn.COORDINATOR: "a coordinator",
    WaitingOn.CASE_MANAGER: "the case manager",
}

Remind = Callable[[int], Awaitable[None]]
T = TypeVar("T")


class Moves:
    """The moves of one journey, on the state its workflow owns."""

    def __init__(self, state: JourneyState) -> None:
        self.state = state
        self.incidents = IncidentDesk(self, state.incidents)
        self._beside: set[asyncio.Task[None]] = set()

    def beside(self, work: Coroutine[Any, Any, None]) -> None:
        """Run `work` beside the run, which never awaits it: it must end on its own. The
        workflow's event loop schedules it deterministically, as it does the run."""
        task = asyncio.ensure_future(work)
        self._beside.add(task)
        task.add_done_callback(self._beside.discard)

    @property
    def journey_id(self) -> str:
        return self.state.journey_id

    @property
    def policy(self) -> JourneyPolicy:
        return self.state.journey.policy

    async def until(
        self, condition: Callable[[], bool], until: datetime | None, summary: str
    ) -> bool:
        """Wait for `condition` until `until` (None: for ever); False when the time ran out.

        A withdrawal interrupts every wait.
        """
        state = self.state

        def ready() -> bool:
            return condition() or state.withdrawal is not None

        if until is None:
            await workflow.wait_condition(ready)
        else:
            await wait_until(ready, until, summary)
        if state.withdrawal is not None:
            raise Withdrawn
        return condition()

    async def await_step(
        self,
        stage: Stage,
        waiting_on: WaitingOn,
        step: Callable[[], T | None],
        *,
        task: Task,
        actor: Actor = SYSTEM,
    ) -> T:
        """Wait on `waiting_on`, with no deadline, for the step that `step()` returns once it
        came; the wait is shown as `task`."""
        await self.enter(stage, waiting_on, actor=actor, task=task)
        await self.until(lambda: step() is not None, None, "")
        taken = step()
        assert taken is not None
        return taken

    async def sleep_until(self, until: datetime, summary: str) -> None:
        """Sleep until `until`; a withdrawal still interrupts."""
        await self.until(lambda: False, until, summary)

    async def with_reminders(
        self,
        condition: Callable[[], bool],
        start: datetime,
        give_up_after: timedelta,
        reminders: Sequence[timedelta],
        remind: Remind,
        summary: str,
    ) -> bool:
        """Wait for `condition`, reminding at `start + r` for each r; False at the end."""
        for i, offset in enumerate(sorted(r for r in reminders if r < give_up_after), 1):
            if await self.until(condition, start + offset, f"Reminder {i}"):
                return True
            await remind(i)
        return await self.until(condition, start + give_up_after, summary)

    def reminder(
        self, step_prefix: str, kind: NotificationKind, facts: dict[str, str] | None = None
    ) -> Remind:
        async def remind(i: int) -> None:
            await self.notify(f"{step_prefix}-{i}", kind, facts=facts)

        return remind

    async def ask_patient(
        self,
        stage: Stage,
        *,
        task: Task,
        actor: Actor = SYSTEM,
        answered: Callable[[], bool],
        start: datetime,
        give_up_after: timedelta,
        reminders: Sequence[timedelta],
        request: tuple[str, NotificationKind],
        reminder: tuple[str, NotificationKind],
        facts: dict[str, str] | None = None,
        deadline_summary: str,
        lost: EndingReason,
    ) -> None:
        """Wait on the patient for what `request` (an email's step and kind) asks of them,
        reminded at `start + r` for each of `reminders`; when nothing came by
        `start + give_up_after`, the journey ends as LOST_CONTACT for the reason `lost`."""
        await self.enter(stage, WaitingOn.PATIENT, start + give_up_after, actor=actor, task=task)
        await self.notify(*request, facts=facts)
        remind = self.reminder(*reminder, facts)
        if not await self.with_reminders(
            answered, start, give_up_after, reminders, remind, deadline_summary
        ):
            raise Ended(Stage.LOST_CONTACT, NotificationKind.LOST_CONTACT, lost)

    async def notify(
        self,
        step: str,
        kind: NotificationKind,
        audience: Audience = Audience.PATIENT,
        facts: dict[str, str] | None = None,
    ) -> None:
        request = NotificationRequest(
            journey_id=self.journey_id,
            step=step,
            kind=kind,
            audience=audience,
            facts=facts or {},
        )
        await self.incidents.attempt(
            lambda: send_email(request, self.policy.outside_patience),
            system=OutsideSystem.EMAIL,
            step=f"email:{step}",
            actions=self._actions(IncidentAction.SKIP),
        )

    async def book(self, request: BookingRequest) -> Booking:
        """Book through the system that holds the booking; a clinic's refusal is the
        caller's to handle (the coordinator arranges the visit)."""
        booking = await self.incidents.attempt(
            lambda: booking_call(
                BookingActivities.book,
                request,
                self.policy.outside_patience,
                f"Book {request.kind.value.replace('_', ' ')}",
            ),
            system=_BOOKED_WITH.get(request.kind, OutsideSystem.RECORDS),
            step=f"book:{request.step}",
            passthrough=frozenset({ActivityFailure.CLINIC_REJECTED}),
        )
        assert booking is not None, "a booking is never skipped"
        self.state.bookings.append(booking)
        return booking

    async def cancel(
        self,
        booking: Booking | None,
        facts: dict[str, str] | None = None,
        *,
        tell: bool = True,
    ) -> None:
        """Cancel a booking and, if `tell`, its partner; `facts` go to the partner's email."""
        if booking is None or booking.cancelled or booking.completed:
            return
        # Skipping a cancellation leaves it to the coordinator, who undoes it by hand.
        await self.incidents.attempt(
            lambda: booking_call(
                BookingActivities.cancel_booking,
                CancelBooking(journey_id=self.journey_id, booking_id=booking.booking_id),
                self.policy.outside_patience,
                f"Cancel {booking.kind.value.replace('_', ' ')}",
            ),
            system=_BOOKED_WITH.get(booking.kind, OutsideSystem.RECORDS),
            step=f"cancel:{booking.booking_id.rsplit(':', 1)[-1]}",
            actions=self._actions(IncidentAction.SKIP),
        )
        booking.cancelled = True
        partner = _PARTNER_OF.get(booking.kind)
        if booking.kind is BookingKind.CLINIC_VISIT and booking.confirm_by_hand:
            partner = (NotificationKind.CLINIC_VISIT_CANCELLATION, Audience.CLINIC)
        if partner is not None and tell:
            kind, audience = partner
            await self.notify(
                f"cancel-{booking.booking_id.rsplit(':', 1)[-1]}", kind, audience, facts
            )

    def mark_completed(self, booking: Booking | None) -> None:
        if booking is not None:
            booking.completed = True

    async def compensate(self) -> None:
        """Undo what was booked and is still to come, newest first (the saga)."""
        for booking in reversed(self.state.bookings):
            try:
                await self.cancel(booking)
            except ActivityError:
                # Only runs recorded before incidents existed get here.
                workflow.logger.warning("could not cancel booking %s", booking.booking_id)

    async def case_manager_assigned(self, case_manager_id: str) -> None:
        state = self.state
        state.case_manager_id = case_manager_id
        state.case_manager_changes += 1
        workflow.upsert_search_attributes([CASE_MANAGER.value_set(case_manager_id)])
        n = state.case_manager_changes
        await self.notify(f"case-manager-intro-{n}", NotificationKind.CASE_MANAGER_INTRO)
        await self.notify(
            f"case-assigned-{n}", NotificationKind.CASE_ASSIGNED, Audience.CASE_MANAGER
        )

    async def enter(
        self,
        stage: Stage,
        waiting_on: WaitingOn,
        deadline: datetime | None = None,
        *,
        task: Task,
        actor: Actor = SYSTEM,
        reason: str | None = None,
    ) -> None:
        """Move to a stage (or a new wait within it), and show it; an ending carries its coded
        `reason`, so that PostgreSQL can say why journeys ended."""
        state = self.state
        state.stage, state.waiting_on, state.deadline, state.task = (
            stage,
            waiting_on,
            deadline,
            task,
        )
        await self._project(actor, reason)

    async def _project(self, actor: Actor, reason: str | None = None) -> None:
        """Log the state as people see it, show it in the UI and project it into PostgreSQL."""
        state = self.state
        now = workflow.now()
        stage, waiting_on, deadline = state.stage, state.shown_waiting_on, state.shown_deadline
        state.transitions.append(
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
        workflow.set_current_details(self.details())
        await workflow.execute_activity_method(
            RecordsActivities.record_stage,
            StageChange(
                journey_id=self.journey_id,
                seq=len(state.transitions),
                stage=stage,
                waiting_on=waiting_on,
                deadline=deadline,
                changed_at=now,
                actor_id=actor.id,
                actor_role=actor.role.value,
                reason=reason,
                reviewer_id=review.actor.id if (review := state.validation.review) else None,
            ),
            start_to_close_timeout=RECORDS_TIMEOUT,
            summary=f"Record stage {stage.value} ({waiting_on.value})",
        )

    def details(self) -> str:
        """One markdown sentence: what the journey waits for, from whom, until when; and the
        way to the journey's case page, where people act on it."""
        state = self.state
        link = state.journey.case_page_url
        return self._sentence() + (f" [Open the case page]({link})" if link else "")

    def _sentence(self) -> str:
        state = self.state
        head = f"**{state.stage.value}**"
        if state.incidents.open is not None:
            return incident_details(state.incidents.open, head)
        if state.waiting_on is WaitingOn.NONE:
            return f"{head}: {state.waiting_for}."
        who = _WAITING_PHRASES[state.waiting_on]
        until = f" by **{state.deadline:%Y-%m-%d %H:%M} UTC**" if state.deadline else ""
        return f"{head}: waiting on {who} {state.waiting_for}{until}."

    def skippable(self) -> tuple[IncidentAction, ...]:
        """The resolutions of an incident a coordinator may skip: retry, skip, and withdraw
        while the journey runs."""
        return self._actions(IncidentAction.SKIP)

    def _actions(self, *also: IncidentAction) -> tuple[IncidentAction, ...]:
        """How an incident may be resolved now: withdrawing only while the journey runs."""
        state = self.state
        base = ANY_ACTION if also else RETRY_OR_WITHDRAW
        if state.closing or state.withdrawal is not None or state.stage.is_final:
            return tuple(a for a in base if a is not IncidentAction.WITHDRAW)
        return base

    # The incident desk's host: what the journey shows and records as incidents come and go.
    def withdrawal_requested(self) -> Actor | None:
        return self.state.withdrawal.actor if self.state.withdrawal else None

    async def incident_opened(self, incident: Incident) -> None:
        workflow.upsert_search_attributes([INCIDENT.value_set(incident.kind.value)])
        await self._project(SYSTEM)
        await record_incident(self.journey_id, incident)
        await tell_coordinators(self.journey_id, incident)

    async def incident_closed(
        self, incident: Incident, action: IncidentAction, actor: Actor
    ) -> None:
        if action is IncidentAction.WITHDRAW and self.state.withdrawal is None:
            self.state.withdrawal = Withdrawal(actor=actor, reason=WithdrawalReason.OTHER)
        await record_incident(self.journey_id, incident, action, actor)
        workflow.upsert_search_attributes([INCIDENT.value_set("")])
        await self._project(actor)
