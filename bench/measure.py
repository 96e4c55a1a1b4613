"""The benchmarks, each against its baseline in the same run, on the same server and settings.

Every function returns plain figures; `bench.report` turns them into RESULTS.md.
"""

import asyncio
import contextlib
import functools
import json
import math
import statistics
import time
import uuid
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any, TypeVar

import asyncpg

from api.intake import start_journey
from bench.baseline import TrivialWorkflow
from bench.baseline_models import BaselinePlan, TrivialInput
from bench.cpu import CpuMeter, this_process
from bench.drivers import DriveResult, JourneyActors, drive_baseline, inquiry_form
from bench.histories import baseline_plan, workflow_runs
from bench.loadgen import Pool
from bench.stack import Api, BenchStack, TemporalServer
from db.intake import StoredInquiry
from devstack.ports import free_port
from devstack.processes import Child
from domain.policy import JourneyPolicy
from settings import Settings

T = TypeVar("T")

# The Worker options of every worker in the benchmark, journey and baseline alike: the
# project's sticky cache as `journeys worker` ships it (`JOURNEYS_WORKER_CACHED_RUNS`), the
# SDK's defaults otherwise (100 concurrent workflow tasks and activities, 5 pollers each),
# and the project's sandbox runner.
WORKER_OPTIONS: dict[str, Any] = {
    "max_cached_workflows": Settings.model_fields["worker_cached_runs"].default
}
# The worst case for memory: every open run stays cached (the memory benchmark's 1,000
# waiting journeys and the warm-up one).
ALL_CACHED: dict[str, Any] = {"max_cached_workflows": 2000}


@dataclass(frozen=True)
class Size:
    name: str
    repeats: int
    intake_count: int
    intake_concurrency: int
    journeys: int
    waiting: int
    startup_repeats: int
    knobs: bool
    knob_journeys: int = 0
    knob_waiting: int = 0
    knob_intake: int = 0
    # The console's reads (bench/console_reads.py): journeys in PostgreSQL and workflows on
    # the server at each size, requests of each kind, and real journeys for the case page.
    console_sizes: tuple[int, ...] = ()
    console_requests: int = 0
    console_journeys: int = 0


SIZES = {
    "tiny": Size(
        name="tiny",
        repeats=1,
        intake_count=12,
        intake_concurrency=4,
        journeys=2,
        waiting=10,
        startup_repeats=1,
        knobs=False,
        console_sizes=(20, 60),
        console_requests=5,
        console_journeys=1,
    ),
    "full": Size(
        name="full",
        repeats=3,
        intake_count=300,
        intake_concurrency=16,
        journeys=24,
        waiting=1000,
        startup_repeats=3,
        knobs=True,
        knob_journeys=8,
        knob_waiting=200,
        knob_intake=300,
        console_sizes=(1_000, 10_000),
        console_requests=100,
        console_journeys=3,
    ),
}


def median(values: list[float]) -> float:
    return statistics.median(values) if values else math.nan


def p95(values: list[float]) -> float:
    if not values:
        return math.nan
    ordered = sorted(values)
    return ordered[max(0, math.ceil(0.95 * len(ordered)) - 1)]


async def bounded(count: int, concurrency: int, one: Callable[[int], Awaitable[T]]) -> list[T]:
    gate = asyncio.Semaphore(concurrency)

    async def run(i: int) -> T:
        async with gate:
            return await one(i)

    return list(await asyncio.gather(*(run(i) for i in range(count))))


@dataclass
class Burst:
    """Items done together: how long the whole took, each item's latency, and errors."""

    count: int
    seconds: float
    latencies: list[float] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)
    cpu: dict[str, float] = field(default_factory=dict)
    # Mean wall seconds per item spent waiting on each kind of call (orchestration).
    waits: dict[str, float] = field(default_factory=dict)

    @property
    def rate(self) -> float:
        return (self.count - len(self.errors)) / self.seconds if self.seconds else math.nan


async def timed_burst(
    count: int,
    concurrency: int,
    one: Callable[[int], Awaitable[Any]],
    meter: CpuMeter | None = None,
) -> Burst:
    latencies: list[float] = []
    errors: list[str] = []

    async def item(i: int) -> None:
        started = time.monotonic()
        try:
            await one(i)
            latencies.append(time.monotonic() - started)
        except Exception as err:
            errors.append(f"{type(err).__name__}: {str(err)[:200]}")

    before = meter.snapshot() if meter else {}
    started = time.monotonic()
    await bounded(count, concurrency, item)
    seconds = time.monotonic() - started
    cpu = CpuMeter.spent(before, meter.snapshot()) if meter else {}
    return Burst(count=count, seconds=seconds, latencies=latencies, errors=errors, cpu=cpu)


def _pid_of(child: Child) -> list[int]:
    return [child.process.pid]


