"""The staff console's reads at scale: the worklist page and the case page, against the Temporal
visibility query that answers the worklist's question from the server.

Journeys are written straight into PostgreSQL for the size (as the workflows' projection would
leave them), and as many workflows are started on a dev server of this section's own with the
same search attributes set at start (bench/console_seed.py: a workflow type no worker runs;
visibility holds the same rows a journey's upserts would leave, without the cost of running
10,000 journeys). A few real
journeys, started through the API and waiting on the reviewer, give the case page something
to read from Temporal (its status query and its histories).

Every figure is one request at a time (latency, not throughput), the kinds taken in turn so
that drift on the machine favours none.
"""

import asyncio
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import asyncpg
from temporalio.client import Client

from api.console.session import COOKIE_NAME, SessionStore
from api.tokens import Principal, mint_staff_token
from audit.timeline import journey_histories
from bench.console_seed import journey_row, question, same_answer, seed_postgres, start_workflows
from bench.drivers import inquiry_form
from bench.loadgen import Pool
from bench.measure import WORKER_OPTIONS, median, orchestration_stack
from bench.stack import BenchStack, ServerVariant
from domain.actors import Actor, Role
from domain.names import journey_workflow_id
from settings import Settings

REVIEWER = ("demo-reviewer", "Dr. Omar Haddad")
PAGE = 25
READ_TIMEOUT = 120.0


@dataclass
class Reads:
    """One kind of read: each answer's seconds, and what went wrong."""

    label: str
    seconds: list[float] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)


@dataclass
class SizeReads:
    """The reads at one size: how many journeys, the question's answer on both sides."""

    journeys: int
    workflows: int
    answer_postgres: int
    answer_visibility: int
    reads: dict[str, Reads]
    seed_seconds: float = 0.0
    start_seconds: float = 0.0


@dataclass
class ConsoleReadsResult:
    requests: int
    sizes: list[SizeReads]
    case_journeys: int
    case_reads: dict[str, Reads]


# The reads of each size, by key; the report names and orders them.
WORKLIST = "worklist"
WORKLIST_DEFAULT = "worklist_default"
API_LIST = "api_list"
VISIBILITY_LIST = "visibility_list"
VISIBILITY_COUNT = "visibility_count"
VISIBILITY_BOTH = "visibility_both"
CASE_PAGE = "case_page"
CASE_API = "case_api"
CASE_TEMPORAL = "case_temporal"


async def _timed(reads: Reads, read: Callable[[], Awaitable[None]]) -> None:
    started = time.perf_counter()
    try:
        await asyncio.wait_for(read(), READ_TIMEOUT)
    except Exception as err:
        reads.errors.append(f"{type(err).__name__}: {str(err)[:200]}")
        return
    reads.seconds.append(time.perf_counter() - started)


async def _rounds(
    kinds: dict[str, Callable[[], Awaitable[None]]], *, rounds: int, labels: dict[str, str]
) -> dict[str, Reads]:
    """Each kind once a round, in a turning order; three warm-up rounds first, not counted."""
    names = list(kinds)
    for _ in range(3):
        for name in names:
            await kinds[name]()
    out = {name: Reads(labels[name]) for name in names}
    for r in range(rounds):
        turn = names[r % len(names) :] + names[: r % len(names)]
        for name in turn:
            await _timed(out[name], kinds[name])
    return out


async def _session_cookie(reader: "_Reader") -> dict[str, str]:
    """A signed-in reviewer's console session, started on the server as signing in starts one
    (its idle timeout counts from now)."""
    store = SessionStore.from_settings(reader.settings)
    staff_id, name = REVIEWER
    principal = Principal(actor=Actor(id=staff_id, role=Role.REVIEWER), name=name)
    session = await store.start(
        reader.pool, principal=principal, method="development", language=None
    )
    return {"Cookie": f"{COOKIE_NAME}={store.codec.dumps(session)}"}


def _ok(status: int, body: bytes, what: str) -> None:
    if status != 200:
        raise RuntimeError(f"{what}: {status} {body[:200]!r}")


async def _real_journeys(http: Any, settings: Settings, count: int) -> list[str]:
    """`count` journeys through the API, once each waits on the reviewer."""
    token = mint_staff_token(settings, subject="bench", name="bench", role=Role.COORDINATOR)
    ids = []
    for n in range(count):
        answer = await http.post("/api/v1/inquiries", json=inquiry_form(900_000 + n))
        answer.raise_for_status()
        ids.append(answer.json()["journey_id"])
    deadline = time.monotonic() + 180
    for jid in ids:
        while True:
            status = await http.get(
                f"/api/v1/journeys/{jid}", headers={"Authorization": f"Bearer {token}"}
            )
            if status.status_code == 200 and status.json().get("waiting_on") == "reviewer":
                break
            if time.monotonic() > deadline:
                raise RuntimeError(f"journey {jid} did not reach the reviewer: {status.text}")
            await asyncio.sleep(0.2)
    return ids


@dataclass
class _Reader:
    """What the reads need: the API's address and settings, the server's client, the pool."""

    settings: Settings
    client: Client
    pool: asyncpg.Pool

    @property
    def api_headers(self) -> dict[str, str]:
        staff_id, name = REVIEWER
        token = mint_staff_token(self.settings, subject=staff_id, name=name, role=Role.REVIEWER)
        return {"Authorization": f"Bearer {token}"}

    def connection(self) -> Pool:
        """A fresh keep-alive connection for one phase: the API closes one left idle (as
        while the next size is seeded)."""
        return Pool(self.settings.api_host, self.settings.api_port, 1)


