"""The `FollowUp` child workflow: the year after treatment, continued as new to stay bounded.

Its calendar is computed from the discharge time and the policy: care advice, the offer of each
follow-up consult (2 weeks, 6 weeks, 3, 6 and 12 months) and a check that its outcome was
recorded, and for each week of rehabilitation a check-in reminder and, a little later, a check
that the check-in arrived.

Each follow-up consult is booked as the first consultation was (`workflows/stages/teleconsult.py`):
times with the patient's own specialist, chosen by the patient on her page with reminders, a
booking in the specialist's calendar with an invitation, reminders before it, and the
specialist's outcome; a reschedule or a no-show (offered again once) starts a new round. Each
consult's booking runs beside the calendar, and its state travels from run to run. Years begun
before bookings (patch `booked-follow-ups`) only emailed a reminder of each consult.

Each week is judged against the rule of six (domain/rehab.py): a check-in as it arrives, by an
activity that reads it (the hours stay in PostgreSQL), and a week whose check-in is still
missing at its check. Two short weeks in a row, or a missing week, open a rehabilitation
follow-up: the case manager is emailed, the journey is told (it then waits on them), and the
follow-up stays open until they record what was agreed.

Each run is pinned to the build it started on and never runs on other code; the year moves to
a newer build at a continue-as-new, which it makes as soon as it learns that the deployment has
another current version (docs/changing-workflow-code.md).
"""

import asyncio
from collections.abc import Callable, Container, Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import NoReturn

from temporalio import workflow
from temporalio.common import VersioningBehavior
from temporalio.exceptions import FailureError

from workflows.bookings import booking_call, propose_slots
from workflows.emails import send_email, tell_coordinators
from workflows.incidents import IncidentDesk, IncidentState, incident_details, record_incident
from workflows.rules import refuse, require_role
from workflows.timeouts import RECORDS_TIMEOUT
from workflows.waits import wait_until

with workflow.unsafe.imports_passed_through():
    from activities.bookings import BookingActivities
    from activities.records import RecordsActivities
    from domain.actors import Actor
    from domain.follow_up import (
        BookedFollowUp,
        ConsultEnd,
        ConsultPhase,
        FollowUpConsult,
        FollowUpInput,
        FollowUpResult,
        FollowUpStatus,
    )
    from domain.incidents import Incident, IncidentAction, OutsideSystem
    from domain.names import INCIDENT, REHAB_NOTICE_SIGNAL, WAITING_ON
    from domain.notifications import Audience, NotificationKind, NotificationRequest
    from domain.policy import JourneyPolicy
    from domain.reasons import NoticeReason
    from domain.records import (
        AssessCheckin,
        Booking,
        BookingRequest,
        CancelBooking,
        RehabFollowUpRecord,
        SlotsRequest,
    )
    from domain.refusals import RefusalCode
    from domain.rehab import (
        RehabConcern,
        RehabFollowUp,
        RehabNotice,
        RehabState,
        WeekResult,
        covered_through,
    )
    from domain.stages import WaitingOn
    from domain.step_declarations import STEP_ROLES, StepName
    from domain.steps import (
        FollowUpBooking,
        FollowUpNoShow,
        FollowUpOutcome,
        FollowUpReschedule,
        IncidentResolution,
        RehabCheckin,
        RehabFollowUpRecorded,
    )

# The follow-up year's emails may each be skipped; withdrawing is the parent journey's step,
# which cancels this workflow.
FOLLOW_UP_ACTIONS = (IncidentAction.RETRY, IncidentAction.SKIP)
# Skipping the offer of a follow-up consult leaves it to its case manager, who arranges it by
# hand; a chosen time is booked, once the calendar takes it.
OFFER_ACTIONS = (IncidentAction.RETRY, IncidentAction.SKIP)
BOOK_ACTIONS = (IncidentAction.RETRY,)

# Each calendar event adds about eight history events; forty keep a run's history small.
EVENTS_PER_RUN = 40

# Patch ids: each names a change of shape that old histories must keep replaying without.
MOVE_TO_CURRENT_BUILD = "move-to-current-build"
# Weeks judged against the rule of six, and rehabilitation follow-ups for the case manager.
REHAB_FOLLOW_UP = "rehab-follow-up"
# Follow-up consults offered and booked, where the year only emailed a reminder of each. Read
# once at the start of each run: a year begun on older code keeps its run as it was, and its
# next run (a continue-as-new) books each consult whose reminder has not gone out yet.
BOOKED_FOLLOW_UPS = "booked-follow-ups"


def _newer_build_is_current() -> bool:
    """Whether the deployment now routes new tasks to another build than the one this run is
    pinned to (a rollout, or a rollback); always false on an unversioned worker."""
    return workflow.info().is_target_worker_deployment_version_changed()


@dataclass(frozen=True)
class CalendarEvent:
    kind: str
    number: int
    what: str
    at: datetime
    summary: str

    @property
    def key(self) -> str:
        return f"{self.kind}-{self.number}-{self.what}"


def consult_due(discharged_at: datetime, policy: JourneyPolicy, n: int) -> datetime:
    """When follow-up consult `n` (from 1) is due."""
    return discharged_at + policy.follow_up_offsets[n - 1]


def consult_opens(discharged_at: datetime, policy: JourneyPolicy, n: int) -> datetime:
    """From when follow-up consult `n`'s outcome may be recorded: its reminder's time, which
    is also the earliest a time offered for it may start."""
    return consult_due(discharged_at, policy, n) - policy.follow_up_reminder_before


