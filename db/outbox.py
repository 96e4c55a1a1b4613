"""The email outbox: one row per journey step, so a step's email is sent once."""

from datetime import date, datetime

import asyncpg


class OutboxRepository:
    def __init__(self, conn: asyncpg.Connection) -> None:
        self._conn = conn

    async def claim(
        self, *, journey_id: str, step: str, kind: str, audience: str, message_id: str
    ) -> str:
        """Create the step's row if new and count an attempt; returns its status."""
        await self._conn.execute(
            """INSERT INTO outbox (journey_id, step, kind, audience, message_id)
               VALUES ($1, $2, $3, $4, $5) ON CONFLICT (journey_id, step) DO NOTHING""",
            journey_id,
            step,
            kind,
            audience,
            message_id,
        )
        status: str = await self._conn.fetchval(
            """UPDATE outbox SET attempts = attempts + 1
                WHERE journey_id = $1 AND step = $2 RETURNING status""",
            journey_id,
            step,
        )
        return status

    async def mark_sent(self, *, journey_id: str, step: str) -> None:
        await self._conn.execute(
            """UPDATE outbox SET status = 'sent', sent_at = now()
                WHERE journey_id = $1 AND step = $2""",
            journey_id,
            step,
        )

    async def first_attempt_date(self, *, journey_id: str, step: str) -> date:
        created: datetime = await self._conn.fetchval(
            "SELECT created_at FROM outbox WHERE journey_id = $1 AND step = $2",
            journey_id,
            step,
        )
        return created.date()