async def _grow(reader: _Reader, seeded: int, size: int, say: Callable[[str], None]) -> SizeReads:
    """Journeys `seeded` to `size` into PostgreSQL and as workflows; the answer on both sides."""
    now = datetime.now(UTC)
    rows = [journey_row(i, now) for i in range(seeded, size)]
    started = time.monotonic()
    await seed_postgres(reader.pool, rows)
    seed_seconds = time.monotonic() - started
    started = time.monotonic()
    await start_workflows(reader.client, rows)
    start_seconds = time.monotonic() - started
    say(
        f"    console: {size:,} journeys (PostgreSQL {seed_seconds:.1f} s, "
        f"{len(rows):,} workflows started in {start_seconds:.1f} s)"
    )
    postgres, visible = await same_answer(reader.pool, reader.client)
    return SizeReads(
        journeys=size,
        workflows=size,
        answer_postgres=postgres,
        answer_visibility=visible,
        reads={},
        seed_seconds=seed_seconds,
        start_seconds=start_seconds,
    )


async def _list_reads(reader: _Reader, requests: int) -> dict[str, Reads]:
    """The worklist's question from the console, the API and visibility, in turn."""
    client, load = reader.client, reader.connection()
    cookie, api_headers = await _session_cookie(reader), reader.api_headers

    async def get(path: str, headers: dict[str, str]) -> None:
        status, body = await load.get(path, headers)
        _ok(status, body, path)

    async def visibility_list() -> None:
        async for _ in client.list_workflows(
            question(datetime.now(UTC)), page_size=PAGE, limit=PAGE
        ):
            pass

    async def visibility_count() -> None:
        await client.count_workflows(question(datetime.now(UTC)))

    async def visibility_both() -> None:
        await visibility_list()
        await visibility_count()

    api_path = f"/api/v1/journeys?waiting_on=reviewer&overdue=true&limit={PAGE}"
    try:
        return await _rounds(
            {
                WORKLIST: lambda: get("/staff/?waiting_on=reviewer&overdue=yes", cookie),
                WORKLIST_DEFAULT: lambda: get("/staff/", cookie),
                API_LIST: lambda: get(api_path, api_headers),
                VISIBILITY_LIST: visibility_list,
                VISIBILITY_COUNT: visibility_count,
                VISIBILITY_BOTH: visibility_both,
            },
            rounds=requests,
            labels=LABELS,
        )
    finally:
        await load.close()


async def _case_reads(reader: _Reader, real: list[str], requests: int) -> dict[str, Reads]:
    """The case page of the real journeys in turn, the API's case file, and Temporal's part."""
    client, load = reader.client, reader.connection()
    cookie, api_headers = await _session_cookie(reader), reader.api_headers
    turn = {"n": 0}

    def next_journey() -> str:
        turn["n"] += 1
        return real[turn["n"] % len(real)]

    async def get(path: str, headers: dict[str, str]) -> None:
        status, body = await load.get(path, headers)
        _ok(status, body, path)

    async def case_temporal() -> None:
        jid = next_journey()
        await client.get_workflow_handle(journey_workflow_id(jid)).query("status")
        await journey_histories(client, jid)

    try:
        return await _rounds(
            {
                CASE_PAGE: lambda: get(f"/staff/journeys/{next_journey()}", cookie),
                CASE_API: lambda: get(f"/api/v1/journeys/{next_journey()}/case", api_headers),
                CASE_TEMPORAL: case_temporal,
            },
            rounds=requests,
            labels=LABELS,
        )
    finally:
        await load.close()


async def measure_console_reads(
    stack: BenchStack,
    *,
    sizes: tuple[int, ...],
    requests: int,
    journeys: int,
    say: Callable[[str], None] = print,
) -> ConsoleReadsResult:
    server = await stack.start_temporal(ServerVariant(), name="temporal-console")
    try:
        async with orchestration_stack(stack, WORKER_OPTIONS, server=server, name="console") as o:
            reader = _Reader(settings=o.journeys, client=server.client, pool=o.pool)
            real = await _real_journeys(o.api.http, o.journeys, journeys)
            say(f"    console: {len(real)} journeys waiting on the reviewer through the API")
            results: list[SizeReads] = []
            seeded = 0
            for size in sizes:
                grown = await _grow(reader, seeded, size, say)
                seeded = size
                grown.journeys = grown.workflows = size + len(real)
                grown.reads = await _list_reads(reader, requests)
                results.append(grown)
                say(
                    f"    console at {size:,}: worklist "
                    f"{median(grown.reads[WORKLIST].seconds) * 1000:.1f} ms, visibility "
                    f"{median(grown.reads[VISIBILITY_BOTH].seconds) * 1000:.1f} ms"
                )
            case_reads = await _case_reads(reader, real, requests)
    finally:
        server.child.stop()
    return ConsoleReadsResult(
        requests=requests, sizes=results, case_journeys=len(real), case_reads=case_reads
    )


LABELS = {
    WORKLIST: "console worklist page, the question (`/staff/?waiting_on=reviewer&overdue=yes`)",
    WORKLIST_DEFAULT: "console worklist page, the reviewer's first page (`/staff/`)",
    API_LIST: "API list, the question (`GET /api/v1/journeys?waiting_on=reviewer&overdue=true`)",
    VISIBILITY_LIST: "visibility: the question's first page of 25 (`ListWorkflowExecutions`)",
    VISIBILITY_COUNT: "visibility: the question's count (`CountWorkflowExecutions`)",
    VISIBILITY_BOTH: "visibility: first page and count, one after the other",
    CASE_PAGE: "console case page (`/staff/journeys/{id}`)",
    CASE_API: "API case file (`GET /api/v1/journeys/{id}/case`, no timeline)",
    CASE_TEMPORAL: "Temporal alone: the status query and the histories the page reads",
}
