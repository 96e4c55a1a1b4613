"""Taking a step on a journey: who may, on which journey, and how the step is sent.

Every step route declares `JourneyStepDep(StepName.X)`: the dependency authorizes the caller
for that step (the table in `domain/step_roles.py`, which the workflow's validators read too),
checks the journey exists, and hands the route what it needs to send the step.
"""

import asyncio
import time
import uuid
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from typing import Any, TypeVar

import asyncpg
from fastapi import Depends, Response
from temporalio import workflow
from temporalio.client import (
    Client,
    WorkflowHandle,
    WorkflowUpdateFailedError,
    WorkflowUpdateRPCTimeoutOrCancelledError,
)
from temporalio.exceptions import ApplicationError
from temporalio.service import RPCError, RPCStatusCode

from api.auth import PrincipalDep, authorize
from api.deps import PoolDep, SettingsDep, TemporalDep
from api.journey_access import ensure_journey, journey_handle, versioned_view
from api.metrics import StepMetrics, StepMetricsDep
from api.problems import ProblemError
from api.schemas import PatientView
from api.tokens import Principal
from db.step_records import StepRecord, remove_refused
from domain.errors import StepError
from domain.journey import JourneyOutcome, JourneyStatus
from domain.metrics import StepAnswer
from domain.step_roles import STEP_ROLES, StepName

T = TypeVar("T")
Answer = JourneyStatus | PatientView


async def send_update(
    handle: WorkflowHandle[Any, Any],
    update: Any,
    step: Any,
    *,
    within: float,
    metrics: StepMetrics | None = None,
) -> Any:
    """Send one step; a journey that does not answer `within` seconds is a 504 that says
    what to do. Each step is counted in `metrics` by the journey's answer."""
    name = step_name(update)
    started = time.monotonic()

    def count(answer: StepAnswer, answered: bool = True) -> None:
        if metrics is not None:
            metrics.answered(name, answer, time.monotonic() - started if answered else None)

    try:
        async with asyncio.timeout(within):
            result = await handle.execute_update(update, step)
    except WorkflowUpdateFailedError as err:
        count(refusal(err))
        raise
    except RPCError as err:
        # NOT_FOUND: the journey's run has ended, which refuses every step.
        ended = err.status == RPCStatusCode.NOT_FOUND
        count(StepAnswer.REFUSED if ended else StepAnswer.UNAVAILABLE, answered=ended)
        raise
    except (TimeoutError, WorkflowUpdateRPCTimeoutOrCancelledError):
        count(StepAnswer.TIMED_OUT, answered=False)
        # The SDK turns the timeout's cancellation into its own error; both mean the same.
        raise ProblemError(
            504,
            "The journey has not answered yet",
            "the step was sent and may have been taken: read the journey's status before "
            "sending it again",
            headers={"Retry-After": "10"},
        ) from None
    count(StepAnswer.ACCEPTED)
    return result


def step_name(update: Any) -> str:
    """The update's name, as the workflow declares it (`review`, `clinic_admission`)."""
    # The SDK's own lookup, which the client uses to name the update it sends.
    name, _ = workflow._UpdateDefinition.get_name_and_result_type(update)
    return name


def refusal(err: WorkflowUpdateFailedError) -> StepAnswer:
    """How the journey's validator refused a step, from its ApplicationError's type."""
    cause = err.cause
    kind = cause.type if isinstance(cause, ApplicationError) else None
    return _REFUSALS.get(kind or "", StepAnswer.REFUSED)


_REFUSALS: dict[str, StepAnswer] = {
    StepError.REFUSED: StepAnswer.REFUSED,
    StepError.INVALID: StepAnswer.INVALID,
    StepError.FORBIDDEN: StepAnswer.FORBIDDEN,
}


async def store_then_send(
    pool: asyncpg.Pool,
    kind: StepRecord,
    store: Callable[[asyncpg.Connection], Awaitable[list[str]]],
    send: Callable[[list[str]], Awaitable[T]],
) -> T:
    """Store a step's records, then send the step that references them.

    The records are committed first because the journey's activities read them. Only the
    journey's refusal removes them, so a refused request changes nothing; after a timeout or
    a lost connection the journey may know them, so they stay. No connection is held while
    the step is on its way.
    """
    async with pool.acquire() as conn:
        record_ids = await store(conn)
    try:
        return await send(record_ids)
    except WorkflowUpdateFailedError:
        await forget(pool, kind, record_ids)
        raise


async def forget(pool: asyncpg.Pool, kind: StepRecord, record_ids: Sequence[str]) -> None:
    async with pool.acquire() as conn:
        await remove_refused(conn, kind, record_ids)


@dataclass(frozen=True)
class JourneyStep:
    """An authorized caller and the journey they act on."""

    principal: Principal
    journey_id: str
    pool: asyncpg.Pool
    client: Client
    response: Response
    answer_within: float
    metrics: StepMetrics | None = None

    @property
    def handle(self) -> WorkflowHandle[Any, JourneyOutcome]:
        return journey_handle(self.client, self.journey_id)

    async def send_to(self, handle: WorkflowHandle[Any, Any], update: Any, step: Any) -> Any:
        """Send a step to one of the journey's workflows (itself or its follow-up year)."""
        return await send_update(
            handle, update, step, within=self.answer_within, metrics=self.metrics
        )

    async def send(self, update: Any, step: Any) -> Answer:
        """Send a step to the journey; the answer carries its `Journey-Version`, as a status
        read does, so the client can wait from there for the journey's next move."""
        status: JourneyStatus = await self.send_to(self.handle, update, step)
        return versioned_view(self.principal, status, self.response)


def JourneyStepDep(name: StepName) -> Any:
    """A dependency giving the route a `JourneyStep` for a caller allowed to take `name`."""
    roles = STEP_ROLES[name]

    async def journey_step(
        journey_id: uuid.UUID,
        principal: PrincipalDep,
        pool: PoolDep,
        client: TemporalDep,
        settings: SettingsDep,
        response: Response,
        metrics: StepMetricsDep,
    ) -> JourneyStep:
        jid = str(journey_id)
        authorize(principal, jid, roles)
        await ensure_journey(pool, jid)
        return JourneyStep(
            principal, jid, pool, client, response, settings.step_answer_seconds, metrics
        )

    return Depends(journey_step)
