"""Numbered SQL migrations, applied once each and in order, under an advisory lock."""

import logging
from importlib import resources

import asyncpg

from db.roles import grant_app_role

log = logging.getLogger(__name__)

# Any constant works; it only keeps two processes from migrating the same database at once.
_MIGRATION_LOCK = 724_190_001


def migration_files() -> list[tuple[int, str, str]]:
    """(number, name, sql) of every migration shipped with the package, in order."""
    found = []
    for entry in resources.files("db.migrations").iterdir():
        if entry.name.endswith(".sql"):
            number = int(entry.name.split("_", 1)[0])
            found.append((number, entry.name, entry.read_text(encoding="utf-8")))
    return sorted(found)


async def migrate(conn: asyncpg.Connection) -> list[str]:
    """Apply the migrations this database lacks; returns the names applied."""
    applied: list[str] = []
    await conn.execute("SELECT pg_advisory_lock($1)", _MIGRATION_LOCK)
    try:
        await conn.execute(
            """CREATE TABLE IF NOT EXISTS schema_migrations (
                   number integer PRIMARY KEY,
                   name text NOT NULL,
                   applied_at timestamptz NOT NULL DEFAULT now())"""
        )
        done = {r["number"] for r in await conn.fetch("SELECT number FROM schema_migrations")}
        for number, name, sql in migration_files():
            if number in done:
                continue
            async with conn.transaction():
                await conn.execute(sql)
                await conn.execute(
                    "INSERT INTO schema_migrations (number, name) VALUES ($1, $2)", number, name
                )
            log.info("applied migration %s", name)
            applied.append(name)
    finally:
        await conn.execute("SELECT pg_advisory_unlock($1)", _MIGRATION_LOCK)
    return applied


async def migrate_url(dsn: str, *, grant_to: str | None = None) -> list[str]:
    """Migrate the database at `dsn`; with `grant_to`, then give that role (the app's, when
    `dsn` connects as the schema's owner) its privileges on every table (db/roles.py)."""
    conn = await asyncpg.connect(dsn)
    try:
        applied = await migrate(conn)
        if grant_to is not None:
            await grant_app_role(conn, grant_to)
        return applied
    finally:
        await conn.close()
