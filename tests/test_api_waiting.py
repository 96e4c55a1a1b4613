"""Waiting for a journey to move: `GET /journeys/{id}?after=N&wait=S` answers when it does."""

import asyncio
import time
import uuid
from typing import Any

import asyncpg
import httpx
import pytest

from api.journey_watch import CONNECT_SECONDS, StageWatch
from domain.actors import Role
from settings import Settings
from tests.api_people import link, staff
from tests.helpers import eventually, valid_form
from tests.journeys import seed_staff

pytestmark = pytest.mark.usefixtures("worker")

# Long enough that an answer before it can only come from the journey moving.
LONG_WAIT = 45


@pytest.fixture
async def at_review(api: httpx.AsyncClient, settings: Settings, pool: asyncpg.Pool) -> str:
    """A journey waiting on its reviewer."""
    await seed_staff(pool)
    jid: str = (await api.post("/api/v1/inquiries", json=valid_form())).json()["journey_id"]

    async def status() -> httpx.Response:
        return await api.get(f"/api/v1/journeys/{jid}", headers=staff(settings, Role.COORDINATOR))

    await eventually(
        status,
        until=lambda a: a.status_code == 200 and a.json()["waiting_on"] == "reviewer",
        what="the journey waiting on its reviewer",
    )
    return jid


async def _version(api: httpx.AsyncClient, settings: Settings, jid: str) -> int:
    answer = await api.get(f"/api/v1/journeys/{jid}", headers=staff(settings, Role.COORDINATOR))
    version = int(answer.headers["Journey-Version"])
    assert version == len(answer.json()["transitions"])
    return version


async def test_a_waiting_reader_is_answered_when_the_journey_moves(
    api: httpx.AsyncClient, settings: Settings, at_review: str
) -> None:
    base = f"/api/v1/journeys/{at_review}"
    seen = await _version(api, settings, at_review)
    started = time.monotonic()
    waiting = asyncio.create_task(
        api.get(f"{base}?after={seen}&wait={LONG_WAIT}", headers=staff(settings, Role.COORDINATOR))
    )
    await asyncio.sleep(0.5)
    assert not waiting.done(), "nothing moved, so the reader is still waiting"

    reviewed = await api.post(
        f"{base}/review", json={"outcome": "approve"}, headers=staff(settings, Role.REVIEWER)
    )
    assert reviewed.status_code == 200, reviewed.text
    answer = await waiting
    assert answer.status_code == 200, answer.text
    assert time.monotonic() - started < LONG_WAIT, "answered by the move, not by the wait"
    assert int(answer.headers["Journey-Version"]) > seen
    assert answer.json()["transitions"][seen]["actor_role"] == "reviewer"
    # The step's own answer carries the version too, so its sender can wait from there.
    after_step = int(reviewed.headers["Journey-Version"])
    assert after_step == len(reviewed.json()["transitions"]) > seen


async def test_nothing_moves_and_the_wait_ends_with_the_same_status(
    api: httpx.AsyncClient, settings: Settings, pool: asyncpg.Pool, at_review: str
) -> None:
    base = f"/api/v1/journeys/{at_review}"
    seen = await _version(api, settings, at_review)
    patient_id = str(await pool.fetchval("SELECT patient_id FROM journeys"))
    mine = await api.get(
        f"{base}?after={seen}&wait=0.3", headers=link(settings, at_review, patient_id)
    )
    assert mine.status_code == 200
    assert mine.headers["Journey-Version"] == str(seen), "the patient's view carries it too"
    assert "transitions" not in mine.json()

    # A version the client has not seen yet is answered at once.
    behind = await api.get(
        f"{base}?after={seen - 1}&wait={LONG_WAIT}", headers=staff(settings, Role.COORDINATOR)
    )
    assert behind.headers["Journey-Version"] == str(seen)


async def test_bad_waits_are_refused_before_waiting(
    api: httpx.AsyncClient, settings: Settings, at_review: str
) -> None:
    base = f"/api/v1/journeys/{at_review}"
    coordinator = staff(settings, Role.COORDINATOR)
    no_after = await api.get(f"{base}?wait=5", headers=coordinator)
    assert no_after.status_code == 422 and "wait needs after" in no_after.text
    too_long = await api.get(f"{base}?after=1&wait=600", headers=coordinator)
    assert too_long.status_code == 422
    negative = await api.get(f"{base}?after=-1&wait=5", headers=coordinator)
    assert negative.status_code == 422
    started = time.monotonic()
    missing = await api.get(
        f"/api/v1/journeys/{uuid.uuid4()}?after=1&wait={LONG_WAIT}", headers=coordinator
    )
    assert missing.status_code == 404
    assert time.monotonic() - started < LONG_WAIT, "an unknown journey is not waited on"
    assert (await api.get(f"{base}?after=1&wait={LONG_WAIT}")).status_code == 401