def consult_offered(discharged_at: datetime, policy: JourneyPolicy, n: int) -> datetime:
    """When times are offered for follow-up consult `n`."""
    return consult_due(discharged_at, policy, n) - policy.follow_up_offer_before


def week_opens(discharged_at: datetime, policy: JourneyPolicy, week: int) -> datetime:
    """When rehabilitation week `week` (from 1) begins, and its check-in may be sent."""
    return discharged_at + (week - 1) * policy.rehab_checkin_every


def follow_up_calendar(
    discharged_at: datetime,
    policy: JourneyPolicy,
    *,
    booked: bool = False,
    done: Container[str] = (),
) -> list[CalendarEvent]:
    """The year's events. `booked`: each consult is offered for booking, but one whose
    reminder went out (in a run of a year begun before bookings) keeps that reminder."""
    events: list[CalendarEvent] = []
    for i, after in enumerate(policy.care_advice_after, start=1):
        events.append(CalendarEvent("advice", i, "send", discharged_at + after, "Care advice"))
    for n in range(1, len(policy.follow_up_offsets) + 1):
        due = consult_due(discharged_at, policy, n)
        if booked and f"consult-{n}-reminder" not in done:
            events.append(
                CalendarEvent(
                    "consult",
                    n,
                    "offer",
                    consult_offered(discharged_at, policy, n),
                    f"Offer times for follow-up consult {n}",
                )
            )
        else:
            events.append(
                CalendarEvent(
                    "consult",
                    n,
                    "reminder",
                    due - policy.follow_up_reminder_before,
                    f"Reminder of follow-up consult {n}",
                )
            )
        events.append(
            CalendarEvent(
                "consult",
                n,
                "overdue",
                due + policy.follow_up_outcome_grace,
                f"Check follow-up consult {n} was recorded",
            )
        )
    for week in range(1, policy.rehab_weeks + 1):
        due = discharged_at + week * policy.rehab_checkin_every
        events.append(CalendarEvent("checkin", week, "reminder", due, f"Check-in week {week}"))
        events.append(
            CalendarEvent(
                "checkin",
                week,
                "check",
                due + policy.rehab_checkin_grace,
                f"Was the week {week} check-in received?",
            )
        )
    return sorted(events, key=lambda e: (e.at, e.key))


def check_outcome(
    data: FollowUpInput,
    recorded: Container[int],
    step: FollowUpOutcome,
    now: datetime,
    booked: Mapping[int, FollowUpConsult] | None = None,
) -> None:
    """Whether the year takes a follow-up consult's outcome at `now`: a consult it has, whose
    reminder's time has come, whose outcome is not recorded yet, and which, when it is
    booked, has started."""
    consults = len(data.policy.follow_up_offsets)
    if step.consult_no > consults:
        raise refuse(RefusalCode.NO_SUCH_FOLLOW_UP, consults=consults)
    opens = consult_opens(data.discharged_at, data.policy, step.consult_no)
    if now < opens:
        raise refuse(RefusalCode.FOLLOW_UP_NOT_DUE, consult_no=step.consult_no, opens_at=opens)
    if step.consult_no in recorded:
        raise refuse(RefusalCode.FOLLOW_UP_RECORDED, consult_no=step.consult_no)
    consult = (booked or {}).get(step.consult_no)
    if consult is not None and _awaited(consult) and consult.booking is not None:
        if now < consult.booking.starts_at:
            raise refuse(
                RefusalCode.CONSULT_NOT_STARTED,
                step=StepName.FOLLOW_UP_OUTCOME,
                starts_at=consult.booking.starts_at,
            )


def _awaited(consult: FollowUpConsult) -> bool:
    """A booked consult whose time is still to be held (not moved, not missed)."""
    return (
        consult.phase is ConsultPhase.BOOKED
        and consult.booking is not None
        and not consult.held_or_moved
    )


def _bookable(
    data: FollowUpInput,
    consults: Mapping[int, FollowUpConsult],
    recorded: Container[int],
    n: int,
    now: datetime,
) -> FollowUpConsult:
    """Follow-up consult `n` while its booking is open: offered, not closed, not recorded."""
    count = len(data.policy.follow_up_offsets)
    if n > count:
        raise refuse(RefusalCode.NO_SUCH_FOLLOW_UP, consults=count)
    if n in recorded:
        raise refuse(RefusalCode.FOLLOW_UP_RECORDED, consult_no=n)
    consult = consults.get(n)
    if consult is None:
        offered = consult_offered(data.discharged_at, data.policy, n)
        if now < offered:
            raise refuse(RefusalCode.FOLLOW_UP_NOT_OFFERED, consult_no=n, opens_at=offered)
        # A year begun before bookings reminded of this consult instead.
        raise refuse(RefusalCode.FOLLOW_UP_BOOKING_CLOSED, consult_no=n)
    if consult.phase is ConsultPhase.CLOSED:
        raise refuse(RefusalCode.FOLLOW_UP_BOOKING_CLOSED, consult_no=n)
    return consult


def check_follow_up_booking(
    data: FollowUpInput,
    consults: Mapping[int, FollowUpConsult],
    recorded: Container[int],
    step: FollowUpBooking,
    now: datetime,
) -> None:
    """Whether the year books one of the times offered for a follow-up consult at `now`."""
    consult = _bookable(data, consults, recorded, step.consult_no, now)
    if consult.choice is not None or consult.booking is not None:
        raise refuse(RefusalCode.SLOT_TAKEN)
    slot = consult.slot(step.slot_id) if consult.choosing else None
    if slot is None:
        raise refuse(RefusalCode.SLOT_NOT_OFFERED)
    if slot.starts_at <= now:
        raise refuse(RefusalCode.SLOT_PASSED)


