"""Erasure as people ask for it (GDPR Art. 17): requests, legal holds, and carrying it out.

Every refusal (an unknown journey, one erased already, one under a legal hold, a request that
is not this journey's) comes before anything changes. A journey still running is withdrawn
first, for the erasure's reason; the erasure itself runs in the worker
(`workflows/retention.py`, `activities/privacy.py`), which holds the calendar client and
retries while an outside system is down.
"""

import asyncio
from datetime import datetime

import asyncpg
from temporalio.client import Client, WorkflowFailureError
from temporalio.common import WorkflowIDConflictPolicy, WorkflowIDReusePolicy

from db.erasure import ErasureCheck, ErasureRecord, ErasureRepository
from db.legal_holds import AlreadyHeld, ErasureRequest, LegalHold, LegalHoldRepository
from domain.actors import Actor
from domain.privacy import ErasureOrder, ErasureRefusal, erasure_workflow_id
from domain.steps import WithdrawalReason
from privacy.journey_end import end_journey
from privacy.refusals import PrivacyRefused, RefusalKind
from workflows.retention import JourneyErasure


def _when(at: datetime) -> str:
    return f"{at:%Y-%m-%d %H:%M} UTC"


def _erased(record: ErasureRecord) -> PrivacyRefused:
    return PrivacyRefused(
        RefusalKind.CONFLICT,
        f"the journey's personal data was already erased on {_when(record.erased_at)} "
        f"by {record.erased_by}",
    )


def _held(hold: LegalHold | None) -> PrivacyRefused:
    if hold is None:
        return PrivacyRefused(RefusalKind.CONFLICT, "the journey is under a legal hold")
    return PrivacyRefused(
        RefusalKind.CONFLICT,
        f"the journey is under a legal hold placed on {_when(hold.placed_at)} by "
        f"{hold.placed_by}: {hold.reason}",
    )


_NO_JOURNEY = PrivacyRefused(RefusalKind.NOT_FOUND, "no such journey")


async def _not_erased(conn: asyncpg.Connection, journey_id: str) -> ErasureCheck:
    """Refuse an unknown or erased journey; what its records say of it."""
    check = await ErasureRepository(conn).check(journey_id=journey_id)
    if not check.exists:
        raise _NO_JOURNEY
    if check.erased is not None:
        raise _erased(check.erased)
    return check


async def _erasable(conn: asyncpg.Connection, journey_id: str) -> bool:
    """Refuse an unknown, erased or held journey; True when it still runs."""
    check = await _not_erased(conn, journey_id)
    if check.held:
        raise _held(await LegalHoldRepository(conn).open_hold(journey_id=journey_id))
    return check.running


async def request_erasure(
    pool: asyncpg.Pool, journey_id: str, *, actor: Actor, reason: str
) -> ErasureRequest:
    """Ask a privacy officer to erase the journey (a coordinator's part); nothing is erased."""
    async with pool.acquire() as conn:
        await _not_erased(conn, journey_id)
        return await LegalHoldRepository(conn).request_erasure(
            journey_id=journey_id,
            reason=reason,
            requested_by=actor.id,
            requested_role=actor.role.value,
        )


async def place_hold(
    pool: asyncpg.Pool, journey_id: str, *, actor: Actor, reason: str
) -> LegalHold:
    async with pool.acquire() as conn:
        await _not_erased(conn, journey_id)
        try:
            return await LegalHoldRepository(conn).place(
                journey_id=journey_id, reason=reason, placed_by=actor.id
            )
        except AlreadyHeld:
            raise _held(await LegalHoldRepository(conn).open_hold(journey_id=journey_id)) from None


async def lift_hold(pool: asyncpg.Pool, journey_id: str, *, actor: Actor, reason: str) -> LegalHold:
    async with pool.acquire() as conn:
        if not (await ErasureRepository(conn).check(journey_id=journey_id)).exists:
            raise _NO_JOURNEY
        lifted = await LegalHoldRepository(conn).lift(
            journey_id=journey_id, lifted_by=actor.id, reason=reason
        )
    if lifted is None:
        raise PrivacyRefused(RefusalKind.CONFLICT, "the journey is under no legal hold")
    return lifted


