"""The `FollowUp` child workflow: the year after treatment, continued as new to stay bounded.

Its calendar is computed from the discharge time and the policy: care advice, a reminder and a
due date for each follow-up consult (2 weeks, 6 weeks, 3, 6 and 12 months), and for each week of
rehabilitation a check-in reminder and, a little later, a check that the check-in arrived.

Each week is judged against the rule of six (domain/rehab.py): a check-in as it arrives, by an
activity that reads it (the hours stay in PostgreSQL), and a week whose check-in is still
missing at its check. Two short weeks in a row, or a missing week, open a rehabilitation
follow-up: the case manager is emailed, the journey is told (it then waits on them), and the
follow-up stays open until they record what was agreed.

Each run is pinned to the build it started on and never runs on other code; the year moves to
a newer build at a continue-as-new, which it makes as soon as it learns that the deployment has
another current version (docs/changing-workflow-code.md).
"""

from collections.abc import Container
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import NoReturn

from temporalio import workflow
from temporalio.common import VersioningBehavior
from temporalio.exceptions import FailureError

from workflows.emails import send_email, tell_coordinators
from workflows.incidents import IncidentDesk, IncidentState, incident_details
from workflows.rules import refuse, require_role
from workflows.timeouts import RECORDS_TIMEOUT

with workflow.unsafe.imports_passed_through():
    from activities.records import RecordsActivities
    from domain.actors import Actor
    from domain.follow_up import FollowUpInput, FollowUpResult, FollowUpStatus
    from domain.incidents import Incident, IncidentAction, OutsideSystem
    from domain.names import INCIDENT, REHAB_NOTICE_SIGNAL, WAITING_ON
    from domain.notifications import Audience, NotificationKind, NotificationRequest
    from domain.policy import JourneyPolicy
    from domain.records import AssessCheckin, IncidentRecord, RehabFollowUpRecord
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
        FollowUpOutcome,
        IncidentResolution,
        RehabCheckin,
        RehabFollowUpRecorded,
    )

# The follow-up year only sends emails, so each of its incidents may be skipped; withdrawing
# is the parent journey's step, which cancels this workflow.
FOLLOW_UP_ACTIONS = (IncidentAction.RETRY, IncidentAction.SKIP)

# Each calendar event adds about eight history events; forty keep a run's history small.
EVENTS_PER_RUN = 40

# Patch ids: each names a change of shape that old histories must keep replaying without.
MOVE_TO_CURRENT_BUILD = "move-to-current-build"
# Weeks judged against the rule of six, and rehabilitation follow-ups for the case manager.
REHAB_FOLLOW_UP = "rehab-follow-up"


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
    """From when follow-up consult `n`'s outcome may be recorded: its reminder's time."""
    return consult_due(discharged_at, policy, n) - policy.follow_up_reminder_before


def week_opens(discharged_at: datetime, policy: JourneyPolicy, week: int) -> datetime:
    """When rehabilitation week `week` (from 1) begins, and its check-in may be sent."""
    return discharged_at + (week - 1) * policy.rehab_checkin_every


