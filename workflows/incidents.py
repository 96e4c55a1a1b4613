"""Incidents instead of failed runs: an activity that fails for good, or keeps failing past the
policy's patience, holds the journey at its stage until a coordinator retries, skips (where
that is safe) or withdraws.

A journey lives for a year; a refused email or a clinic that is down for a weekend must not
end it. The failure is shown where coordinators look (the `Incident` search attribute, the
current details, an email to them) and the run waits, as it waits on any person.
"""

import asyncio
from collections.abc import Awaitable, Callable
from datetime import datetime
from typing import Protocol, TypeVar

from pydantic import BaseModel
from temporalio import workflow
from temporalio.exceptions import ActivityError, ApplicationError, CancelledError, FailureError

from workflows.endings import Withdrawn
from workflows.rules import refuse
from workflows.timeouts import RECORDS_TIMEOUT

with workflow.unsafe.imports_passed_through():
    from activities.records import RecordsActivities
    from domain.actors import SYSTEM, Actor
    from domain.incidents import (
        Incident,
        IncidentAction,
        IncidentKind,
        OutsideSystem,
        incident_kind,
    )
    from domain.records import IncidentRecord
    from domain.refusals import RefusalCode
    from domain.steps import IncidentResolution

T = TypeVar("T")

# Patch id: runs recorded before incidents existed failed where a run now holds an incident.
INCIDENTS = "incidents"
# Patch id: an activity cancelled with the task that awaited it (the follow-up year cancelled
# by a withdrawal, a consult's booking stopped) ends that task; runs before held an incident
# for it, which nothing could retry.
CANCELLED_WITH_THE_TASK = "cancelled-with-the-task"

RETRY_OR_WITHDRAW = (IncidentAction.RETRY, IncidentAction.WITHDRAW)
ANY_ACTION = (IncidentAction.RETRY, IncidentAction.SKIP, IncidentAction.WITHDRAW)


class IncidentHost(Protocol):
    """What a workflow does when one of its incidents opens or closes."""

    async def incident_opened(self, incident: Incident) -> None: ...

    async def incident_closed(
        self, incident: Incident, action: IncidentAction, actor: Actor
    ) -> None: ...

    def withdrawal_requested(self) -> Actor | None:
        """The actor of a withdrawal that arrived meanwhile, which ends the incident too."""
        ...


def failure_type(err: ActivityError) -> str | None:
    """The ApplicationError type of the failure's last attempt (inside a timeout, if any)."""
    cause: BaseException | None = err.cause
    while isinstance(cause, FailureError):
        if isinstance(cause, ApplicationError):
            return cause.type
        cause = cause.cause
    return None


class IncidentState(BaseModel):
    """A workflow's incidents: how many were opened, the open one, and its resolution until
    the run has acted on it."""

    count: int = 0
    open: Incident | None = None
    resolution: IncidentResolution | None = None


