"""Bare-Temporal baselines: the same counts of activities, updates and timers as a journey.

`BaselineJourney` interprets a list of ops taken from a real journey's history, in the order
the journey issued them (`bench.histories.baseline_plan`):

- `a`        run one no-op activity and wait for it (the journey's ActivityTaskScheduled);
- `t<secs>`  sleep: a timer that fires (the journey's TimerStarted that later fired);
- `w<secs>`  wait for the next update, with a timer that the update cancels;
- `w`        wait for the next update, no timer;
- `b<secs>`  beside the run: wait for the next update, with a timer that the update cancels, in
             a task of its own, while the run goes on (the journey's partner confirmations,
             awaited beside its trip);
- `c`        start the follow-up child with `child_ops` and wait for it;
- `u<secs>:<n>` (child only) sleep, cut short once the run has received its `n`th update
             (the journey's timer that an update cancelled);
- `n`        (child only) continue as new with the ops left.

Updates accept a pydantic model; the parent's answer once the run has taken the step in, as the
journey's do. The child's updates only record, as `FollowUp`'s do. Nothing here does any work:
what a journey costs beyond this is what the project adds.
"""

import asyncio
from datetime import timedelta

from temporalio import activity, workflow

with workflow.unsafe.imports_passed_through():
    from bench.baseline_models import (
        BaselineChildInput,
        BaselinePlan,
        BaselineResult,
        BaselineStatus,
        BaselineStep,
        NoopInput,
        NoopOutput,
        TrivialInput,
    )

NOOP_TIMEOUT = timedelta(seconds=30)


@activity.defn(name="baseline_noop")
async def noop(data: NoopInput) -> NoopOutput:
    return NoopOutput(n=data.n)


@workflow.defn(name="BaselineTrivial")
class TrivialWorkflow:
    """What the intake's raw start starts: a workflow that returns at once."""

    @workflow.run
    async def run(self, data: TrivialInput) -> None:
        return None


def child_workflow_id(parent_id: str) -> str:
    return f"{parent_id}-follow-up"


class _Interpreter:
    def __init__(self) -> None:
        self._received = 0
        self._consumed = 0
        self._activities = 0
        self._position = 0
        self._beside: list[asyncio.Task[None]] = []

    @workflow.query
    def status(self) -> BaselineStatus:
        return self._status()

    async def _activity(self) -> None:
        self._activities += 1
        await workflow.execute_activity(
            noop,
            NoopInput(run_id=workflow.info().run_id, n=self._activities),
            start_to_close_timeout=NOOP_TIMEOUT,
        )

    async def _wait_for_update(self, op: str) -> None:
        timeout = float(op[1:]) if len(op) > 1 else None
        try:
            await workflow.wait_condition(lambda: self._received > self._consumed, timeout=timeout)
        except TimeoutError:
            pass
        self._consumed += 1

    async def _common(self, op: str) -> bool:
        """Run an op both workflows share (activity, timer, wait); False for any other."""
        if op == "a":
            await self._activity()
        elif op.startswith("t"):
            await workflow.sleep(float(op[1:]))
        elif op.startswith("w"):
            await self._wait_for_update(op)
        elif op.startswith("b"):
            self._beside.append(asyncio.create_task(self._wait_for_update(op)))
        else:
            return False
        return True

    def _status(self) -> BaselineStatus:
        return BaselineStatus(
            received=self._received, consumed=self._consumed, position=self._position
        )


@workflow.defn(name="BaselineJourney")
class BaselineJourney(_Interpreter):
    @workflow.run
    async def run(self, plan: BaselinePlan) -> BaselineResult:
        for i, op in enumerate(plan.ops):
            self._position = i
            if await self._common(op):
                continue
            if op == "c":
                await workflow.execute_child_workflow(
                    BaselineFollowUp.run,
                    BaselineChildInput(ops=plan.child_ops),
                    id=child_workflow_id(workflow.info().workflow_id),
                )
        self._position = len(plan.ops)
        await asyncio.gather(*self._beside)
        await workflow.wait_condition(workflow.all_handlers_finished)
        return BaselineResult(activities=self._activities, updates=self._received)

    @workflow.update
    async def step(self, step: BaselineStep) -> BaselineStatus:
        mine = self._received
        self._received += 1
        await workflow.wait_condition(lambda: self._consumed > mine)
        return self._status()


@workflow.defn(name="BaselineFollowUp")
class BaselineFollowUp(_Interpreter):
    @workflow.init
    def __init__(self, data: BaselineChildInput) -> None:
        super().__init__()
        self._received = data.received

    @workflow.run
    async def run(self, data: BaselineChildInput) -> BaselineResult:
        for i, op in enumerate(data.ops):
            self._position = i
            if await self._common(op):
                continue
            if op.startswith("u"):
                await self._sleep_until_update(op)
            elif op == "n":
                await workflow.wait_condition(workflow.all_handlers_finished)
                workflow.continue_as_new(
                    BaselineChildInput(ops=data.ops[i + 1 :], received=self._received)
                )
        await workflow.wait_condition(workflow.all_handlers_finished)
        return BaselineResult(activities=self._activities, updates=self._received)

    async def _sleep_until_update(self, op: str) -> None:
        seconds, n = op[1:].split(":")
        try:
            await workflow.wait_condition(lambda: self._received >= int(n), timeout=float(seconds))
        except TimeoutError:
            pass

    @workflow.update
    async def step(self, step: BaselineStep) -> BaselineStatus:
        self._received += 1
        return self._status()


BASELINE_WORKFLOWS = [BaselineJourney, BaselineFollowUp, TrivialWorkflow]
