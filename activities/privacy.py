"""Erasure: a journey's calendar events deleted, its records erased and its tombstone written,
each erasure a row in the audit log; and the retention sweep's erasure of journeys due.

Both run in the worker, which holds the calendar client, and both are idempotent: an erasure
retried after it committed answers as the first attempt did, and a sweep finds nothing left
that it already erased.
"""

import asyncpg
from temporalio import activity
from temporalio.exceptions import ApplicationError

from activities.bookings import booking_uid, outside_failures
from audit.log import AuditLog
from db.erasure import ErasureRecord, ErasureRepository, NotErasable
from db.legal_holds import LegalHoldRepository
from db.staff import StaffRepository
from domain.actors import Role
from domain.privacy import (
    DueErasures,
    ErasedBatch,
    ErasureOrder,
    ErasureOutcome,
    ErasureRefusal,
    ErasureTrigger,
)
from integrations.calendar import CalendarClient, specialist_calendar

# Who the retention schedule's erasures are recorded as.
RETENTION_ACTOR_ID = "retention-schedule"
ERASE_ACTION = "privacy.erase"


def refused(refusal: ErasureRefusal) -> ApplicationError:
    """A refusal no retry can change; its message names the code only (it is recorded in the
    erasure's history, which holds no free text)."""
    return ApplicationError(
        f"the journey was not erased: {refusal.value}", type=refusal.value, non_retryable=True
    )


def _outcome(record: ErasureRecord) -> ErasureOutcome:
    """What the journey is told of its erasure: the tombstone's fields it has, no reason."""
    return ErasureOutcome.model_validate(record, from_attributes=True)


def retention_reason(days: int) -> str:
    return f"retention period of {days} days after the journey closed"


class PrivacyActivities:
    """Erases journeys: PostgreSQL records, calendar events, and the audit log's row for it."""

    def __init__(
        self, pool: asyncpg.Pool, calendar: CalendarClient | None, audit_key: bytes
    ) -> None:
        self._pool = pool
        self._calendar = calendar
        self._audit_key = audit_key

    @activity.defn(name="erase_journey")
    async def erase_journey(self, order: ErasureOrder) -> ErasureOutcome:
        async with self._pool.acquire() as conn:
            repo = ErasureRepository(conn)
            done = await repo.tombstone(journey_id=order.journey_id)
            if done is not None and done.request_id == order.request_id:
                # Retried after the erasure committed: the vacuum may not have run.
                await repo.vacuum()
                return _outcome(done)
            request = await LegalHoldRepository(conn).erasure_request(request_id=order.request_id)
            if request is None or request.journey_id != order.journey_id:
                raise refused(ErasureRefusal.NO_SUCH_REQUEST)
            # Checked before the calendars are touched; checked again under the row's lock.
            check = await repo.check(journey_id=order.journey_id)
            if not check.exists:
                raise refused(ErasureRefusal.UNKNOWN_JOURNEY)
            if check.erased is not None:
                raise refused(ErasureRefusal.ALREADY_ERASED)
            if check.held:
                raise refused(ErasureRefusal.LEGAL_HOLD)
            if check.running:
                raise refused(ErasureRefusal.STILL_RUNNING)
            events = await repo.consult_events(journey_id=order.journey_id)
        await self._clear_calendars(order.journey_id, events)
        record = await self._erase(
            order.journey_id,
            trigger=ErasureTrigger.REQUEST,
            reason=request.reason,
            actor_id=order.actor.id,
            actor_role=order.actor.role.value,
            request_id=request.request_id,
            requested_by=request.requested_by,
        )
        await self._vacuum()
        return _outcome(record)

    @activity.defn(name="erase_due_journeys")
    async def erase_due_journeys(self, due: DueErasures) -> ErasedBatch:
        async with self._pool.acquire() as conn:
            journey_ids = await ErasureRepository(conn).due(
                closed_before=due.closed_before, limit=due.limit
            )
        erased: list[str] = []
        for journey_id in journey_ids:
            activity.heartbeat(len(erased))
            async with self._pool.acquire() as conn:
                events = await ErasureRepository(conn).consult_events(journey_id=journey_id)
            await self._clear_calendars(journey_id, events)
            try:
                await self._erase(
                    journey_id,
                    trigger=ErasureTrigger.RETENTION,
                    reason=retention_reason(due.retention_days),
                    actor_id=RETENTION_ACTOR_ID,
                    actor_role=Role.SYSTEM.value,
                )
            except NotErasable:
                # A hold placed (or an erasure run) since the journey was found: it wins.
                continue
            erased.append(journey_id)
        if erased:
            await self._vacuum()
        return ErasedBatch(erased=erased, more=len(journey_ids) == due.limit)

    async def _clear_calendars(self, journey_id: str, events: list[tuple[str, str]]) -> None:
        """Delete the journey's consults from the specialists' calendars, before its records
        go: a failure here leaves the erasure to be retried whole."""
        if self._calendar is None:
            return
        async with self._pool.acquire() as conn:
            staff = StaffRepository(conn)
            calendars = {s: await staff.calendar_of(staff_id=s) for s, _ in events}
        with outside_failures(journey_id):
            for specialist_id, booking_id in events:
                await self._calendar.delete_event(
                    specialist_calendar(specialist_id, calendars[specialist_id]),
                    booking_uid(booking_id),
                )

    async def _erase(
        self,
        journey_id: str,
        *,
        trigger: ErasureTrigger,
        reason: str,
        actor_id: str,
        actor_role: str,
        request_id: str | None = None,
        requested_by: str | None = None,
    ) -> ErasureRecord:
        """The erasure and its audit row in one transaction: neither without the other."""
        async with self._pool.acquire() as conn, conn.transaction():
            try:
                record = await ErasureRepository(conn).erase(
                    journey_id=journey_id,
                    trigger=trigger,
                    reason=reason,
                    erased_by=actor_id,
                    erased_role=actor_role,
                    request_id=request_id,
                    requested_by=requested_by,
                )
            except NotErasable as err:
                if trigger is ErasureTrigger.RETENTION:
                    raise
                raise refused(err.refusal) from None
            await AuditLog(conn, self._audit_key).append(
                actor_id=actor_id,
                actor_role=actor_role,
                action=ERASE_ACTION,
                journey_id=journey_id,
                detail={
                    "trigger": trigger.value,
                    "request_id": request_id,
                    "changed": record.changed,
                },
            )
        return record

    async def _vacuum(self) -> None:
        async with self._pool.acquire() as conn:
            await ErasureRepository(conn).vacuum()
