"""The public form's rate limit: one count in PostgreSQL that every API replica shares."""

import uuid
from collections.abc import AsyncIterator, Callable
from contextlib import AsyncExitStack
from datetime import UTC, datetime, timedelta

import asyncpg
import httpx
import pytest

from api.app import create_app
from api.ratelimit import WINDOW, limit_subject, retry_after
from audit.log import address_key, address_tag
from db.rate_limits import FormRateLimitRepository, WindowCount
from devstack.postgres import EmbeddedPostgres
from settings import Settings
from tests.helpers import valid_form

# The start of a minute: windows are minutes counted from the Unix epoch.
T0 = datetime(2026, 11, 30, 9, 0, tzinfo=UTC)
CLIENT = "198.51.100.7"
OTHER_CLIENT = "198.51.100.8"

Replicas = Callable[[int, str], httpx.AsyncClient]


def _tag(settings: Settings, address: str) -> str:
    return address_tag(address_key(settings.audit_key.get_secret_value().encode()), address)


def _at(seconds: float) -> datetime:
    return T0 + timedelta(seconds=seconds)


async def _keys(pool: asyncpg.Pool) -> dict[str, int]:
    """The submissions counted per client, in whichever minutes the test's requests fell."""
    rows = await pool.fetch(
        "SELECT client_key, sum(hits) AS hits FROM form_rate_limits GROUP BY client_key"
    )
    return {r["client_key"]: r["hits"] for r in rows}


@pytest.fixture
async def replicas(settings: Settings) -> AsyncIterator[Replicas]:
    """Two API replicas on one database, as production runs them behind its proxy; a client
    of either, calling from a given address."""
    async with AsyncExitStack() as stack:
        apps = [create_app(settings), create_app(settings)]
        for app in apps:
            await stack.enter_async_context(app.router.lifespan_context(app))

        def client(replica: int, address: str) -> httpx.AsyncClient:
            transport = httpx.ASGITransport(app=apps[replica], client=(address, 50_000))
            http = httpx.AsyncClient(transport=transport, base_url="http://testserver")
            stack.push_async_callback(http.aclose)
            return http

        yield client


async def test_a_client_at_the_limit_is_refused_by_every_replica(
    replicas: Replicas, settings: Settings, pool: asyncpg.Pool
) -> None:
    limit = settings.form_rate_limit_per_minute
    assert limit >= 4
    first, second = replicas(0, CLIENT), replicas(1, CLIENT)
    key = f"rate-limit-{uuid.uuid4()}"
    accepted = await first.post(
        "/api/v1/inquiries", json=valid_form(), headers={"Idempotency-Key": key}
    )
    assert accepted.status_code == 202, accepted.text
    page = await second.post("/", data={"full_name": "Ana García"})
    assert page.status_code == 422, "a refused form counts as a submission too"
    # The rest of the limit, alternating between the replicas: each sees half of it.
    for n in range(limit - 2):
        http = (first, second)[n % 2]
        answer = await http.post("/api/v1/inquiries", json={"x": 1})
        assert answer.status_code == 422, answer.text
    assert await _keys(pool) == {_tag(settings, CLIENT): limit}

    for http, path in ((first, "/api/v1/inquiries"), (second, "/"), (second, "/api/v1/inquiries")):
        refused = await http.post(path, json={"x": 1})
        assert refused.status_code == 429, (path, refused.text)
        assert refused.headers["content-type"] == "application/problem+json"
        problem = refused.json()
        assert problem["title"] == "Too many requests"
        assert f"at most {limit} submissions a minute" in problem["detail"]
        retry = int(refused.headers["Retry-After"])
        assert 0 < retry <= 2 * WINDOW.total_seconds()
        assert f"try again in {retry} s" in problem["detail"]
    assert await _keys(pool) == {_tag(settings, CLIENT): limit}, "refusals are not counted"
    assert await pool.fetchval("SELECT count(*) FROM inquiries") == 1


