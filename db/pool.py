"""The asyncpg pool, opened by whoever owns the process (API lifespan, worker, tests)."""

import asyncpg


async def create_pool(dsn: str, *, min_size: int = 1, max_size: int = 10) -> asyncpg.Pool:
    pool = await asyncpg.create_pool(dsn, min_size=min_size, max_size=max_size, reset=_keep_session)
    if pool is None:  # only None when the pool is created lazily, which it is not here
        raise RuntimeError("could not open a PostgreSQL pool")
    return pool


async def _keep_session(conn: asyncpg.Connection) -> None:
    """What a connection needs on its way back to the pool, beyond asyncpg's own rollback of
    an open transaction: nothing. The project keeps no session state on pooled connections
    (no SET, no cursors, no LISTEN: the API listens on a connection of its own; its advisory
    locks are transaction-scoped), so asyncpg's default reset (unlock all, CLOSE ALL,
    UNLISTEN, RESET ALL) would be a wasted round trip on every release."""
