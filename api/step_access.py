"""Taking a step on a journey: who may, on which journey, and how the step is sent.

Every step route declares `JourneyStepDep(StepName.X)`: the dependency authorizes the caller
for that step (its declaration in `domain/step_declarations.py`, whose roles the workflow's
validators read too) on that journey (their role's reach, api/authorization.py), checks the
journey exists, and hands the route what it needs to send the step.
"""

import asyncio
import time
import uuid
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from typing import Any, TypeVar

import asyncpg
from fastapi import Depends, Request, Response
from temporalio.client import (
    Client,
    WorkflowHandle,
    WorkflowUpdateFailedError,
    WorkflowUpdateRPCTimeoutOrCancelledError,
)
from temporalio.exceptions import ApplicationError
from temporalio.service import RPCError, RPCStatusCode

from api.audit_trail import note_refusal
from api.auth import PrincipalDep
from api.authorization import authorize_step
from api.claims import ClaimDesk, ClaimRefused
from api.journey_access import journey_handle, versioned_view
from api.metrics import StepMetrics
from api.problems import ProblemError
from api.schemas import PatientView
from api.tokens import Principal
from db.journey_queries import JourneyQueries
from db.step_records import remove_refused
from domain.claims import claim_kind_of
from domain.errors import StepError
from domain.follow_up import FollowUpStatus
from domain.journey import JourneyOutcome, JourneyStatus
from domain.metrics import StepAnswer
from domain.names import follow_up_workflow_id
from domain.refusals import Refusal, RefusalCode
from domain.stages import Stage
from domain.step_declarations import StepName, StepRecord
from i18n import SOURCE_LANGUAGE, negotiate
from workflows.follow_up import FollowUp

T = TypeVar("T")
Answer = JourneyStatus | PatientView


class StepNotTaken(ProblemError):
    """A step that certainly did not reach the journey, as a refusal does not."""


async def send_update(
    handle: WorkflowHandle[Any, Any],
    name: str,
    argument: Any,
    *,
    result_type: type[T],
    within: float,
    metrics: StepMetrics | None = None,
) -> T:
    """Send one step, the workflow's update `name` (as its declaration names it); a journey
    that does not answer `within` seconds is a 504 that says what to do. Each step is counted
    in `metrics` by the journey's answer."""
    started = time.monotonic()

    def count(answer: StepAnswer, answered: bool = True) -> None:
        if metrics is not None:
            metrics.answered(name, answer, time.monotonic() - started if answered else None)

    try:
        async with asyncio.timeout(within):
            result = await handle.execute_update(name, argument, result_type=result_type)
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
    except (WorkflowUpdateFailedError, StepNotTaken):
        await forget(pool, kind, record_ids)
        raise


async def forget(pool: asyncpg.Pool, kind: StepRecord, record_ids: Sequence[str]) -> None:
    async with pool.acquire() as conn:
        await remove_refused(conn, kind, record_ids)


@dataclass(frozen=True)
class JourneyStep:
    """An authorized caller and the journey they act on; `language` is the one the patient's
    answer is worded in."""

    principal: Principal
    journey_id: str
    pool: asyncpg.Pool
    client: Client
    response: Response
    answer_within: float
    language: str = SOURCE_LANGUAGE
    # What the files of one upload may hold together (JOURNEYS_MAX_UPLOAD_BYTES).
    upload_bytes: int = 10 * 1024 * 1024
    metrics: StepMetrics | None = None
    # The claims of a step a claim keeps (a review, an incident's resolution): the holder's
    # claim ends once the step is taken.
    claims: ClaimDesk | None = None

    @property
    def handle(self) -> WorkflowHandle[Any, JourneyOutcome]:
        return journey_handle(self.client, self.journey_id)

    async def _update(
        self, handle: WorkflowHandle[Any, Any], update: str, argument: Any, result_type: type[T]
    ) -> T:
        return await send_update(
            handle,
            update,
            argument,
            result_type=result_type,
            within=self.answer_within,
            metrics=self.metrics,
        )

    async def send(self, update: str, argument: Any, step: StepName | None = None) -> Answer:
        """Send a step to the journey; the answer carries its `Journey-Version`, as a status
        read does, so the client can wait from there for the journey's next move. A journey
        whose run has ended refuses it as ended (409), as its validator would."""
        try:
            status = await self._update(self.handle, update, argument, JourneyStatus)
        except RPCError as err:
            if err.status != RPCStatusCode.NOT_FOUND:
                raise
            async with self.pool.acquire() as conn:
                stage = await JourneyQueries(conn).stage(journey_id=self.journey_id)
            if stage is None:
                raise
            refusal = Refusal.of(RefusalCode.JOURNEY_ENDED, stage=Stage(stage), step=step)
            raise StepNotTaken(
                409, "The journey refused this step", refusal.english, refusal=refusal
            ) from None
        return versioned_view(self.principal, status, self.response, self.language)

    async def send_to_follow_up(self, update: str, argument: Any) -> FollowUpStatus:
        """Send a step to the journey's follow-up year, which exists from the discharge on."""
        handle = self.client.get_workflow_handle_for(
            FollowUp.run, follow_up_workflow_id(self.journey_id)
        )
        try:
            return await self._update(handle, update, argument, FollowUpStatus)
        except RPCError as err:
            if err.status == RPCStatusCode.NOT_FOUND:
                refusal = Refusal.of(RefusalCode.FOLLOW_UP_NOT_STARTED)
                raise StepNotTaken(
                    409,
                    "The journey refused this step",
                    refusal.english,
                    type_=FOLLOW_UP_NOT_STARTED,
                    refusal=refusal,
                ) from None
            raise


# The problem type of a follow-up step sent before the follow-up year exists.
FOLLOW_UP_NOT_STARTED = "/problems/follow-up-not-started"


async def open_step(
    name: StepName,
    *,
    principal: Principal,
    journey_id: str,
    request: Request,
    response: Response,
    language: str = SOURCE_LANGUAGE,
) -> JourneyStep:
    """A `JourneyStep` for a caller allowed to take `name` on an existing journey that their
    role reaches for them; the dependency below, the console's forms, the patient's page and
    the clinic's webhook all open their steps here."""
    state = request.app.state
    await authorize_step(state.pool, principal, journey_id, name)
    # A step a claim keeps is refused to anyone but the holder of a live claim on it
    # (api/claims.py), before anything is stored or sent.
    kind = claim_kind_of(name)
    claims = ClaimDesk.of(request.app) if kind is not None else None
    if claims is not None and kind is not None:
        try:
            await claims.guard(principal.actor, journey_id, kind)
        except ClaimRefused as refused:
            if refused.refusal is not None:
                note_refusal(request, refused.refusal.code)
            raise
    return JourneyStep(
        principal,
        journey_id,
        state.pool,
        state.temporal,
        response,
        state.settings.step_answer_seconds,
        language,
        state.settings.max_upload_bytes,
        state.metrics.steps,
        claims,
    )


def JourneyStepDep(name: StepName) -> Any:
    """A dependency giving the route a `JourneyStep` for a caller allowed to take `name`."""

    async def journey_step(
        journey_id: uuid.UUID, principal: PrincipalDep, request: Request, response: Response
    ) -> JourneyStep:
        return await open_step(
            name,
            principal=principal,
            journey_id=str(journey_id),
            request=request,
            response=response,
            language=negotiate(request.headers.get("accept-language")) or SOURCE_LANGUAGE,
        )

    return Depends(journey_step)