async def test_clients_are_counted_apart_under_tags_not_addresses(
    replicas: Replicas, settings: Settings, pool: asyncpg.Pool
) -> None:
    limit = settings.form_rate_limit_per_minute
    for _ in range(limit):
        assert (await replicas(0, CLIENT).post("/api/v1/inquiries", json={})).status_code == 422
    assert (await replicas(1, CLIENT).post("/api/v1/inquiries", json={})).status_code == 429
    other = await replicas(1, OTHER_CLIENT).post("/api/v1/inquiries", json={})
    assert other.status_code == 422, "another client has its own count"
    # Two addresses of one IPv6 subscriber's /64 are one client; another /64 is another.
    for address in ("2001:db8:0:1::a", "2001:db8:0:1::b"):
        assert (await replicas(0, address).post("/api/v1/inquiries", json={})).status_code == 422
    assert (await replicas(1, "2001:db8:0:2::a").post("/", data={})).status_code == 422

    assert await _keys(pool) == {
        _tag(settings, CLIENT): limit,
        _tag(settings, OTHER_CLIENT): 1,
        _tag(settings, "2001:db8:0:1::/64"): 2,
        _tag(settings, "2001:db8:0:2::/64"): 1,
    }
    # The same tag as the audit log's rows of the same requests.
    rows = await pool.fetch(
        "SELECT DISTINCT source FROM audit_log WHERE action = 'POST /api/v1/inquiries'"
    )
    sources = {r["source"] for r in rows}
    assert {_tag(settings, CLIENT), _tag(settings, OTHER_CLIENT)} <= sources
    stored = " ".join(await _keys(pool))
    assert "198.51.100" not in stored and "2001:db8" not in stored


async def test_old_counts_are_pruned_as_submissions_come(
    replicas: Replicas, settings: Settings, pool: asyncpg.Pool
) -> None:
    await pool.execute(
        """INSERT INTO form_rate_limits (client_key, window_start, hits)
           SELECT key, date_bin('1 minute', now(), 'epoch') - age, 1
             FROM (VALUES ('addr:an-hour-ago', interval '1 hour'),
                          ('addr:three-minutes-ago', interval '3 minutes')) AS old (key, age)"""
    )
    assert (await replicas(0, CLIENT).post("/api/v1/inquiries", json={})).status_code == 422
    assert await _keys(pool) == {_tag(settings, CLIENT): 1}


async def test_without_postgresql_no_submission_is_taken(
    api: httpx.AsyncClient,
    settings: Settings,
    pool: asyncpg.Pool,
    pg_server: EmbeddedPostgres,
) -> None:
    name = await pool.fetchval("SELECT current_database()")
    admin = await asyncpg.connect(pg_server.get_uri())
    try:
        await admin.execute(f"ALTER DATABASE {name} ALLOW_CONNECTIONS false")
        await admin.fetch(
            """SELECT pg_terminate_backend(pid) FROM pg_stat_activity
                WHERE datname = $1 AND pid <> pg_backend_pid()""",
            name,
        )
        # The form page is not audited, so its answer is the limit's own.
        refused = await api.post("/", data={"full_name": "Ana García"})
        assert refused.status_code == 503, refused.text
        assert refused.headers["content-type"] == "application/problem+json"
        assert refused.headers["Retry-After"] == "5"
        assert "Ana" not in refused.text
    finally:
        await admin.execute(f"ALTER DATABASE {name} ALLOW_CONNECTIONS true")
        await admin.close()
    again = await api.post("/", data={"full_name": "Ana García"})
    assert again.status_code == 422, "counted again once PostgreSQL answers"
    # httpx's in-process transport calls from 127.0.0.1.
    assert await _keys(pool) == {_tag(settings, "127.0.0.1"): 1}


async def _count(
    pool: asyncpg.Pool, at: datetime, *, limit: int, key: str = "addr:test"
) -> WindowCount:
    async with pool.acquire() as conn:
        return await FormRateLimitRepository(conn).count(
            client_key=key, limit=limit, window=WINDOW, at=at
        )


