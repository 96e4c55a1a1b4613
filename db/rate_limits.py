"""Counts of the public form's submissions per client and window, shared by the API replicas."""

from dataclasses import dataclass
from datetime import datetime, timedelta

from db.repository import Repository

# A sliding window from two fixed ones: this window's count, plus the window before's
# weighted by how much of it the sliding window still covers (rounded up, so a burst split
# by a window's start is not let through twice). One statement: the conflict on the
# current window's row locks it, and its WHERE sees the latest count, so replicas
# submitting for one client at once never both take the last place. A refused submission
# is not counted. Times are the database's, the one clock every replica shares.
_COUNT = """
WITH clock AS (
    SELECT coalesce($4::timestamptz, now()) AS at
), win AS (
    SELECT at, date_bin($3::interval, at, 'epoch'::timestamptz) AS start FROM clock
), previous AS (
    SELECT coalesce(max(r.hits), 0) AS hits
      FROM form_rate_limits r, win
     WHERE r.client_key = $1 AND r.window_start = win.start - $3::interval
), carried AS (
    SELECT ceil(previous.hits
                * (1 - extract(epoch FROM win.at - win.start) / extract(epoch FROM $3::interval))
           )::integer AS hits
      FROM previous, win
), counted AS (
    INSERT INTO form_rate_limits AS r (client_key, window_start, hits)
    SELECT $1, win.start, 1 FROM win, carried WHERE carried.hits < $2::bigint
    ON CONFLICT (client_key, window_start) DO UPDATE SET hits = r.hits + 1
        WHERE r.hits + (SELECT hits FROM carried) < $2::bigint
    RETURNING r.hits
)
SELECT EXISTS (SELECT 1 FROM counted) AS counted,
       coalesce((SELECT hits FROM counted),
                (SELECT r.hits FROM form_rate_limits r
                  WHERE r.client_key = $1 AND r.window_start = win.start),
                0) AS current,
       previous.hits AS previous,
       extract(epoch FROM win.at - win.start)::float8 AS elapsed
  FROM previous, win
"""

# Kept: the current window's rows and the one before's, which the count still reads.
_PRUNE = """
DELETE FROM form_rate_limits
 WHERE window_start < coalesce($2::timestamptz, now()) - 2 * $1::interval
"""


@dataclass(frozen=True)
class WindowCount:
    """One submission's count: whether it was counted (below the limit), this window's
    count (this submission included when counted), the window before's, and how far into
    this window it came (seconds)."""

    counted: bool
    current: int
    previous: int
    elapsed: float


class FormRateLimitRepository(Repository):
    """Owns the SQL of the form's rate limit."""

    async def count(
        self, *, client_key: str, limit: int, window: timedelta, at: datetime | None = None
    ) -> WindowCount:
        """Count one submission of `client_key` if its sliding count is below `limit`.

        `at` stands in for the database's clock (tests)."""
        row = await self._conn.fetchrow(_COUNT, client_key, limit, window, at)
        assert row is not None  # the final SELECT always yields one row
        return WindowCount(
            counted=row["counted"],
            current=row["current"],
            previous=row["previous"],
            elapsed=row["elapsed"],
        )

    async def prune(self, *, window: timedelta, at: datetime | None = None) -> int:
        """Delete the counts no submission reads any more; returns how many."""
        status = await self._conn.execute(_PRUNE, window, at)
        return int(status.split()[-1])
