"""Waiting for a journey to move, without polling it.

A client that has seen a journey's status may ask to be answered only once the journey has
moved on (`GET /journeys/{id}?after=N&wait=S`). Recording a stage change notifies the
`journey_stage` channel in the same transaction (`db/journeys.py`), so the notice arrives
once the change is committed. Each API process keeps one LISTEN connection, opened at the
first wait (beside the waits, which never wait for it), and wakes the requests waiting on that
journey. While that connection is down, waiting requests check PostgreSQL once a second
instead, so a lost connection slows them and loses nothing.
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
# A server that does not answer must not hold the attempt for asyncpg's default minute.
CONNECT_SECONDS = 5.0


class StageWatch:
    """Wakes requests waiting for a journey's next recorded stage change."""

    def __init__(self, dsn: str) -> None:
        self._dsn = dsn
        self._listener: asyncpg.Connection | None = None
        # Opening the connection runs beside the waits, so none of them waits on it.
        self._connecting: asyncio.Task[None] | None = None
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
                listening = self._listen()
                # Cleared before reading, so a notice committed after the read still wakes us.
                moved.clear()
                async with pool.acquire() as conn:
                    recorded = await JourneyRepository(conn).recorded_changes(journey_id=journey_id)
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
        if self._connecting is not None:
            self._connecting.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._connecting
        listener, self._listener = self._listener, None
        if listener is not None and not listener.is_closed():
            await listener.close()

    def _listen(self) -> bool:
        """True when the LISTEN connection is up; otherwise starts opening it, at most one
        attempt at a time and one per `RETRY_SECONDS` after a failure."""
        if self._listener is not None and not self._listener.is_closed():
            return True
        if self._connecting is None and asyncio.get_running_loop().time() >= self._retry_at:
            self._connecting = asyncio.create_task(self._connect())
        return False

    async def _connect(self) -> None:
        loop = asyncio.get_running_loop()
        listener: asyncpg.Connection | None = None
        try:
            listener = await asyncpg.connect(self._dsn, timeout=CONNECT_SECONDS)
            listener.add_termination_listener(self._lost)
            await listener.add_listener(STAGE_CHANNEL, self._notified)
        except (OSError, asyncpg.PostgresError) as err:
            if listener is not None:
                listener.terminate()
            if not self._retry_at:
                log.warning("cannot listen for stage changes (checking every second): %s", err)
            self._retry_at = loop.time() + RETRY_SECONDS
            return
        finally:
            self._connecting = None
        if self._retry_at:
            log.info("listening for stage changes again")
        self._retry_at = 0.0
        self._listener = listener
        # Waits that were checking every second now wait for notices.
        self._wake_all()

    def _notified(
        self, _conn: asyncpg.Connection, _pid: int, _channel: str, journey_id: str
    ) -> None:
        for moved in self._waiters.get(journey_id, ()):
            moved.set()

    def _lost(self, _conn: asyncpg.Connection) -> None:
        # Notices sent while reconnecting would be missed: every waiter looks again.
        self._listener = None
        self._wake_all()

    def _wake_all(self) -> None:
        for waiting in self._waiters.values():
            for moved in waiting:
                moved.set()