async def test_a_window_counts_up_to_its_limit(pool: asyncpg.Pool) -> None:
    counts = [await _count(pool, _at(10 + n), limit=3) for n in range(3)]
    assert [(c.counted, c.current, c.previous) for c in counts] == [
        (True, 1, 0),
        (True, 2, 0),
        (True, 3, 0),
    ]
    refused = await _count(pool, _at(20), limit=3)
    assert (refused.counted, refused.current, refused.elapsed) == (False, 3, 20)
    other = await _count(pool, _at(20), limit=3, key="addr:other")
    assert other.counted and other.current == 1


async def test_the_minute_before_still_counts_in_proportion(pool: asyncpg.Pool) -> None:
    for n in range(8):
        assert (await _count(pool, _at(50 + n / 10), limit=10)).counted
    # 15 s into the next minute, 45 s of the sliding minute lie in the one before: its 8
    # count as 8 x 0.75 = 6, which leaves 4 places below 10.
    later = [await _count(pool, _at(75), limit=10) for _ in range(5)]
    assert [c.counted for c in later] == [True, True, True, True, False]
    assert (later[-1].current, later[-1].previous) == (4, 8)
    # Two minutes on, nothing before counts.
    assert (await _count(pool, _at(185), limit=10)).previous == 0


@pytest.mark.parametrize(
    ("before", "now", "limit"),
    [
        # The current minute full: 10 at 0:50, refused at 0:55.
        ([50.0] * 10, 55.0, 10),
        # The minute before carried: 8 at 0:50, then 2 at 1:05 and refused at 1:05.
        ([50.0] * 8 + [65.0] * 2, 65.0, 10),
        # A limit of one, sent at a minute's last second.
        ([59.5], 59.9, 1),
        ([20.0] * 4 + [70.0], 70.0, 5),
    ],
)
async def test_retry_after_is_when_the_next_submission_is_counted(
    pool: asyncpg.Pool, before: list[float], now: float, limit: int
) -> None:
    for seconds in before:
        assert (await _count(pool, _at(seconds), limit=limit)).counted
    refused = await _count(pool, _at(now), limit=limit)
    assert not refused.counted
    retry = retry_after(refused, limit=limit)
    assert not (await _count(pool, _at(now + retry - 1), limit=limit)).counted
    assert (await _count(pool, _at(now + retry), limit=limit)).counted


async def test_pruning_keeps_the_windows_still_read(pool: asyncpg.Pool) -> None:
    starts = {"addr:a": -180, "addr:b": -121, "addr:c": -60, "addr:d": 0}
    await pool.executemany(
        "INSERT INTO form_rate_limits (client_key, window_start, hits) VALUES ($1, $2, 1)",
        [(key, _at(seconds)) for key, seconds in starts.items()],
    )
    async with pool.acquire() as conn:
        pruned = await FormRateLimitRepository(conn).prune(window=WINDOW, at=_at(30))
    assert pruned == 2
    assert set(await _keys(pool)) == {"addr:c", "addr:d"}


def test_a_client_is_its_address_or_its_ipv6_64() -> None:
    assert limit_subject("198.51.100.7") == "198.51.100.7"
    assert limit_subject("2001:db8:0:1:aaaa::1") == "2001:db8:0:1::/64"
    assert limit_subject("::ffff:198.51.100.7") == "198.51.100.7"
    assert limit_subject(None) == "unknown"
    assert limit_subject("testclient") == "testclient"


def test_retry_after_when_other_replicas_filled_the_window_unseen() -> None:
    # Refused with nothing carried and room left as the statement read it: replicas filled
    # the window meanwhile, so the wait is the full window's.
    count = WindowCount(counted=False, current=4, previous=0, elapsed=40.0)
    assert retry_after(count, limit=10) == 26