async def test_a_lost_listener_connection_loses_no_move(
    api: httpx.AsyncClient, settings: Settings, pool: asyncpg.Pool, at_review: str
) -> None:
    base = f"/api/v1/journeys/{at_review}"
    coordinator = staff(settings, Role.COORDINATOR)
    seen = await _version(api, settings, at_review)
    # One short wait opens the API's LISTEN connection.
    await api.get(f"{base}?after={seen}&wait=0.1", headers=coordinator)

    async def listening() -> int:
        count: int = await pool.fetchval(
            """SELECT count(*) FROM pg_stat_activity
                WHERE datname = current_database() AND query LIKE 'LISTEN%'"""
        )
        return count

    await eventually(listening, until=lambda n: n == 1, what="the API's LISTEN connection")
    waiting = asyncio.create_task(
        api.get(f"{base}?after={seen}&wait={LONG_WAIT}", headers=coordinator)
    )
    terminated = await pool.fetchval(
        """SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity
            WHERE datname = current_database() AND query LIKE 'LISTEN%'"""
    )
    assert terminated == 1, "the API listens on one connection"
    await asyncio.sleep(0.3)
    started = time.monotonic()
    reviewed = await api.post(
        f"{base}/review", json={"outcome": "approve"}, headers=staff(settings, Role.REVIEWER)
    )
    assert reviewed.status_code == 200
    answer = await waiting
    assert int(answer.headers["Journey-Version"]) > seen
    assert time.monotonic() - started < LONG_WAIT


async def test_without_a_listener_connection_waits_check_every_second(
    api: httpx.AsyncClient,
    settings: Settings,
    pool: asyncpg.Pool,
    at_review: str,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """PostgreSQL refusing the LISTEN connection slows a wait to one check a second, and
    the process tries to open it again once an interval, not once per waiting request."""
    seen = await _version(api, settings, at_review)
    attempts: list[str] = []
    connect = asyncpg.connect

    async def counted(dsn: str, **options: Any) -> asyncpg.Connection:
        attempts.append(dsn)
        return await connect(dsn, **options)

    monkeypatch.setattr(asyncpg, "connect", counted)
    unreachable = StageWatch("postgresql://journeys@127.0.0.1:1/nowhere")
    started = time.monotonic()
    waits = [
        asyncio.create_task(unreachable.wait(pool, at_review, after=seen, at_most=LONG_WAIT))
        for _ in range(5)
    ]
    await asyncio.sleep(0.5)
    assert not any(w.done() for w in waits)
    assert len(attempts) == 1, "one attempt for five waiting requests"
    reviewed = await api.post(
        f"/api/v1/journeys/{at_review}/review",
        json={"outcome": "approve"},
        headers=staff(settings, Role.REVIEWER),
    )
    assert reviewed.status_code == 200
    assert all(version > seen for version in await asyncio.gather(*waits))
    assert time.monotonic() - started < LONG_WAIT
    await unreachable.close()


async def test_a_server_that_never_answers_does_not_hold_a_wait(
    api: httpx.AsyncClient, settings: Settings, pool: asyncpg.Pool, at_review: str
) -> None:
    """Opening the LISTEN connection runs beside the waits: a silent server delays no one."""
    seen = await _version(api, settings, at_review)
    accepted: list[asyncio.StreamWriter] = []

    async def silent(_reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        accepted.append(writer)  # accepts the connection and never says a word

    server = await asyncio.start_server(silent, "127.0.0.1", 0)
    port = server.sockets[0].getsockname()[1]
    watch = StageWatch(f"postgresql://journeys@127.0.0.1:{port}/nowhere")
    started = time.monotonic()
    assert await watch.wait(pool, at_review, after=seen, at_most=0.5) == seen
    assert time.monotonic() - started < CONNECT_SECONDS, "not held by the connection attempt"
    assert accepted, "the watch did try to connect"
    await watch.close()
    server.close()
    for writer in accepted:
        writer.close()