def meter_for(stack: BenchStack, parts: dict[str, Child | None]) -> CpuMeter:
    meter = CpuMeter()
    assert stack.temporal is not None
    temporal = stack.temporal.child
    meter.add("Temporal server", lambda: [temporal.process.pid])
    meter.add("PostgreSQL", lambda: [p for p in [stack.postmaster_pid] if p])
    for name, child in parts.items():
        if child is not None:
            meter.add(name, functools.partial(_pid_of, child))
    meter.add("bench drivers", this_process)
    return meter


@dataclass
class IntakeResult:
    count: int
    concurrency: int
    api: list[Burst]
    raw: list[Burst]
    # Raw starts of the journey's own workflow, with the arguments the API gives it (input
    # with the policy, search attribute, summary and details, conflict policies): what the
    # server's part of a submission costs, apart from the API's.
    raw_journey: list[Burst] = field(default_factory=list)


async def measure_intake(
    stack: BenchStack,
    *,
    count: int,
    concurrency: int,
    repeats: int,
    server: TemporalServer | None = None,
    diagnose: bool = True,
    say: Callable[[str], None] = print,
) -> IntakeResult:
    """Submissions through `POST /api/v1/inquiries` against raw starts of a trivial workflow.

    No worker polls either task queue: this is the start path only (records, audit row,
    workflow start); what the journey then does is the orchestration benchmark's.
    """
    server = server or stack.temporal
    assert server is not None
    database = await stack.database(f"bench_intake_{uuid.uuid4().hex[:6]}")
    settings = stack.settings(
        database_url=database, task_queue="bench-intake", api_port=free_port(), server=server
    )
    raw_queue = "bench-intake-raw"
    client = server.client
    async with stack.api(settings) as api:
        meter = meter_for(stack, {"API": api.child})
        load = Pool(settings.api_host, settings.api_port, concurrency)
        tag = uuid.uuid4().hex[:6]

        async def submit(i: int, prefix: str) -> None:
            form = inquiry_form(i)
            status, body = await load.post_json(
                "/api/v1/inquiries",
                json.dumps(form).encode(),
                {"Idempotency-Key": f"{prefix}-{tag}-{i}"},
            )
            if status != 202:
                raise RuntimeError(f"{status} {body[:200]!r}")

        async def start_journey_raw(i: int, prefix: str) -> None:
            await start_journey(
                client,
                stored=StoredInquiry(str(uuid.uuid4()), str(uuid.uuid4()), str(uuid.uuid4()), True),
                task_queue=raw_queue,
                policy=JourneyPolicy(),
            )

        async def start(i: int, prefix: str) -> None:
            await client.start_workflow(
                TrivialWorkflow.run,
                TrivialInput(request_id=f"{prefix}-{i}"),
                id=f"raw-{prefix}-{tag}-{i}",
                task_queue=raw_queue,
            )

        try:
            warm = max(4, concurrency)
            await timed_burst(warm, concurrency, lambda i: submit(i, "warm"))
            await timed_burst(warm, concurrency, lambda i: start(i, "warm"))
            result = IntakeResult(count=count, concurrency=concurrency, api=[], raw=[])
            kinds: list[tuple[str, Callable[[int, str], Awaitable[None]], list[Burst]]] = [
                ("api", submit, result.api),
                ("raw", start, result.raw),
            ]
            if diagnose:
                kinds.append(("raw journey start", start_journey_raw, result.raw_journey))
            for r in range(repeats):
                # A different order each repeat, so drift on the machine favours no one.
                turn = kinds[r % len(kinds) :] + kinds[: r % len(kinds)]
                for kind, one, bursts in turn:
                    prefix = f"r{r}-{kind.replace(' ', '-')}"

                    async def item(i: int, one: Any = one, prefix: str = prefix) -> None:
                        await one(i, prefix)

                    burst = await timed_burst(count, concurrency, item, meter)
                    bursts.append(burst)
                    say(f"    intake {kind} repeat {r + 1}: {burst.rate:.1f}/s")
        finally:
            await load.close()
    return result


@dataclass
class OrchestrationResult:
    journeys_per_repeat: int
    journeys: list[Burst]
    baselines: list[Burst]
    calibration: DriveResult
    plan: BaselinePlan
    journey_ids: list[str]
    baseline_ids: list[str]
    requests: list[int]
    polls: list[int]
    server: str = "Temporal dev server (real, SQLite), per-workflow time skipping"


