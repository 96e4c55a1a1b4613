"""The `FollowUp` child workflow: the year after treatment, continued as new to stay bounded.

Its calendar is computed from the discharge time and the policy: care advice, a reminder and a
due date for each follow-up consult (2 weeks, 6 weeks, 3, 6 and 12 months), and for each week of
rehabilitation a check-in reminder and, a little later, a check that the check-in arrived.

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

from workflows.emails import send_email, tell_coordinators
from workflows.incidents import IncidentDesk, IncidentState, incident_details
from workflows.rules import refuse, require_role
from workflows.timeouts import RECORDS_TIMEOUT

with workflow.unsafe.imports_passed_through():
    from activities.records import RecordsActivities
    from domain.actors import Actor
    from domain.follow_up import FollowUpInput, FollowUpResult, FollowUpStatus
    from domain.incidents import Incident, IncidentAction, OutsideSystem
    from domain.names import INCIDENT, WAITING_ON
    from domain.notifications import Audience, NotificationKind, NotificationRequest
    from domain.policy import JourneyPolicy
    from domain.records import IncidentRecord
    from domain.refusals import RefusalCode
    from domain.stages import WaitingOn
    from domain.step_declarations import STEP_ROLES, StepName
    from domain.steps import FollowUpOutcome, IncidentResolution, RehabCheckin

# The follow-up year only sends emails, so each of its incidents may be skipped; withdrawing
# is the parent journey's step, which cancels this workflow.
FOLLOW_UP_ACTIONS = (IncidentAction.RETRY, IncidentAction.SKIP)

# Each calendar event adds about eight history events; forty keep a run's history small.
EVENTS_PER_RUN = 40

# Patch ids: each names a change of shape that old histories must keep replaying without.
MOVE_TO_CURRENT_BUILD = "move-to-current-build"


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

    @workflow.run
    async def run(self, data: FollowUpInput) -> FollowUpResult:
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
        """
        wait = event.at - workflow.now()
        if wait > timedelta(0):
            try:
                await workflow.wait_condition(
                    _newer_build_is_current, timeout=wait, timeout_summary=event.summary
                )
            except TimeoutError:
                pass
        return _newer_build_is_current() and workflow.patched(MOVE_TO_CURRENT_BUILD)

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
        return self.status()

    @rehab_checkin.validator
    def _validate_checkin(self, step: RehabCheckin) -> None:
        require_role(step.actor.role, STEP_ROLES[StepName.REHAB_CHECKIN])
        check_checkin(self._input, self._checkins, step, workflow.now())