def check_follow_up_reschedule(
    data: FollowUpInput,
    consults: Mapping[int, FollowUpConsult],
    recorded: Container[int],
    step: FollowUpReschedule,
    now: datetime,
) -> None:
    """Whether the year offers other times for a follow-up consult at `now`: instead of the
    times offered and not chosen, or of a booking that has not started."""
    consult = _bookable(data, consults, recorded, step.consult_no, now)
    if consult.choosing:
        return
    booking = _booked(consult, StepName.RESCHEDULE_FOLLOW_UP)
    if now >= booking.starts_at:
        raise refuse(RefusalCode.CONSULT_STARTED)


def check_follow_up_no_show(
    data: FollowUpInput,
    consults: Mapping[int, FollowUpConsult],
    recorded: Container[int],
    step: FollowUpNoShow,
    now: datetime,
) -> None:
    """Whether the year takes, at `now`, that the patient missed a booked follow-up consult:
    one that has started."""
    consult = _bookable(data, consults, recorded, step.consult_no, now)
    booking = _booked(consult, StepName.FOLLOW_UP_NO_SHOW)
    if now < booking.starts_at:
        raise refuse(
            RefusalCode.CONSULT_NOT_STARTED,
            step=StepName.FOLLOW_UP_NO_SHOW,
            starts_at=booking.starts_at,
        )


def _booked(consult: FollowUpConsult, step: StepName) -> Booking:
    if consult.phase is not ConsultPhase.BOOKED or consult.booking is None:
        raise refuse(RefusalCode.NO_BOOKED_CONSULT, step=step)
    if consult.held_or_moved:
        raise refuse(RefusalCode.CONSULT_SETTLED)
    return consult.booking


def consult_expects(consult: FollowUpConsult) -> list[StepName]:
    """The steps a follow-up consult takes now, without the clock (has it started?), which is
    the validators' to read when a step is sent."""
    if consult.choosing:
        return [StepName.BOOK_FOLLOW_UP, StepName.RESCHEDULE_FOLLOW_UP]
    if _awaited(consult):
        return [StepName.RESCHEDULE_FOLLOW_UP, StepName.FOLLOW_UP_NO_SHOW]
    return []


def check_checkin(
    data: FollowUpInput, received: Container[int], step: RehabCheckin, now: datetime
) -> None:
    """Whether the year takes a rehabilitation check-in at `now`: for a week of the policy's
    that has begun, and not received yet."""
    weeks = data.policy.rehab_weeks
    if step.week > weeks:
        raise refuse(RefusalCode.NO_SUCH_REHAB_WEEK, weeks=weeks)
    if now < week_opens(data.discharged_at, data.policy, step.week):
        raise refuse(RefusalCode.REHAB_WEEK_NOT_STARTED, week=step.week)
    if step.week in received:
        raise refuse(RefusalCode.CHECKIN_RECEIVED, week=step.week)


def check_rehab_follow_up(rehab: RehabState, step: RehabFollowUpRecorded) -> None:
    """Whether the year takes a case manager's record of a rehabilitation follow-up: one is
    open, and it is the one the step names."""
    open_one = rehab.open
    if open_one is None:
        raise refuse(RefusalCode.NO_REHAB_FOLLOW_UP)
    if step.follow_up_no != open_one.number:
        raise refuse(
            RefusalCode.REHAB_FOLLOW_UP_SUPERSEDED,
            follow_up_no=step.follow_up_no,
            open_follow_up=open_one.number,
        )