@contextlib.asynccontextmanager
async def orchestration_stack(
    stack: BenchStack,
    options: dict[str, Any],
    server: TemporalServer | None = None,
    name: str = "orch",
) -> Any:
    """API, journey worker and baseline worker on fresh queues and a fresh database."""
    server = server or stack.temporal
    assert server is not None
    suffix = uuid.uuid4().hex[:6]
    database = await stack.database(f"bench_{name}_{suffix}")
    journeys = stack.settings(
        database_url=database,
        task_queue=f"bench-journeys-{suffix}",
        api_port=free_port(),
        server=server,
    )
    baselines = stack.settings(
        database_url=database, task_queue=f"bench-baseline-{suffix}", server=server
    )
    pool = await asyncpg.create_pool(database, min_size=1, max_size=4)
    try:
        async with (
            stack.api(journeys) as api,
            stack.worker("journey", journeys, options) as journey_worker,
            stack.worker("baseline", baselines, options) as baseline_worker,
        ):
            yield _Orchestra(
                api=api,
                pool=pool,
                journeys=journeys,
                baselines=baselines,
                server=server,
                journey_worker=journey_worker,
                baseline_worker=baseline_worker,
            )
    finally:
        await pool.close()


@dataclass
class _Orchestra:
    api: Api
    pool: asyncpg.Pool
    journeys: Settings
    baselines: Settings
    server: TemporalServer
    journey_worker: Child
    baseline_worker: Child
    counter: int = 0

    def actors(self) -> JourneyActors:
        self.counter += 1
        return JourneyActors(
            http=self.api.http,
            settings=self.journeys,
            client=self.server.client,
            skipper=self.server.skipper,
            pool=self.pool,
            n=self.counter,
        )

    async def baseline(self, plan: BaselinePlan, script: Any) -> DriveResult:
        return await drive_baseline(
            client=self.server.client,
            skipper=self.server.skipper,
            task_queue=self.baselines.task_queue,
            plan=plan,
            script=script,
        )


# A journey takes seconds; one that takes this long is stuck, and counts as an error.
DRIVE_TIMEOUT = 900.0


async def _all(
    count: int, one: Callable[[], Awaitable[DriveResult]], meter: CpuMeter
) -> tuple[Burst, list[DriveResult]]:
    results: list[DriveResult] = []

    async def item(_: int) -> None:
        results.append(await asyncio.wait_for(one(), DRIVE_TIMEOUT))

    burst = await timed_burst(count, count, item, meter)
    burst.latencies = [r.seconds for r in results]
    kinds = {k for r in results for k in r.waits}
    burst.waits = {k: statistics.fmean(r.waits.get(k, 0.0) for r in results) for k in sorted(kinds)}
    return burst, results


async def measure_orchestration(
    stack: BenchStack,
    *,
    journeys: int,
    repeats: int,
    options: dict[str, Any],
    server: TemporalServer | None = None,
    calibration: tuple[DriveResult, BaselinePlan] | None = None,
    baselines: bool = True,
    say: Callable[[str], None] = print,
) -> OrchestrationResult:
    """N journeys from inquiry to COMPLETED through the API, against N baselines driven by
    the same script; all N at once, so the rate is what the machine sustains."""
    async with orchestration_stack(stack, options, server) as o:
        meter = meter_for(
            stack,
            {
                "API": o.api.child,
                "journey worker": o.journey_worker,
                "baseline worker": o.baseline_worker,
                "SMTP mailbox": stack.child_named("mailbox"),
                "Radicale": stack.child_named("radicale"),
            },
        )
        if calibration is None:
            # One journey first: it warms every part up, and its history is the baseline's shape.
            first = await asyncio.wait_for(o.actors().run(), DRIVE_TIMEOUT)
            plan = baseline_plan(await workflow_runs(o.server.client, first.workflow_id))
        else:
            first, plan = calibration
            await asyncio.wait_for(o.actors().run(), DRIVE_TIMEOUT)
        if baselines:
            await asyncio.wait_for(o.baseline(plan, first.script), DRIVE_TIMEOUT)
        say(f"    calibration journey: {first.seconds:.1f} s, {len(first.script)} actions")
        journey_bursts, baseline_bursts = [], []
        journey_ids, baseline_ids, requests, polls = [], [], [], []
        for r in range(repeats):
            kinds = ("journey", "baseline") if r % 2 == 0 else ("baseline", "journey")
            for kind in kinds if baselines else ("journey",):
                if kind == "journey":
                    burst, done = await _all(journeys, lambda: o.actors().run(), meter)
                    journey_bursts.append(burst)
                    journey_ids += [d.workflow_id for d in done]
                    requests += [d.requests for d in done]
                    polls += [d.polls for d in done]
                else:
                    burst, done = await _all(
                        journeys, lambda: o.baseline(plan, first.script), meter
                    )
                    baseline_bursts.append(burst)
                    baseline_ids += [d.workflow_id for d in done]
                say(
                    f"    orchestration {kind} repeat {r + 1}: {burst.rate:.3f}/s "
                    f"({burst.seconds:.1f} s, {len(burst.errors)} errors)"
                )
    return OrchestrationResult(
        journeys_per_repeat=journeys,
        journeys=journey_bursts,
        baselines=baseline_bursts,
        calibration=first,
        plan=plan,
        journey_ids=journey_ids,
        baseline_ids=baseline_ids,
        requests=requests,
        polls=polls,
    )
