"""Waiting for a journey to move, without polling it.

A client that has seen a journey's status may ask to be answered only once the journey has
moved on (`GET /journeys/{id}?after=N&wait=S`). Recording a stage change notifies the
`journey_stage` channel in the same transaction (`db/journeys.py`), so the notice arrives
once the change is committed. Each API process keeps one LISTEN connection, opened at the
first wait, and wakes the requests waiting on that journey. While that connection is down,
waiting requests check PostgreSQL once a second instead, so a lost connection slows them
and loses nothing.
"""

import asyncio
import contextlib
import logging

import asyncpg

from db.journeys import STAGE_CHANNEL, JourneyRepository

log = logging.getLogger(__name__)

# While the LISTEN connection is down, how often a waiting request looks for itself.
RECHECK_SECONDS = 1.0
# How often a process tries to open its LISTEN connection again after failing to.
RETRY_SECONDS = 5.0


class StageWatch:
    """Wakes requests waiting for a journey's next recorded stage change."""

    def __init__(self, dsn: str) -> None:
        self._dsn = dsn
        self._listener: asyncpg.Connection | None = None
        self._connecting = asyncio.Lock()
        self._waiters: dict[str, set[asyncio.Event]] = {}
        # After a failed connection attempt, waits do without one until then (loop time).
        self._retry_at = 0.0

    async def wait(self, pool: asyncpg.Pool, journey_id: str, *, after: int, at_most: float) -> int:
        """Return the number of stage changes recorded, once it is above `after` or once
        `at_most` seconds have passed, whichever comes first."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + at_most
        moved = asyncio.Event()
        self._waiters.setdefault(journey_id, set()).add(moved)
        try:
            while True:
                listening = await self._listen()
                # Cleared before reading, so a notice committed after the read still wakes us.
                moved.clear()
                async with pool.acquire() as conn:
                    recorded = await JourneyRepository(conn).recorded_changes(journey_id)
                remaining = deadline - loop.time()
                if recorded > after or remaining <= 0:
                    return recorded
                pause = remaining if listening else min(remaining, RECHECK_SECONDS)
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(moved.wait(), pause)
        finally:
            waiting = self._waiters.get(journey_id)
            if waiting is not None:
                waiting.discard(moved)
                if not waiting:
                    del self._waiters[journey_id]

    async def close(self) -> None:
        listener, self._listener = self._listener, None
        if listener is not None and not listener.is_closed():
            await listener.close()

    async def _listen(self) -> bool:
        """True when the LISTEN connection is up (opening it if need be)."""
        if self._listener is not None and not self._listener.is_closed():
            return True
        loop = asyncio.get_running_loop()
        if loop.time() < self._retry_at:
            return False
        async with self._connecting:
            if self._listener is not None and not self._listener.is_closed():
                return True
            if loop.time() < self._retry_at:
                return False
            try:
                listener = await asyncpg.connect(self._dsn)
                listener.add_termination_listener(self._lost)
                await listener.add_listener(STAGE_CHANNEL, self._notified)
            except (OSError, asyncpg.PostgresError) as err:
                # One attempt per interval for the whole process, however many are waiting.
                if not self._retry_at:
                    log.warning("cannot listen for stage changes (checking every second): %s", err)
                self._retry_at = loop.time() + RETRY_SECONDS
                return False
            if self._retry_at:
                log.info("listening for stage changes again")
            self._retry_at = 0.0
            self._listener = listener
            return True

    def _notified(
        self, _conn: asyncpg.Connection, _pid: int, _channel: str, journey_id: str
    ) -> None:
        for moved in self._waiters.get(journey_id, ()):
            moved.set()

    def _lost(self, _conn: asyncpg.Connection) -> None:
        # Notices sent while reconnecting would be missed: every waiter looks again.
        self._listener = None
        for waiting in self._waiters.values():
            for moved in waiting:
                moved.set()