async def erase(
    pool: asyncpg.Pool,
    client: Client,
    journey_id: str,
    *,
    actor: Actor,
    reason: str | None,
    request_id: str | None,
    task_queue: str,
    within: float,
) -> ErasureRecord:
    """Erase the journey now: the open request `request_id` (a coordinator's), or a new one
    with `reason`. Returns the tombstone."""
    async with pool.acquire() as conn:
        running = await _erasable(conn, journey_id)
        if request_id is not None:
            request = await LegalHoldRepository(conn).erasure_request(request_id=request_id)
            if request is None or request.journey_id != journey_id:
                raise PrivacyRefused(
                    RefusalKind.NOT_FOUND, "this journey has no such erasure request"
                )
        elif not reason:
            raise PrivacyRefused(RefusalKind.CONFLICT, "an erasure needs a reason or a request")
    if running:
        await end_journey(
            client,
            journey_id,
            actor=actor,
            reason=WithdrawalReason.DATA_ERASURE,
            within=within,
        )
    if request_id is None:
        assert reason
        async with pool.acquire() as conn:
            # Checked again: a hold placed while the journey was being withdrawn wins.
            await _erasable(conn, journey_id)
            request_id = (
                await LegalHoldRepository(conn).request_erasure(
                    journey_id=journey_id,
                    reason=reason,
                    requested_by=actor.id,
                    requested_role=actor.role.value,
                )
            ).request_id
    await _run_erasure(
        pool,
        client,
        ErasureOrder(journey_id=journey_id, request_id=request_id, actor=actor),
        task_queue=task_queue,
        within=within,
    )
    async with pool.acquire() as conn:
        record = await ErasureRepository(conn).tombstone(journey_id=journey_id)
    assert record is not None
    return record


async def _run_erasure(
    pool: asyncpg.Pool, client: Client, order: ErasureOrder, *, task_queue: str, within: float
) -> None:
    handle = await client.start_workflow(
        JourneyErasure.run,
        order,
        id=erasure_workflow_id(order.journey_id),
        task_queue=task_queue,
        # A second request while one runs waits for that one; a refused erasure (a hold,
        # since lifted) may be tried again.
        id_conflict_policy=WorkflowIDConflictPolicy.USE_EXISTING,
        id_reuse_policy=WorkflowIDReusePolicy.ALLOW_DUPLICATE,
        static_summary=f"Erasure of journey {order.journey_id}",
    )
    try:
        async with asyncio.timeout(within):
            await handle.result()
    except TimeoutError:
        raise PrivacyRefused(
            RefusalKind.NOT_ANSWERING,
            "the erasure is under way and has not finished yet; the journey's privacy record "
            "shows when it is done",
        ) from None
    except WorkflowFailureError as err:
        await _explain(pool, order.journey_id, err)


async def _explain(pool: asyncpg.Pool, journey_id: str, err: WorkflowFailureError) -> None:
    """Word the erasure's refusal for the person who asked, from the records (its history
    holds only the code)."""
    cause: BaseException | None = err.cause
    while cause is not None and getattr(cause, "type", None) is None:
        cause = cause.__cause__
    kind = getattr(cause, "type", None)
    async with pool.acquire() as conn:
        if kind == ErasureRefusal.ALREADY_ERASED:
            record = await ErasureRepository(conn).tombstone(journey_id=journey_id)
            if record is not None:
                raise _erased(record) from None
        if kind == ErasureRefusal.LEGAL_HOLD:
            raise _held(await LegalHoldRepository(conn).open_hold(journey_id=journey_id)) from None
    if kind == ErasureRefusal.STILL_RUNNING:
        raise PrivacyRefused(RefusalKind.CONFLICT, "the journey has not ended yet") from None
    if kind in (ErasureRefusal.UNKNOWN_JOURNEY, ErasureRefusal.NO_SUCH_REQUEST):
        raise PrivacyRefused(RefusalKind.NOT_FOUND, "no such journey or request") from None
    raise err
