"""The staff console's sessions as the server holds them: a row per sign-in, named by the SHA-256
of the random id the browser's cookie carries (the id itself is stored nowhere)."""

from dataclasses import dataclass
from datetime import datetime, timedelta

from db.repository import Repository

# One read by primary key, joined to the member's record in the staff directory by its
# primary key, with the database's clock: the one every API replica shares.
_FIND = """
SELECT s.staff_id, s.role, s.started_at, s.seen_at, s.ended_reason, now() AS now,
       st.role AS directory_role, st.active, st.full_name, st.time_zone
  FROM console_sessions s
  JOIN staff st ON st.staff_id = s.staff_id
 WHERE s.id_hash = $1
"""


@dataclass(frozen=True)
class SessionRow:
    """A session with its member's record in the staff directory as they are now."""

    staff_id: str
    # The role the session was started with.
    role: str
    started_at: datetime
    seen_at: datetime
    # Why it ended; None while it has not.
    ended_reason: str | None
    # The database's clock at this read.
    now: datetime
    directory_role: str
    active: bool
    full_name: str
    time_zone: str


class ConsoleSessionRepository(Repository):
    """Owns the SQL of `console_sessions`."""

    async def start(
        self, *, id_hash: bytes, staff_id: str, role: str, method: str, lifetime: timedelta
    ) -> int:
        """Record a new session, and delete the sessions past `lifetime` (ended or not: none of
        them can be used any more); returns how many were deleted."""
        async with self._conn.transaction():
            pruned = await self.prune(lifetime=lifetime)
            await self._conn.execute(
                """INSERT INTO console_sessions (id_hash, staff_id, role, method)
                   VALUES ($1, $2, $3, $4)""",
                id_hash,
                staff_id,
                role,
                method,
            )
        return pruned

    async def find(self, *, id_hash: bytes) -> SessionRow | None:
        row = await self._conn.fetchrow(_FIND, id_hash)
        return None if row is None else SessionRow(**dict(row))

    async def touch(self, *, id_hash: bytes) -> None:
        """Note a request of a session that has not ended."""
        await self._conn.execute(
            "UPDATE console_sessions SET seen_at = now() WHERE id_hash = $1 AND ended_at IS NULL",
            id_hash,
        )

    async def end(self, *, id_hash: bytes, reason: str) -> bool:
        """End a session; False when it had ended already (or never was)."""
        ended = await self._conn.fetchval(
            """UPDATE console_sessions SET ended_at = now(), ended_reason = $2
                WHERE id_hash = $1 AND ended_at IS NULL
            RETURNING true""",
            id_hash,
            reason,
        )
        return bool(ended)

    async def end_for_staff(self, *, staff_id: str, reason: str, keep_role: str | None) -> int:
        """End every session of a member of staff, except those with `keep_role` (the role the
        directory gives them now, when it still lets them in); returns how many ended."""
        status = await self._conn.execute(
            """UPDATE console_sessions SET ended_at = now(), ended_reason = $2
                WHERE staff_id = $1 AND ended_at IS NULL
                  AND ($3::text IS NULL OR role <> $3::text)""",
            staff_id,
            reason,
            keep_role,
        )
        return int(status.split()[-1])

    async def prune(self, *, lifetime: timedelta) -> int:
        """Delete the sessions started longer than `lifetime` ago; returns how many."""
        status = await self._conn.execute(
            "DELETE FROM console_sessions WHERE started_at < now() - $1::interval", lifetime
        )
        return int(status.split()[-1])
