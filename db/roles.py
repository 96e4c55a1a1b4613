"""The two database roles of a deployment: one owns the schema, the other runs the app.

The schema's owner (`JOURNEYS_DATABASE_OWNER_URL`) runs the migrations and grants; the worker
and the API connect as another role (`JOURNEYS_DATABASE_URL`) that reads and writes rows but
can neither change a table nor touch what must stay as written: the audit log and the consent
texts take INSERT and SELECT only, and since only a table's owner (or a superuser) can run
`ALTER TABLE … DISABLE TRIGGER`, the app cannot switch off their append-only triggers either.
"""

from dataclasses import dataclass
from urllib.parse import unquote, urlsplit

import asyncpg

# Rows here are written once and never changed or removed, by anyone.
APPEND_ONLY_TABLES = ("audit_log", "consent_texts")
# The migrations' own bookkeeping: the app reads it (readiness), never writes it.
READ_ONLY_TABLES = ("schema_migrations",)


def role_of(database_url: str) -> str | None:
    """The user name a PostgreSQL URL connects as, or None when it names none (a local
    socket connection then uses the operating system's user)."""
    user = urlsplit(database_url).username
    return unquote(user) if user else None


def quote_ident(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


async def grant_app_role(conn: asyncpg.Connection, role: str) -> None:
    """Give `role` what the worker and the API use, and nothing more, on every table the
    migrations made. Run by `journeys setup` after each migration run, as the owner: new
    tables need their grants too. Safe to run again."""
    who = quote_ident(role)
    append_only = ", ".join(APPEND_ONLY_TABLES)
    read_only = ", ".join(READ_ONLY_TABLES)
    async with conn.transaction():
        await conn.execute(f"GRANT USAGE ON SCHEMA public TO {who}")
        await conn.execute(
            f"GRANT SELECT, INSERT, UPDATE, DELETE ON ALL TABLES IN SCHEMA public TO {who}"
        )
        await conn.execute(
            f"REVOKE UPDATE, DELETE, TRUNCATE, REFERENCES, TRIGGER ON {append_only} FROM {who}"
        )
        await conn.execute(
            f"REVOKE INSERT, UPDATE, DELETE, TRUNCATE, REFERENCES, TRIGGER ON {read_only} "
            f"FROM {who}"
        )
        await conn.execute(f"GRANT USAGE, SELECT ON ALL SEQUENCES IN SCHEMA public TO {who}")


@dataclass(frozen=True)
class RolePowers:
    """What the connected role could do to the audit log beyond appending to it."""

    role: str
    superuser: bool
    owns_audit_log: bool
    may_change_audit_log: bool

    def problems(self) -> list[str]:
        found = []
        if self.superuser:
            found.append(f"it connects as {self.role!r}, a superuser")
        elif self.owns_audit_log:
            found.append(
                f"it connects as {self.role!r}, which owns the audit log and could disable its "
                "append-only triggers"
            )
        elif self.may_change_audit_log:
            found.append(f"{self.role!r} may update or delete rows of the audit log")
        return found


async def role_powers(conn: asyncpg.Connection) -> RolePowers:
    row = await conn.fetchrow(
        """SELECT current_user AS role,
                  r.rolsuper AS superuser,
                  pg_has_role(current_user, c.relowner, 'USAGE') AS owns_audit_log,
                  has_table_privilege('audit_log', 'UPDATE')
                    OR has_table_privilege('audit_log', 'DELETE')
                    OR has_table_privilege('audit_log', 'TRUNCATE') AS may_change_audit_log
             FROM pg_roles r, pg_class c
            WHERE r.rolname = current_user AND c.oid = 'audit_log'::regclass"""
    )
    if row is None:  # only when the role vanished between connecting and asking
        raise RuntimeError("the connected PostgreSQL role was not found")
    return RolePowers(**dict(row))


class OverPrivileged(RuntimeError):
    """Production's worker or API connected as a role that could rewrite the audit log."""


async def refuse_over_privileged(database_url: str) -> None:
    """Refuse to run production as a role that could alter or rewrite the audit log."""
    conn = await asyncpg.connect(database_url)
    try:
        problems = (await role_powers(conn)).problems()
    finally:
        await conn.close()
    if problems:
        raise OverPrivileged(
            "refusing to start in production: JOURNEYS_DATABASE_URL is over-privileged: "
            + "; ".join(problems)
            + ". Run the worker and the API as a role without ownership (created as in "
            "ops/postgres/init-roles.sh), and give the schema owner's URL to `journeys setup` "
            "as JOURNEYS_DATABASE_OWNER_URL (docs/operations.md, Database roles)."
        )
