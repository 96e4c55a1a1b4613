"""The audit log's rows: appended under the log's one lock, read back in seq order.

The hash chain that seals each row is `audit/log.py`'s; this module stores and reads the
rows it is handed, and takes the lock that keeps appends in one line.
"""

import uuid
from collections.abc import AsyncGenerator, Callable, Sequence
from dataclasses import dataclass
from datetime import datetime

from db.repository import Repository

# pg_advisory_xact_lock key that serialises appends. Any constant works, as long as nothing
# else in the database uses it (db/migrate.py holds 724_190_001).
APPEND_LOCK = 724_190_004

_LAST = """SELECT clock_timestamp() AS now, last.seq, last.hash
             FROM (SELECT 1) AS one
             LEFT JOIN (SELECT seq, hash FROM audit_log ORDER BY seq DESC LIMIT 1)
                  AS last ON true"""

_INSERT = """INSERT INTO audit_log (seq, at, actor_id, actor_role, action, journey_id,
                                    patient_id, source, detail, prev_hash, hash)
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9::text::jsonb, $10, $11)"""

_SELECT_ROWS = """SELECT seq, at, actor_id, actor_role, action, journey_id, patient_id,
                         source, detail::text AS detail, prev_hash, hash
                    FROM audit_log ORDER BY seq"""

_SELECT_LAST = """SELECT seq, at, actor_id, actor_role, action, journey_id, patient_id,
                         source, detail::text AS detail, prev_hash, hash
                    FROM audit_log ORDER BY seq DESC LIMIT 1"""


@dataclass(frozen=True)
class AuditRow:
    """One row of the log as stored: `detail` is its JSON text, the text the hash covers."""

    seq: int
    at: datetime
    actor_id: str
    actor_role: str
    action: str
    journey_id: uuid.UUID | None
    patient_id: uuid.UUID | None
    source: str | None
    detail: str
    prev_hash: str
    hash: str


@dataclass(frozen=True)
class LogEnd:
    """The log's last row as an append sees it under the lock, and the database's clock."""

    seq: int | None
    hash: str | None
    now: datetime


class AuditLogRepository(Repository):
    """Owns the SQL of the audit log."""

    async def append(self, seal: Callable[[LogEnd], Sequence[AuditRow]]) -> list[int]:
        """Insert the rows `seal` makes from the log's end, in one transaction under the
        append lock; returns their seqs.

        Inside a caller's transaction this is a savepoint, and the lock is held until the
        caller's transaction ends.
        """
        async with self._conn.transaction():
            await self._conn.execute("SELECT pg_advisory_xact_lock($1)", APPEND_LOCK)
            # A statement of its own: its snapshot is taken after the lock is granted, so it
            # sees the row the previous holder committed. clock_timestamp(), not now(): now()
            # is when the caller's transaction began, which can precede the previous row.
            last = await self._conn.fetchrow(_LAST)
            rows = seal(LogEnd(seq=last["seq"], hash=last["hash"], now=last["now"]))
            await self._conn.executemany(
                _INSERT,
                [
                    (
                        r.seq,
                        r.at,
                        r.actor_id,
                        r.actor_role,
                        r.action,
                        r.journey_id,
                        r.patient_id,
                        r.source,
                        r.detail,
                        r.prev_hash,
                        r.hash,
                    )
                    for r in rows
                ],
            )
        return [r.seq for r in rows]

    async def rows(self, *, prefetch: int) -> AsyncGenerator[AuditRow, None]:
        """Every row in seq order, streamed through a cursor `prefetch` rows a round trip.

        One read-only transaction, so one snapshot: rows appended meanwhile are not part of
        the walk. Close the iterator (`contextlib.aclosing`) when leaving it early.
        """
        async with self._conn.transaction(readonly=True):
            async for r in self._conn.cursor(_SELECT_ROWS, prefetch=prefetch):
                yield AuditRow(**r)

    async def last(self) -> AuditRow | None:
        """The log's last row; None while it is empty."""
        found = await self._conn.fetchrow(_SELECT_LAST)
        return None if found is None else AuditRow(**found)
