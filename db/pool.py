"""The asyncpg pool, opened by whoever owns the process (API lifespan, worker, tests)."""

import asyncpg


async def create_pool(dsn: str, *, min_size: int = 1, max_size: int = 10) -> asyncpg.Pool:
    pool = await asyncpg.create_pool(dsn, min_size=min_size, max_size=max_size)
    if pool is None:  # only None when the pool is created lazily, which it is not here
        raise RuntimeError("could not open a PostgreSQL pool")
    return pool
