"""A per-client limit on the public form, counted in PostgreSQL and shared by every API replica.

A client is its address as `journeys api` takes it (the proxy's X-Forwarded-For only from
JOURNEYS_TRUSTED_PROXIES), stored as the audit log's keyed tag, never as the address: an
address is personal data. An IPv6 client counts by its /64, the block one subscriber is
given, so that walking through its own addresses does not multiply the limit.

Without PostgreSQL no submission is counted, so none is taken (503): an inquiry cannot be
stored without PostgreSQL anyway, and failing open would turn a partial failure (a lost
grant, an exhausted pool) into a form without a limit.
"""

import ipaddress
import logging
import math
import time
from datetime import timedelta

import asyncpg

from api.problems import ProblemError
from audit.log import address_tag
from db.rate_limits import FormRateLimitRepository, WindowCount

log = logging.getLogger(__name__)

# The setting is per minute (JOURNEYS_FORM_RATE_LIMIT_PER_MINUTE).
WINDOW = timedelta(minutes=1)
IPV6_CLIENT_PREFIX = 64
# What the API answers when the count cannot be read, like its other 503s.
UNAVAILABLE_RETRY_SECONDS = 5
# How asyncpg fails when the server is down, refuses connections or has just dropped a
# pooled one (a backend ended while idle can leave its connection in a state asyncpg reports
# as an internal error on the next query).
_DATABASE_DOWN = (
    OSError,
    asyncpg.PostgresError,
    asyncpg.InterfaceError,
    asyncpg.InternalClientError,
)


def limit_subject(address: str | None) -> str:
    """What one client's submissions are counted under: its IPv4 address (an IPv4-mapped
    IPv6 address is the IPv4 one), its IPv6 /64, or the peer as the server names it."""
    if address is None:
        return "unknown"
    try:
        ip = ipaddress.ip_address(address)
    except ValueError:
        return address
    if isinstance(ip, ipaddress.IPv6Address):
        if ip.ipv4_mapped is not None:
            return str(ip.ipv4_mapped)
        return str(ipaddress.IPv6Network((ip, IPV6_CLIENT_PREFIX), strict=False))
    return str(ip)


def retry_after(count: WindowCount, *, limit: int, window: timedelta = WINDOW) -> int:
    """Whole seconds until a refused client's next submission is counted, if it sends none
    before: the rule of `FormRateLimitRepository.count` solved for time."""
    span = window.total_seconds()
    # No count carried yet the submission refused: the statement's own reading of this
    # window predates the submissions of other replicas that filled it meanwhile.
    if count.current >= limit or count.previous == 0:
        # This window is full: wait for the next, and for enough of this one's count to
        # slide out of it.
        current = max(count.current, limit)
        wait = span - count.elapsed + span * (1 - (limit - 1) / current)
    else:
        wait = span * (1 - (limit - count.current - 1) / count.previous) - count.elapsed
    return max(1, math.ceil(wait))


class FormRateLimiter:
    """At most `limit` submissions of the form per client in a sliding minute; 0 or less: off."""

    def __init__(self, pool: asyncpg.Pool, *, address_key: bytes, limit: int) -> None:
        self._pool = pool
        self._address_key = address_key
        self.limit = limit
        self._pruned_at: float | None = None

    async def check(self, address: str | None) -> None:
        """Count one submission from `address`, or refuse it with 429 and Retry-After."""
        if self.limit <= 0:
            return
        client_key = address_tag(self._address_key, limit_subject(address))
        try:
            async with self._pool.acquire() as conn:
                counts = FormRateLimitRepository(conn)
                count = await counts.count(client_key=client_key, limit=self.limit, window=WINDOW)
                if self._prune_due():
                    await counts.prune(window=WINDOW)
        except _DATABASE_DOWN:
            log.warning("the form's rate limit could not be counted", exc_info=True)
            raise ProblemError(
                503,
                "Service unavailable",
                "submissions cannot be taken now; try again in a moment",
                headers={"Retry-After": str(UNAVAILABLE_RETRY_SECONDS)},
            ) from None
        if not count.counted:
            retry = retry_after(count, limit=self.limit)
            raise ProblemError(
                429,
                "Too many requests",
                f"at most {self.limit} submissions a minute; try again in {retry} s",
                headers={"Retry-After": str(retry)},
            )

    def _prune_due(self) -> bool:
        """Once a window per replica, on the way of a submission: the table stays the size
        of the last two windows' clients, with no task of its own to run and stop."""
        now = time.monotonic()
        if self._pruned_at is not None and now - self._pruned_at < WINDOW.total_seconds():
            return False
        self._pruned_at = now
        return True