def follow_up_calendar(discharged_at: datetime, policy: JourneyPolicy) -> list[CalendarEvent]:
    events: list[CalendarEvent] = []
    for i, after in enumerate(policy.care_advice_after, start=1):
        events.append(CalendarEvent("advice", i, "send", discharged_at + after, "Care advice"))
    for n in range(1, len(policy.follow_up_offsets) + 1):
        due = consult_due(discharged_at, policy, n)
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
    data: FollowUpInput, recorded: Container[int], step: FollowUpOutcome, now: datetime
) -> None:
    """Whether the year takes a follow-up consult's outcome at `now`: a consult it has, whose
    reminder has gone out, and whose outcome is not recorded yet."""
    consults = len(data.policy.follow_up_offsets)
    if step.consult_no > consults:
        raise refuse(RefusalCode.NO_SUCH_FOLLOW_UP, consults=consults)
    opens = consult_opens(data.discharged_at, data.policy, step.consult_no)
    if now < opens:
        raise refuse(RefusalCode.FOLLOW_UP_NOT_DUE, consult_no=step.consult_no, opens_at=opens)
    if step.consult_no in recorded:
        raise refuse(RefusalCode.FOLLOW_UP_RECORDED, consult_no=step.consult_no)


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
    """Reminders, outcomes and rehab check-ins for the year after discharge."""

    @workflow.init
    def __init__(self, data: FollowUpInput) -> None:
        self._input = data
        self._done: set[str] = set(data.done)
        self._outcomes: dict[int, str] = dict(data.outcomes)
        self._checkins: dict[int, str] = dict(data.checkins)
        self._calendar = follow_up_calendar(data.discharged_at, data.policy)
        self._incidents = IncidentDesk(self, IncidentState(count=data.incidents))
        self._rehab = data.rehab.model_copy(deep=True)
        # Whether this run judges the weeks: set once the run begins (runs recorded before
        # the rule of six was judged replay without it).
        self._judges = False

    @workflow.run
    async def run(self, data: FollowUpInput) -> FollowUpResult:
        self._judges = workflow.patched(REHAB_FOLLOW_UP)
        handled_this_run = 0
        for event in self._calendar:
            if event.key in self._done:
                continue
            if handled_this_run >= EVENTS_PER_RUN or workflow.info().is_continue_as_new_suggested():
                await self._continue_as_new()
            if await self._until_due(event):
                await self._continue_as_new()
            await self._handle(event)
            self._done.add(event.key)
            handled_this_run += 1
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
            }
        )

    async def _handle(self, event: CalendarEvent) -> None:
        kind, n, what = event.kind, event.number, event.what
        if kind == "advice":
            await self._notify(event.key, NotificationKind.CARE_ADVICE, Audience.PATIENT)
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
        elif kind == "consult" and what == "overdue" and n not in self._outcomes:
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
        await self._record_incident(incident)
        await tell_coordinators(self._input.journey_id, incident, "follow-up-")

    async def incident_closed(
        self, incident: Incident, action: IncidentAction, actor: Actor
    ) -> None:
        await self._record_incident(incident, action, actor)
        workflow.upsert_search_attributes(
            [INCIDENT.value_set(""), WAITING_ON.value_set(WaitingOn.PATIENT.value)]
        )
        workflow.set_current_details(self._with_link("**FOLLOW_UP**: the follow-up year goes on."))

    def _with_link(self, details: str) -> str:
        link = self._input.case_page_url
        return details + (f" [Open the case page]({link})" if link else "")

    async def _record_incident(
        self, incident: Incident, action: IncidentAction | None = None, actor: Actor | None = None
    ) -> None:
        await workflow.execute_activity_method(
            RecordsActivities.record_incident,
            IncidentRecord(
                journey_id=self._input.journey_id,
                workflow="follow-up",
                incident=incident,
                resolution=action,
                resolved_by=actor.id if actor else None,
                resolved_at=workflow.now() if action else None,
            ),
            start_to_close_timeout=RECORDS_TIMEOUT,
            summary=f"Record incident {incident.number} ({incident.kind.value})",
        )

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
        return FollowUpStatus(
            outcomes_recorded=sorted(self._outcomes),
            checkins_received=sorted(self._checkins),
            next_event=upcoming.summary if upcoming else None,
            next_event_at=upcoming.at if upcoming else None,
            incident=self._incidents.open,
            weeks=dict(self._rehab.weeks),
            rehab_follow_up=self._rehab.open,
        )

    @workflow.update
    async def record_outcome(self, step: FollowUpOutcome) -> FollowUpStatus:
        self._outcomes[step.consult_no] = step.outcome_id
        return self.status()

    @record_outcome.validator
    def _validate_outcome(self, step: FollowUpOutcome) -> None:
        require_role(step.actor.role, STEP_ROLES[StepName.FOLLOW_UP_OUTCOME])
        check_outcome(self._input, self._outcomes, step, workflow.now())

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
