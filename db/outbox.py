"""The email outbox: one row per journey step, so a step's email is sent once."""

from dataclasses import dataclass
from datetime import date

from db.repository import Repository


@dataclass(frozen=True)
class Claim:
    """A step's outbox row after counting this attempt."""

    status: str
    first_attempt_on: date
    """The day of the step's first attempt: what it sends is dated by it, so a retry matches."""


class OutboxRepository(Repository):
    """Owns the SQL of the email outbox."""

    async def claim(
        self, *, journey_id: str, step: str, kind: str, audience: str, message_id: str
    ) -> Claim:
        """Create the step's row if new and count an attempt, in one statement."""
        row = await self._conn.fetchrow(
            """INSERT INTO outbox (journey_id, step, kind, audience, message_id, attempts)
               VALUES ($1, $2, $3, $4, $5, 1)
               ON CONFLICT (journey_id, step) DO UPDATE SET attempts = outbox.attempts + 1
               RETURNING status, created_at""",
            journey_id,
            step,
            kind,
            audience,
            message_id,
        )
        return Claim(status=row["status"], first_attempt_on=row["created_at"].date())

    async def mark_sent(self, *, journey_id: str, step: str) -> None:
        await self._conn.execute(
            """UPDATE outbox SET status = 'sent', sent_at = now()
                WHERE journey_id = $1 AND step = $2""",
            journey_id,
            step,
        )
