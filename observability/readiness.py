"""Readiness: whether the services a process needs answer now.

The API's `/readyz` asks PostgreSQL and Temporal; `journeys worker --check` (the worker
container's health check) asks Temporal whether this host's worker polls the task queue, and
whether PostgreSQL and the SMTP relay answer. Each check has a deadline of its own, so a
dependency that hangs rather than refuses still fails the check in time; a failure names the
error's type only, but for the worker's Temporal check, whose reason (a certificate refused, a
server name that does not match) an operator needs and only an operator reads.
"""

import asyncio
import socket
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import timedelta

import asyncpg
from temporalio.client import Client

from integrations.smtp import SmtpSender
from integrations.temporal_client import connect_temporal, task_queue_pollers
from settings import Settings

# Each check answers within this, whatever the dependency does.
CHECK_SECONDS = 2.0


@dataclass(frozen=True)
class Check:
    name: str
    ok: bool
    detail: str


async def check(
    name: str, probe: Callable[[], Awaitable[str | None]], *, explain: bool = False
) -> Check:
    """Run `probe` with the deadline; it returns a detail (None: "ok") or raises. With
    `explain` a failure gives the error's message too, on one line."""
    try:
        async with asyncio.timeout(CHECK_SECONDS):
            detail = await probe()
    except NotReady as err:
        return Check(name, False, str(err))
    except Exception as err:
        reason = " ".join(str(err).split()) if explain else ""
        return Check(
            name, False, f"unavailable: {type(err).__name__}{': ' + reason if reason else ''}"
        )
    return Check(name, True, detail or "ok")


class NotReady(Exception):
    """The dependency answered, and its answer says not ready."""


async def postgres_pool_answers(pool: asyncpg.Pool) -> None:
    async with pool.acquire(timeout=CHECK_SECONDS) as conn:
        await conn.fetchval("SELECT 1")


async def postgres_answers(url: str) -> None:
    conn = await asyncpg.connect(url, timeout=CHECK_SECONDS)
    try:
        await conn.fetchval("SELECT 1")
    finally:
        await conn.close()


async def temporal_answers(client: Client) -> None:
    await client.service_client.check_health(timeout=timedelta(seconds=CHECK_SECONDS))


async def api_readiness(pool: asyncpg.Pool, client: Client) -> list[Check]:
    """What `/readyz` reports: both checks at once, so it answers within one deadline."""
    return list(
        await asyncio.gather(
            check("postgres", lambda: postgres_pool_answers(pool)),
            check("temporal", lambda: temporal_answers(client)),
        )
    )


async def worker_polls_here(settings: Settings) -> str:
    """The workers of this host (the SDK names a worker `pid@hostname`) among the task
    queue's pollers: a container's worker is ready while it polls, whatever its process looks
    like. Temporal forgets a poller minutes after its last poll."""
    client = await connect_temporal(settings)
    identities = await task_queue_pollers(client, settings.task_queue)
    here = [identity for identity in identities if identity.endswith(f"@{socket.gethostname()}")]
    summary = (
        f"{', '.join(here) or 'no worker of this host'} polling {settings.task_queue} "
        f"({len(identities)} poller(s) in all)"
    )
    if not here:
        raise NotReady(summary)
    return summary


async def worker_readiness(settings: Settings, smtp: SmtpSender) -> list[Check]:
    """What `journeys worker --check` reports: Temporal (this host's worker polls),
    PostgreSQL and the SMTP relay, each answering now."""
    return list(
        await asyncio.gather(
            check("temporal", lambda: worker_polls_here(settings), explain=True),
            check("postgres", lambda: postgres_answers(settings.require_database_url())),
            check("smtp", smtp.check),
        )
    )
