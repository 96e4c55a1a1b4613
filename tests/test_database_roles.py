"""Least privilege in PostgreSQL: the schema's owner migrates and grants; the role the worker
and the API run as reads and writes rows, appends to the audit log and can do nothing else to
it; production refuses to run as a role that could."""

import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass

import asyncpg
import pytest

from audit.log import AuditWriter
from db.migrate import migrate_url
from db.pool import create_pool
from db.roles import OverPrivileged, refuse_over_privileged, role_of
from devstack.postgres import EmbeddedPostgres, database_url


@dataclass(frozen=True)
class Roles:
    owner_url: str
    app_url: str
    superuser_url: str
    app_role: str


def _as(url: str, role: str) -> str:
    """`url` connecting as `role` (the embedded server trusts its local connections)."""
    scheme, _, rest = url.partition("://")
    return f"{scheme}://{role}@{rest.partition('@')[2]}"


@pytest.fixture
async def roles(pg_server: EmbeddedPostgres) -> AsyncIterator[Roles]:
    """An owner, an app role and their database, as ops/postgres/init-roles.sh makes them,
    migrated and granted as `journeys setup` does."""
    suffix = uuid.uuid4().hex[:8]
    owner, app, name = f"owner_{suffix}", f"app_{suffix}", f"roles_{suffix}"
    admin = await asyncpg.connect(pg_server.get_uri())
    try:
        await admin.execute(f"CREATE ROLE {owner} LOGIN")
        await admin.execute(f"CREATE ROLE {app} LOGIN")
        await admin.execute(f"CREATE DATABASE {name} OWNER {owner}")
        superuser_url = database_url(pg_server.get_uri(), name)
        owner_url, app_url = _as(superuser_url, owner), _as(superuser_url, app)
        await migrate_url(owner_url, grant_to=role_of(app_url))
        yield Roles(owner_url, app_url, superuser_url, app)
        await admin.execute(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")
        await admin.execute(f"DROP ROLE IF EXISTS {app}")
        await admin.execute(f"DROP ROLE IF EXISTS {owner}")
    finally:
        await admin.close()


async def test_the_app_role_writes_rows_and_appends_to_the_audit_log(roles: Roles) -> None:
    conn = await asyncpg.connect(roles.app_url)
    try:
        tables = [
            r["tablename"]
            for r in await conn.fetch("SELECT tablename FROM pg_tables WHERE schemaname = 'public'")
        ]
        assert "patients" in tables
        for table in set(tables) - {"audit_log", "consent_texts", "schema_migrations"}:
            assert await conn.fetchval(
                "SELECT has_table_privilege($1, 'SELECT, INSERT, UPDATE, DELETE')", table
            ), table
    finally:
        await conn.close()
    pool = await create_pool(roles.app_url)
    try:
        writer = AuditWriter(pool, b"k" * 32)
        await writer.append(
            actor_id="c-1", actor_role="coordinator", action="test.append", source=None, detail={}
        )
        async with pool.acquire() as read:
            assert await read.fetchval("SELECT count(*) FROM audit_log") == 1
    finally:
        await pool.close()


@pytest.mark.parametrize(
    "statement",
    [
        "UPDATE audit_log SET action = 'rewritten'",
        "DELETE FROM audit_log",
        "TRUNCATE audit_log",
        "ALTER TABLE audit_log DISABLE TRIGGER audit_log_no_update_delete",
        "ALTER TABLE audit_log DISABLE TRIGGER ALL",
        "DROP TABLE audit_log",
        "UPDATE consent_texts SET body = 'other'",
        "DELETE FROM schema_migrations",
        "CREATE TABLE shadow (id int)",
    ],
)
async def test_the_app_role_cannot_rewrite_the_audit_log_nor_the_schema(
    roles: Roles, statement: str
) -> None:
    conn = await asyncpg.connect(roles.app_url)
    try:
        with pytest.raises(asyncpg.InsufficientPrivilegeError):
            await conn.execute(statement)
    finally:
        await conn.close()


async def test_production_refuses_a_role_that_could_rewrite_the_audit_log(roles: Roles) -> None:
    await refuse_over_privileged(roles.app_url)
    with pytest.raises(OverPrivileged, match="owns the audit log"):
        await refuse_over_privileged(roles.owner_url)
    with pytest.raises(OverPrivileged, match="a superuser"):
        await refuse_over_privileged(roles.superuser_url)


async def test_setup_grants_again_after_a_new_migration(roles: Roles) -> None:
    """A table a later migration makes is the app's to use once setup has run again."""
    owner = await asyncpg.connect(roles.owner_url)
    try:
        await owner.execute("CREATE TABLE later_records (id int)")
    finally:
        await owner.close()
    await migrate_url(roles.owner_url, grant_to=roles.app_role)
    app = await asyncpg.connect(roles.app_url)
    try:
        await app.execute("INSERT INTO later_records VALUES (1)")
    finally:
        await app.close()