@workflow.defn(name="FollowUp", versioning_behavior=VersioningBehavior.PINNED)
class FollowUp:
    """Reminders, outcomes and rehab check-ins for the year after discharge, and the booking
    of each follow-up consult."""

    @workflow.init
    def __init__(self, data: FollowUpInput) -> None:
        self._input = data
        self._done: set[str] = set(data.done)
        self._outcomes: dict[int, str] = dict(data.outcomes)
        self._checkins: dict[int, str] = dict(data.checkins)
        self._calendar = follow_up_calendar(data.discharged_at, data.policy)
        self._incidents = IncidentDesk(self, IncidentState(count=data.incidents))
        self._consults: dict[int, FollowUpConsult] = dict(data.consults)
        self._bookings: dict[int, asyncio.Task[None]] = {}
        self._booked = False
        self._year_over = False
        self._rehab = data.rehab.model_copy(deep=True)
        # Whether this run judges the weeks: set once the run begins (runs recorded before
        # the rule of six was judged replay without it).
        self._judges = False

    @workflow.run
    async def run(self, data: FollowUpInput) -> FollowUpResult:
        self._judges = workflow.patched(REHAB_FOLLOW_UP)
        if workflow.patched(BOOKED_FOLLOW_UPS):
            self._booked = True
            self._calendar = follow_up_calendar(
                data.discharged_at, data.policy, booked=True, done=self._done
            )
            # The consults the last run was booking: each goes on from where it was.
            for consult in self._consults.values():
                if consult.phase is not ConsultPhase.CLOSED:
                    self._follow(consult)
        try:
            await self._walk_the_calendar()
        except asyncio.CancelledError:
            # The journey was withdrawn: what is booked and still to come is cancelled.
            if self._booked:
                await self._cancel_bookings()
            raise
        await workflow.wait_condition(workflow.all_handlers_finished)
        consults = range(1, len(data.policy.follow_up_offsets) + 1)
        return FollowUpResult(
            outcomes_recorded=sorted(self._outcomes),
            missing_outcomes=[n for n in consults if n not in self._outcomes],
            checkins_received=len(self._checkins),
            checkins_missed=[
                w for w in range(1, data.policy.rehab_weeks + 1) if w not in self._checkins
            ],
        )

    async def _walk_the_calendar(self) -> None:
        handled_this_run = 0
        for event in self._calendar:
            if event.key in self._done:
                continue
            if (
                handled_this_run >= EVENTS_PER_RUN or workflow.info().is_continue_as_new_suggested()
            ) and self._may_move_on():
                await self._continue_as_new()
            if await self._until_due(event) and self._may_move_on():
                await self._continue_as_new()
            await self._handle(event)
            self._done.add(event.key)
            handled_this_run += 1
        if self._booked:
            await self._close_the_year()

    def _may_move_on(self) -> bool:
        """Whether the run may continue as new now: not while a consult's booking holds an
        incident, whose coordinator must find it where they left it."""
        return self._incidents.open is None

    async def _until_due(self, event: CalendarEvent) -> bool:
        """Wait until `event` is due; True when a newer build has become current meanwhile.

        The run then continues as new rather than keep its build running: after the weeks of
        rehabilitation, the next calendar event can be six months away. The server tells a
        run of the newer build in the tasks of timers, activities and signals (an update's
        task may not say), so `look_for_new_build` wakes it to move at once.

        A check-in that arrives meanwhile wakes the run too, which judges it and opens a
        rehabilitation follow-up if the weeks call for one, then waits on.
        """
        while True:
            await self._judge_weeks()
            wait = event.at - workflow.now()
            if wait <= timedelta(0):
                break
            try:
                await workflow.wait_condition(
                    lambda: _newer_build_is_current() or self._rehab_work(),
                    timeout=wait,
                    timeout_summary=event.summary,
                )
            except TimeoutError:
                break
            if _newer_build_is_current():
                break
        return _newer_build_is_current() and workflow.patched(MOVE_TO_CURRENT_BUILD)

    def _rehab_work(self) -> bool:
        """A check-in to judge, or a follow-up to open: only in runs that judge the weeks."""
        rehab = self._rehab
        return self._judges and (bool(rehab.unjudged) or rehab.due() is not None)

    async def _judge_weeks(self) -> None:
        """Judge the check-ins received, then open a follow-up if the weeks call for one."""
        while self._rehab_work():
            rehab = self._rehab
            if rehab.unjudged:
                week, checkin_id = min(rehab.unjudged.items())
                result = await self._assess(week, checkin_id)
                del rehab.unjudged[week]
                if result is not None:
                    rehab.weeks[week] = result
                continue
            concern = rehab.due()
            assert concern is not None
            await self._open_rehab_follow_up(concern)

    async def _assess(self, week: int, checkin_id: str) -> WeekResult | None:
        """The check-in against the rule of six; None when a coordinator skipped a check-in
        that could not be read (the week then stays unjudged)."""
        assessment = await self._incidents.attempt(
            lambda: workflow.execute_activity_method(
                RecordsActivities.assess_checkin,
                AssessCheckin(journey_id=self._input.journey_id, checkin_id=checkin_id),
                start_to_close_timeout=RECORDS_TIMEOUT,
                summary=f"Judge week {week} against the rule of six",
            ),
            system=OutsideSystem.RECORDS,
            step=f"record:checkin-{week}",
            actions=FOLLOW_UP_ACTIONS,
        )
        return assessment.result if assessment is not None else None

    async def _open_rehab_follow_up(self, concern: RehabConcern) -> None:
        """Put the patient before their case manager: recorded, the journey told, the case
        manager emailed in the language they work in."""
        rehab, now = self._rehab, workflow.now()
        rehab.opened += 1
        follow_up = RehabFollowUp(
            number=rehab.opened,
            reason=concern.reason,
            weeks=concern.weeks,
            since=now,
            due=now + self._input.policy.rehab_follow_up_within,
        )
        rehab.open = follow_up
        await self._record_rehab_follow_up(
            RehabFollowUpRecord(journey_id=self._input.journey_id, follow_up=follow_up)
        )
        await self._tell_journey(RehabNotice(follow_up=follow_up))
        await self._notify(
            f"rehab-{follow_up.number}",
            NotificationKind.REHAB_FOLLOW_UP,
            Audience.CASE_MANAGER,
            {
                "follow_up_no": str(follow_up.number),
                "rehab_reason": follow_up.reason.value,
                "weeks": ", ".join(str(w) for w in follow_up.weeks),
                "due_at": follow_up.due.date().isoformat(),
            },
        )

    async def _record_rehab_follow_up(self, record: RehabFollowUpRecord) -> None:
        follow_up = record.follow_up
        await workflow.execute_activity_method(
            RecordsActivities.record_rehab_follow_up,
            record,
            start_to_close_timeout=RECORDS_TIMEOUT,
            summary=f"Record rehabilitation follow-up {follow_up.number} "
            f"({'closed' if record.closed_at else follow_up.reason.value})",
        )

    async def _tell_journey(self, notice: RehabNotice) -> None:
        """Signal the journey this year belongs to, so that it shows whom it waits on; a year
        run on its own (tests, tools) has no journey to tell."""
        parent = workflow.info().parent
        if parent is None:
            return
        try:
            await workflow.get_external_workflow_handle(parent.workflow_id).signal(
                REHAB_NOTICE_SIGNAL, notice
            )
        except FailureError as err:
            # The journey is ending (a withdrawal cancels this year too): nobody to tell.
            workflow.logger.warning("the journey was not told of the follow-up: %s", err)

    async def _continue_as_new(self) -> NoReturn:
        await workflow.wait_condition(workflow.all_handlers_finished)
        # The next run starts on the build the deployment routes new tasks to, and is pinned
        # there in turn; without this it would inherit this run's build.
        workflow.continue_as_new(
            self._carry_over(),
            initial_versioning_behavior=workflow.ContinueAsNewVersioningBehavior.AUTO_UPGRADE,
        )

    def _carry_over(self) -> FollowUpInput:
        return self._input.model_copy(
            update={
                "done": sorted(self._done),
                "outcomes": dict(self._outcomes),
                "checkins": dict(self._checkins),
                "incidents": self._incidents.count,
                "rehab": self._rehab.model_copy(deep=True),
                "consults": dict(self._consults),
            }
        )

    async def _handle(self, event: CalendarEvent) -> None:
        kind, n, what = event.kind, event.number, event.what
        if kind == "advice":
            await self._notify(event.key, NotificationKind.CARE_ADVICE, Audience.PATIENT)
        elif kind == "consult" and what == "offer":
            if n not in self._outcomes and n not in self._consults:
                consult = FollowUpConsult(number=n)
                self._consults[n] = consult
                self._follow(consult)
        elif kind == "consult" and what == "reminder":
            due = consult_due(self._input.discharged_at, self._input.policy, n)
            facts = {"follow_up_no": str(n), "follow_up_at": due.date().isoformat()}
            await self._notify(
                event.key, NotificationKind.FOLLOW_UP_REMINDER, Audience.PATIENT, facts
            )
            await self._notify(
                f"{event.key}-specialist",
                NotificationKind.FOLLOW_UP_DUE_SPECIALIST,
                Audience.SPECIALIST,
                facts,
            )
        elif (
            kind == "consult"
            and what == "overdue"
            and n not in self._outcomes
            and self._held_unrecorded(n)
        ):
            due = consult_due(self._input.discharged_at, self._input.policy, n)
            facts = {"follow_up_no": str(n), "follow_up_at": due.date().isoformat()}
            await self._notify(
                event.key, NotificationKind.FOLLOW_UP_DUE_SPECIALIST, Audience.SPECIALIST, facts
            )
        elif kind == "checkin" and what == "reminder" and n not in self._checkins:
            await self._notify(
                event.key,
                NotificationKind.REHAB_CHECKIN_REMINDER,
                Audience.PATIENT,
                {"checkin_week": str(n)},
            )
        elif kind == "checkin" and what == "check" and n not in self._checkins:
            if self._judges:
                self._rehab.weeks[n] = WeekResult.MISSING
                concern = self._rehab.due()
                if concern is not None:
                    # The case manager is asked to follow the patient up: that email says the
                    # week is missing, and why it matters.
                    await self._open_rehab_follow_up(concern)
                    return
            await self._notify(
                event.key,
                NotificationKind.CHECKIN_MISSED,
                Audience.CASE_MANAGER,
                {"checkin_week": str(n)},
            )

    def _held_unrecorded(self, n: int) -> bool:
        """Whether the specialist is to be reminded of consult `n`'s outcome: not when it was
        never booked or was missed, which its case manager was told of instead."""
        consult = self._consults.get(n)
        return consult is None or consult.ended not in (ConsultEnd.NOT_BOOKED, ConsultEnd.MISSED)

    # -- booking each follow-up consult, beside the calendar ----------------------------------

    def _follow(self, consult: FollowUpConsult) -> None:
        self._bookings[consult.number] = asyncio.create_task(self._book_consult(consult))

    async def _book_consult(self, consult: FollowUpConsult) -> None:
        """Offer, choose, book and hold one follow-up consult, round after round, until it is
        held or its case manager takes it over. Every move is keyed by the consult and its
        round, so a run that takes it up again repeats nothing."""
        while consult.phase is not ConsultPhase.CLOSED:
            match consult.phase:
                case ConsultPhase.OFFERING:
                    await self._offer(consult)
                case ConsultPhase.CHOOSING:
                    await self._await_choice(consult)
                case ConsultPhase.BOOKING:
                    await self._book(consult)
                case ConsultPhase.BOOKED:
                    await self._hold(consult)

    def _facts(self, consult: FollowUpConsult, **more: str) -> dict[str, str]:
        due = consult_due(self._input.discharged_at, self._input.policy, consult.number)
        return {
            "follow_up_no": str(consult.number),
            "follow_up_at": due.date().isoformat(),
            **more,
        }

    async def _tell(
        self,
        consult: FollowUpConsult,
        step: str,
        kind: NotificationKind,
        audience: Audience = Audience.PATIENT,
        facts: dict[str, str] | None = None,
    ) -> None:
        """An email about the consult, sent once even across runs."""
        if step in consult.sent:
            return
        await self._notify(step, kind, audience, facts or self._facts(consult))
        consult.sent.append(step)

    async def _offer(self, consult: FollowUpConsult) -> None:
        data, p, n = self._input, self._input.policy, consult.number
        now = workflow.now()
        due = consult_due(data.discharged_at, p, n)
        request = SlotsRequest(
            journey_id=data.journey_id,
            round=consult.round,
            count=p.consult_slots_offered,
            not_before=now,
            follow_up_no=n,
            earliest=consult_opens(data.discharged_at, p, n),
            until=max(due, now) + p.follow_up_outcome_grace,
        )
        proposed = await propose_slots(self._incidents, request, p.outside_patience, OFFER_ACTIONS)
        if proposed is None:
            await self._close(consult, ConsultEnd.NOT_BOOKED)
            return
        consult.offered = proposed.slots
        consult.offered_at = now = workflow.now()
        consult.choose_by = now + p.follow_up_choice_timeout
        consult.phase = ConsultPhase.CHOOSING

    async def _await_choice(self, consult: FollowUpConsult) -> None:
        p, n, r = self._input.policy, consult.number, consult.round
        assert consult.offered_at is not None and consult.choose_by is not None
        facts = self._facts(consult, slot_round=str(r), choose_by=consult.choose_by.isoformat())
        await self._tell(
            consult,
            f"consult-{n}-slots-{r}",
            NotificationKind.FOLLOW_UP_SLOT_PROPOSALS,
            facts=facts,
        )

        def answered() -> bool:
            return not consult.choosing or n in self._outcomes

        timeout = consult.choose_by - consult.offered_at
        reminders = sorted(r for r in p.follow_up_choice_reminders if r < timeout)
        for i, offset in enumerate(reminders, 1):
            step = f"consult-{n}-slots-{r}-reminder-{i}"
            if step in consult.sent:
                continue
            at = consult.offered_at + offset
            if await wait_until(answered, at, f"Follow-up consult {n}: reminder to choose a time"):
                break
            await self._tell(
                consult,
                step,
                NotificationKind.FOLLOW_UP_SLOT_PROPOSALS,
                facts={**facts, "reminder": "1"},
            )
        if not await wait_until(answered, consult.choose_by, f"Follow-up consult {n}: choice"):
            await self._close(consult, ConsultEnd.NOT_BOOKED)
        elif n in self._outcomes:
            await self._close(consult, ConsultEnd.HELD)
        elif consult.other_times is not None:
            await self._next_round(consult)
        else:
            consult.phase = ConsultPhase.BOOKING

    async def _book(self, consult: FollowUpConsult) -> None:
        data, n, r = self._input, consult.number, consult.round
        assert consult.choice is not None
        slot = consult.slot(consult.choice.slot_id)
        assert slot is not None
        request = BookingRequest.consult(data.journey_id, f"follow-up-{n}-{r}", slot, n)
        booking = await self._incidents.attempt(
            lambda: booking_call(
                BookingActivities.book,
                request,
                data.policy.outside_patience,
                f"Book follow-up consult {n}",
            ),
            system=OutsideSystem.CALENDAR,
            step=f"book:follow-up-{n}-{r}",
            actions=BOOK_ACTIONS,
        )
        assert booking is not None, "a chosen time is never skipped"
        consult.booking = booking
        consult.phase = ConsultPhase.BOOKED

    async def _hold(self, consult: FollowUpConsult) -> None:
        p, n, r = self._input.policy, consult.number, consult.round
        booking = consult.booking
        assert booking is not None
        facts = self._facts(consult, booking_id=booking.booking_id)
        await self._tell(
            consult, f"consult-{n}-booked-{r}", NotificationKind.FOLLOW_UP_BOOKED, facts=facts
        )
        await self._tell(
            consult,
            f"consult-{n}-booked-{r}-specialist",
            NotificationKind.FOLLOW_UP_BOOKED_SPECIALIST,
            Audience.SPECIALIST,
            facts,
        )

        def settled() -> bool:
            return consult.held_or_moved or n in self._outcomes

        for i, before in enumerate(sorted(p.consult_reminders_before, reverse=True), 1):
            step = f"consult-{n}-before-{r}-{i}"
            if step in consult.sent:
                continue
            summary = f"Follow-up consult {n}: reminder before it"
            if await wait_until(settled, booking.starts_at - before, summary):
                break
            if workflow.now() < booking.starts_at:
                await self._tell(consult, step, NotificationKind.CONSULT_REMINDER, facts=facts)
        await workflow.wait_condition(settled)
        if consult.reschedule is not None:
            await self._cancel(booking)
            await self._tell(
                consult,
                f"consult-{n}-cancelled-{r}",
                NotificationKind.CONSULT_CANCELLED,
                facts={**facts, "reason": NoticeReason.RESCHEDULE_REQUESTED},
            )
            await self._next_round(consult)
        elif consult.no_show is not None:
            await self._cancel(booking)
            consult.no_shows += 1
            again = consult.no_shows <= p.follow_up_reoffers and not self._year_over
            await self._tell(
                consult,
                f"consult-{n}-missed-{r}",
                NotificationKind.FOLLOW_UP_MISSED,
                facts={**facts, "again": "1" if again else ""},
            )
            if again:
                await self._next_round(consult)
            else:
                await self._close(consult, ConsultEnd.MISSED)
        else:
            booking.completed = True
            await self._close(consult, ConsultEnd.HELD)

    async def _next_round(self, consult: FollowUpConsult) -> None:
        """New times for the consult: none of those offered before; once the year's calendar
        is over, its case manager arranges it instead."""
        if self._year_over:
            await self._close(consult, ConsultEnd.NOT_BOOKED)
            return
        consult.round += 1
        consult.offered, consult.offered_at, consult.choose_by = [], None, None
        consult.choice = consult.other_times = consult.reschedule = consult.no_show = None
        consult.booking = None
        consult.phase = ConsultPhase.OFFERING

    async def _close(self, consult: FollowUpConsult, end: ConsultEnd) -> None:
        """The consult's booking ends; its case manager is asked to arrange what it could
        not."""
        if end in (ConsultEnd.NOT_BOOKED, ConsultEnd.MISSED):
            await self._tell(
                consult,
                f"consult-{consult.number}-not-booked",
                NotificationKind.FOLLOW_UP_NOT_BOOKED,
                Audience.CASE_MANAGER,
                self._facts(consult, why=end.value),
            )
        consult.ended = end
        consult.phase = ConsultPhase.CLOSED

    async def _cancel(self, booking: Booking) -> None:
        if booking.cancelled or booking.completed:
            return
        # Skipping a cancellation leaves it to a coordinator, who clears the calendar by hand.
        await self._incidents.attempt(
            lambda: booking_call(
                BookingActivities.cancel_booking,
                CancelBooking(journey_id=self._input.journey_id, booking_id=booking.booking_id),
                self._input.policy.outside_patience,
                "Cancel a follow-up consult",
            ),
            system=OutsideSystem.CALENDAR,
            step=f"cancel:{booking.booking_id.rsplit(':', 1)[-1]}",
            actions=FOLLOW_UP_ACTIONS,
        )
        booking.cancelled = True

    async def _cancel_bookings(self) -> None:
        await self._stop_booking()
        for consult in self._consults.values():
            if consult.booking is not None:
                await self._cancel(consult.booking)

    async def _stop_booking(self) -> None:
        """Stop every consult's booking where it is, and wait until each has stopped."""
        running = [task for task in self._bookings.values() if not task.done()]
        for task in running:
            task.cancel()
        for task in running:
            try:
                await task
            except asyncio.CancelledError:
                pass

    async def _close_the_year(self) -> None:
        """The calendar is done: a consult still booked is awaited until its outcome is due,
        and whatever is still open then closes with the year."""
        self._year_over = True
        p = self._input.policy

        def still_open() -> list[FollowUpConsult]:
            return [c for c in self._consults.values() if c.phase is not ConsultPhase.CLOSED]

        ends = [
            c.booking.starts_at + p.consult_outcome_grace
            for c in still_open()
            if c.booking is not None
        ] + [c.choose_by for c in still_open() if c.choose_by is not None]
        if ends:
            await wait_until(lambda: not still_open(), max(ends), "The last follow-up consults")
        await self._stop_booking()
        for consult in still_open():
            consult.ended, consult.phase = ConsultEnd.YEAR_ENDED, ConsultPhase.CLOSED

    async def _notify(
        self,
        step: str,
        kind: NotificationKind,
        audience: Audience,
        facts: dict[str, str] | None = None,
    ) -> None:
        request = NotificationRequest(
            journey_id=self._input.journey_id,
            step=f"follow-up-{step}",
            kind=kind,
            audience=audience,
            facts=facts or {},
        )
        await self._incidents.attempt(
            lambda: send_email(request, self._input.policy.outside_patience),
            system=OutsideSystem.EMAIL,
            step=f"email:{request.step}",
            actions=FOLLOW_UP_ACTIONS,
        )

    def withdrawal_requested(self) -> Actor | None:
        return None

    async def incident_opened(self, incident: Incident) -> None:
        workflow.upsert_search_attributes(
            [
                INCIDENT.value_set(incident.kind.value),
                WAITING_ON.value_set(WaitingOn.COORDINATOR.value),
            ]
        )
        workflow.set_current_details(self._with_link(incident_details(incident, "**FOLLOW_UP**")))
        await record_incident(self._input.journey_id, incident, workflow_name="follow-up")
        await tell_coordinators(self._input.journey_id, incident, "follow-up-")

    async def incident_closed(
        self, incident: Incident, action: IncidentAction, actor: Actor
    ) -> None:
        await record_incident(
            self._input.journey_id, incident, action, actor, workflow_name="follow-up"
        )
        workflow.upsert_search_attributes(
            [INCIDENT.value_set(""), WAITING_ON.value_set(WaitingOn.PATIENT.value)]
        )
        workflow.set_current_details(self._with_link("**FOLLOW_UP**: the follow-up year goes on."))

    def _with_link(self, details: str) -> str:
        link = self._input.case_page_url
        return details + (f" [Open the case page]({link})" if link else "")

    # No input: the signal only gives the run a task, and the server says in every task
    # whether the deployment routes new tasks to another build (`journeys deployment drain`).
    @workflow.signal
    def look_for_new_build(self) -> None:
        """Wake the run, which continues as new on the current build if it is another."""

    @workflow.update
    async def resolve_incident(self, step: IncidentResolution) -> FollowUpStatus:
        self._incidents.resolve(step)
        await workflow.wait_condition(lambda: self._incidents.open is None)
        return self.status()

    @resolve_incident.validator
    def _check_resolution(self, step: IncidentResolution) -> None:
        require_role(step.actor.role, STEP_ROLES[StepName.RESOLVE_INCIDENT])
        self._incidents.check(step)

    @workflow.query
    def status(self) -> FollowUpStatus:
        upcoming = next((e for e in self._calendar if e.key not in self._done), None)
        consults = [self._shown(c) for _, c in sorted(self._consults.items())]
        expected = {step for c in consults for step in c.expects}
        return FollowUpStatus(
            outcomes_recorded=sorted(self._outcomes),
            checkins_received=sorted(self._checkins),
            next_event=upcoming.summary if upcoming else None,
            next_event_at=upcoming.at if upcoming else None,
            incident=self._incidents.open,
            weeks=dict(self._rehab.weeks),
            rehab_follow_up=self._rehab.open,
            consults=consults,
            expects=[s for s in CONSULT_STEPS if s in expected],
        )

    def _shown(self, consult: FollowUpConsult) -> BookedFollowUp:
        booking = consult.booking
        return BookedFollowUp(
            number=consult.number,
            phase=consult.phase,
            offered=list(consult.offered) if consult.choosing else [],
            choose_by=consult.choose_by if consult.choosing else None,
            booking=booking.model_copy() if booking and not booking.cancelled else None,
            no_shows=consult.no_shows,
            ended=consult.ended,
            expects=consult_expects(consult),
        )

    @workflow.update
    async def record_outcome(self, step: FollowUpOutcome) -> FollowUpStatus:
        self._outcomes[step.consult_no] = step.outcome_id
        return self.status()

    @record_outcome.validator
    def _validate_outcome(self, step: FollowUpOutcome) -> None:
        require_role(step.actor.role, STEP_ROLES[StepName.FOLLOW_UP_OUTCOME])
        check_outcome(self._input, self._outcomes, step, workflow.now(), self._consults)

    @workflow.update
    async def rehab_checkin(self, step: RehabCheckin) -> FollowUpStatus:
        self._checkins[step.week] = step.checkin_id
        # Judged by the run, which wakes for it (runs that judge the weeks only).
        self._rehab.unjudged[step.week] = step.checkin_id
        return self.status()

    @rehab_checkin.validator
    def _validate_checkin(self, step: RehabCheckin) -> None:
        require_role(step.actor.role, STEP_ROLES[StepName.REHAB_CHECKIN])
        check_checkin(self._input, self._checkins, step, workflow.now())

    @workflow.update
    async def rehab_follow_up(self, step: RehabFollowUpRecorded) -> FollowUpStatus:
        """The case manager recorded what was agreed: the follow-up closes, answering for every
        week judged so far, and the journey is told."""
        rehab = self._rehab
        closed = rehab.open
        assert closed is not None
        rehab.open = None
        rehab.covered_through = covered_through(rehab.weeks, closed.weeks)
        await self._record_rehab_follow_up(
            RehabFollowUpRecord(
                journey_id=self._input.journey_id,
                follow_up=closed,
                closed_at=workflow.now(),
                closed_by=step.actor.id,
                record_id=step.record_id,
            )
        )
        await self._tell_journey(RehabNotice(follow_up=closed, closed=True, closed_by=step.actor))
        return self.status()

    @rehab_follow_up.validator
    def _validate_rehab_follow_up(self, step: RehabFollowUpRecorded) -> None:
        require_role(step.actor.role, STEP_ROLES[StepName.REHAB_FOLLOW_UP])
        check_rehab_follow_up(self._rehab, step)

    # Validators do not run on replay, and no year before bookings had these updates: they
    # need no patch.
    @workflow.update
    async def book_follow_up(self, step: FollowUpBooking) -> FollowUpStatus:
        consult = self._consults[step.consult_no]
        consult.choice = step
        await self._answered(consult, lambda: consult.booking is not None)
        return self.status()

    @book_follow_up.validator
    def _validate_booking(self, step: FollowUpBooking) -> None:
        require_role(step.actor.role, STEP_ROLES[StepName.BOOK_FOLLOW_UP])
        check_follow_up_booking(self._input, self._consults, self._outcomes, step, workflow.now())

    @workflow.update
    async def reschedule_follow_up(self, step: FollowUpReschedule) -> FollowUpStatus:
        consult = self._consults[step.consult_no]
        round_before = consult.round
        if consult.choosing:
            consult.other_times = step
        else:
            consult.reschedule = step
        await self._answered(consult, lambda: _new_times(consult, round_before))
        return self.status()

    @reschedule_follow_up.validator
    def _validate_reschedule(self, step: FollowUpReschedule) -> None:
        require_role(step.actor.role, STEP_ROLES[StepName.RESCHEDULE_FOLLOW_UP])
        check_follow_up_reschedule(
            self._input, self._consults, self._outcomes, step, workflow.now()
        )

    @workflow.update
    async def follow_up_no_show(self, step: FollowUpNoShow) -> FollowUpStatus:
        consult = self._consults[step.consult_no]
        round_before = consult.round
        consult.no_show = step
        await self._answered(consult, lambda: _new_times(consult, round_before))
        return self.status()

    @follow_up_no_show.validator
    def _validate_no_show(self, step: FollowUpNoShow) -> None:
        require_role(step.actor.role, STEP_ROLES[StepName.FOLLOW_UP_NO_SHOW])
        check_follow_up_no_show(self._input, self._consults, self._outcomes, step, workflow.now())

    async def _answered(self, consult: FollowUpConsult, moved: Callable[[], bool]) -> None:
        """Answer a consult's step once the year has acted on it (the booking made, new times
        offered), so the answer shows where the consult went; or once an incident holds it."""
        await workflow.wait_condition(
            lambda: (
                moved() or consult.phase is ConsultPhase.CLOSED or self._incidents.open is not None
            )
        )


# The follow-up consult steps, in the order people see them offered.
CONSULT_STEPS = (
    StepName.BOOK_FOLLOW_UP,
    StepName.RESCHEDULE_FOLLOW_UP,
    StepName.FOLLOW_UP_NO_SHOW,
)


def _new_times(consult: FollowUpConsult, round_before: int) -> bool:
    return consult.round > round_before and consult.phase is not ConsultPhase.OFFERING