class IncidentDesk:
    """Opens and resolves a workflow's incidents: at most one open at a time, numbered from 1."""

    def __init__(self, host: IncidentHost, state: IncidentState) -> None:
        self._host = host
        self._state = state

    @property
    def open(self) -> Incident | None:
        return self._state.open

    @property
    def count(self) -> int:
        return self._state.count

    async def attempt(
        self,
        call: Callable[[], Awaitable[T]],
        *,
        system: OutsideSystem,
        step: str,
        actions: tuple[IncidentAction, ...] = RETRY_OR_WITHDRAW,
        passthrough: frozenset[str] = frozenset(),
    ) -> T | None:
        """`call()`'s result; None when a coordinator chose to skip it.

        A failure whose type is in `passthrough` is the caller's to handle and is raised.
        Withdrawing (by the resolution, or a withdrawal meanwhile) raises `Withdrawn`.
        """
        while True:
            began = workflow.now()
            try:
                return await call()
            except ActivityError as err:
                if isinstance(err.cause, CancelledError) and workflow.patched(
                    CANCELLED_WITH_THE_TASK
                ):
                    raise asyncio.CancelledError from err
                failure = failure_type(err)
                if failure in passthrough or not workflow.patched(INCIDENTS):
                    raise
            kind = incident_kind(system, failure)
            action = await self._hold(kind, step, began, actions)
            if action is IncidentAction.SKIP:
                return None

    async def hold(
        self,
        kind: IncidentKind,
        *,
        step: str,
        actions: tuple[IncidentAction, ...],
        settled: Callable[[], bool],
    ) -> IncidentAction | None:
        """An incident that no activity failed: something a person must see to (a partner
        who has not answered, a change that could not be booked). None when `settled()` came
        true first, before or while it was open: it then closes as skipped, by the system."""
        return await self._hold(kind, step, workflow.now(), actions, settled)

    async def _hold(
        self,
        kind: IncidentKind,
        step: str,
        since: datetime,
        actions: tuple[IncidentAction, ...],
        settled: Callable[[], bool] | None = None,
    ) -> IncidentAction | None:
        # A step's handler and the run can both fail at once; the second waits its turn.
        state = self._state
        await workflow.wait_condition(
            lambda: state.open is None or (settled is not None and settled())
        )
        if settled is not None and settled():
            return None
        incident = Incident(
            number=state.count + 1, kind=kind, step=step, since=since, actions=actions
        )
        state.count, state.open, state.resolution = incident.number, incident, None
        workflow.logger.warning(
            "incident %s opened: %s while %s", incident.number, incident.kind, incident.step
        )
        await self._host.incident_opened(incident)
        may_withdraw = IncidentAction.WITHDRAW in incident.actions
        await workflow.wait_condition(
            lambda: (
                state.resolution is not None
                or (may_withdraw and self._host.withdrawal_requested() is not None)
                or (settled is not None and settled())
            )
        )
        resolution, state.open, state.resolution = state.resolution, None, None
        withdrawer = self._host.withdrawal_requested() if may_withdraw else None
        if resolution is not None:
            action, actor = resolution.action, resolution.actor
        elif withdrawer is not None:
            action, actor = IncidentAction.WITHDRAW, withdrawer
        else:
            action, actor = IncidentAction.SKIP, SYSTEM
        await self._host.incident_closed(incident, action, actor)
        if action is IncidentAction.WITHDRAW:
            raise Withdrawn
        if resolution is None and withdrawer is None:
            return None
        return action

    def check(self, step: IncidentResolution) -> None:
        """The resolution update's validator: an open incident, one of its actions."""
        check_resolution(self._state, step)

    def resolve(self, step: IncidentResolution) -> None:
        self._state.resolution = step


def check_resolution(state: IncidentState, step: IncidentResolution) -> None:
    """Whether `step` resolves the open incident of `state`: there is one, it is the one the
    step names (if it names one), and it offers the step's action."""
    incident = state.open
    if incident is None or state.resolution is not None:
        raise refuse(RefusalCode.NO_OPEN_INCIDENT)
    if step.incident_number is not None and step.incident_number != incident.number:
        raise refuse(
            RefusalCode.INCIDENT_SUPERSEDED,
            incident_number=step.incident_number,
            open_incident=incident.number,
        )
    if step.action not in incident.actions:
        raise refuse(RefusalCode.ACTION_NOT_OFFERED, action=step.action, actions=incident.actions)


async def record_incident(
    journey_id: str,
    incident: Incident,
    action: IncidentAction | None = None,
    actor: Actor | None = None,
    *,
    workflow_name: str = "journey",
) -> None:
    """Keep the incident in PostgreSQL as it opens, and its resolution as it closes (`action`
    and `actor`), under the workflow it held (`journey` or `follow-up`)."""
    await workflow.execute_activity_method(
        RecordsActivities.record_incident,
        IncidentRecord(
            journey_id=journey_id,
            workflow=workflow_name,
            incident=incident,
            resolution=action,
            resolved_by=actor.id if actor else None,
            resolved_at=workflow.now() if action else None,
        ),
        start_to_close_timeout=RECORDS_TIMEOUT,
        summary=f"Record incident {incident.number} ({incident.kind.value})",
    )


def incident_details(incident: Incident, head: str) -> str:
    """The current details while an incident is open: what broke, since when, who acts."""
    since: datetime = incident.since
    actions = ", ".join(a.value for a in incident.actions)
    return (
        f"{head}: incident {incident.number} ({incident.kind.value}) since "
        f"**{since:%Y-%m-%d %H:%M} UTC**: {incident.kind.sentence}. "
        f"Waiting on a coordinator to resolve it ({actions})."
    )
