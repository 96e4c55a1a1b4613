"""The benchmarks, each against its baseline in the same run, on the same server and settings.

Every function returns plain figures; `bench.report` turns them into RESULTS.md.
"""

import asyncio
import contextlib
import functools
import json
import math
import os
import signal
import statistics
import sys
import time
import uuid
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TypeVar

import asyncpg
import psutil
from temporalio.client import Client, WorkflowHistory
from temporalio.converter import DataConverter
from temporalio.worker import WorkflowRunner
from temporalio.worker.workflow_sandbox import SandboxedWorkflowRunner

from api.intake import start_journey
from audit.replay import history_files, load_history_file, replay_histories
from bench.baseline import BASELINE_WORKFLOWS, TrivialWorkflow
from bench.baseline_models import BaselinePlan, BaselineStatus, TrivialInput
from bench.cpu import CpuMeter, this_process
from bench.drivers import DriveResult, JourneyActors, drive_baseline, inquiry_form
from bench.histories import RunStats, baseline_plan, run_stats, workflow_runs, write_corpus
from bench.loadgen import Pool
from bench.stack import ROOT, Api, BenchStack, TemporalServer
from db.intake import StoredInquiry
from devstack.ports import answers, free_port
from devstack.processes import Child
from domain.policy import JourneyPolicy
from settings import Settings
from workflows.registry import workflow_runner

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


# --------------------------------------------------------------------------- statistics
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


# ------------------------------------------------------------------------------- intake
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


# ------------------------------------------------------------------------ orchestration
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


# ------------------------------------------------------------------------------ history
async def fetch_runs(client: Client, workflow_ids: list[str]) -> list[list[WorkflowHistory]]:
    return list(
        await bounded(len(workflow_ids), 8, lambda i: workflow_runs(client, workflow_ids[i]))
    )


def stats_of(runs: list[list[WorkflowHistory]]) -> list[list[RunStats]]:
    return [[run_stats(h) for h in chain] for chain in runs]


# ------------------------------------------------------------------------------- replay
@dataclass
class ReplayCorpus:
    name: str
    runs: int
    events: int
    seconds: list[float]
    failures: int

    @property
    def rate(self) -> float:
        return self.runs / median(self.seconds)

    @property
    def events_rate(self) -> float:
        return self.events / median(self.seconds)


def _load(folder: Path) -> list[WorkflowHistory]:
    return [h for path in history_files(folder) for h in load_history_file(path)]


def replay_runner(kind: str) -> WorkflowRunner | None:
    """The replayer's sandbox: the project's runner (None), the SDK's default one ("plain"),
    or the project's with the workflow code re-imported per run ("per-run")."""
    if kind == "per-run":
        return workflow_runner(reimport_workflows=True)
    if kind == "plain":
        return SandboxedWorkflowRunner()
    return None


async def measure_replay(
    name: str,
    folder: Path,
    *,
    repeats: int,
    workflows: list[type] | None = None,
    runner: str = "project",
    data_converter: DataConverter | None = None,
) -> ReplayCorpus:
    """Replay a corpus folder as `journeys replay --path` does: load the files, replay all;
    `data_converter` holds the key the bench's histories are encrypted under."""
    seconds, failures, runs, events = [], 0, 0, 0
    for _ in range(repeats):
        started = time.monotonic()
        histories = await asyncio.to_thread(_load, folder)
        report = await replay_histories(
            histories,
            workflows=workflows,
            runner=replay_runner(runner),
            data_converter=data_converter,
        )
        seconds.append(time.monotonic() - started)
        failures = report.failed
        runs, events = len(histories), sum(len(h.events) for h in histories)
    return ReplayCorpus(name=name, runs=runs, events=events, seconds=seconds, failures=failures)


def write_corpora(
    journeys: list[list[WorkflowHistory]], baselines: list[list[WorkflowHistory]], root: Path
) -> tuple[Path, Path]:
    jdir, bdir = root / "corpus-journeys", root / "corpus-baselines"
    write_corpus([h for chain in journeys for h in chain], jdir)
    write_corpus([h for chain in baselines for h in chain], bdir)
    return jdir, bdir


BASELINE_REPLAY = list(BASELINE_WORKFLOWS)


# ------------------------------------------------------------------------------- memory
@dataclass
class MemoryResult:
    waiting: int
    journey_rss_before: int
    journey_rss_after: int
    baseline_rss_before: int
    baseline_rss_after: int
    journey_seconds: float
    baseline_seconds: float
    sandbox: str = "project"
    options: dict[str, Any] = field(default_factory=dict)

    @property
    def journey_kib(self) -> float:
        return (self.journey_rss_after - self.journey_rss_before) / self.waiting / 1024

    @property
    def baseline_kib(self) -> float:
        return (self.baseline_rss_after - self.baseline_rss_before) / self.waiting / 1024


def _rss(child: Child) -> int:
    return int(psutil.Process(child.process.pid).memory_info().rss)


async def _quiet(child: Child, *, below: float = 3.0, within: float = 300.0) -> None:
    """Until the process has used under `below` % of a core for two seconds running."""
    process = psutil.Process(child.process.pid)
    deadline = time.monotonic() + within
    calm = 0
    while calm < 2 and time.monotonic() < deadline:
        busy = await asyncio.to_thread(process.cpu_percent, 1.0)
        calm = calm + 1 if busy < below else 0


async def _settled_rss(child: Child) -> int:
    await _quiet(child)
    samples = []
    for _ in range(3):
        samples.append(_rss(child))
        await asyncio.sleep(0.3)
    return int(statistics.median(samples))


def waiting_plan(plan: BaselinePlan) -> tuple[BaselinePlan, int]:
    """The baseline up to its first wait for a person: where the journey waits on a reviewer."""
    first = next(i for i, op in enumerate(plan.ops) if op.startswith("w"))
    return BaselinePlan(ops=plan.ops[: first + 1]), first


async def measure_memory(
    stack: BenchStack,
    *,
    waiting: int,
    plan: BaselinePlan,
    options: dict[str, Any],
    sandbox: str = "project",
    baseline: bool = True,
    say: Callable[[str], None] = print,
) -> MemoryResult:
    """Worker RSS before and after `waiting` journeys wait on the reviewer; the same for
    baselines waiting on their first update. One worker process each, nothing else in it."""
    opts = dict(options, sandbox=sandbox)
    wait_plan, position = waiting_plan(plan)
    async with orchestration_stack(stack, opts, name="memory") as o:
        client = o.server.client
        queue = o.journeys.task_queue
        reviewer = f"TaskQueue='{queue}' AND WaitingOn='reviewer'"

        async def reviewers() -> int:
            return int((await client.count_workflows(reviewer)).count)

        async def open_journeys(count: int, start: int) -> float:
            started = time.monotonic()

            async def submit(i: int) -> None:
                answer = await o.api.http.post(
                    "/api/v1/inquiries",
                    json=inquiry_form(start + i),
                    headers={"Idempotency-Key": f"mem-{queue}-{start + i}"},
                )
                if answer.status_code != 202:
                    raise RuntimeError(f"{answer.status_code} {answer.text[:200]}")

            await bounded(count, 16, submit)
            while True:
                if await reviewers() >= start + count:
                    return time.monotonic() - started
                await asyncio.sleep(0.5)

        handles: list[Any] = []

        async def open_baselines(count: int) -> float:
            started = time.monotonic()

            async def begin(_: int) -> None:
                handles.append(
                    await client.start_workflow(
                        "BaselineJourney",
                        wait_plan,
                        id=f"baseline-wait-{uuid.uuid4()}",
                        task_queue=o.baselines.task_queue,
                    )
                )

            await bounded(count, 16, begin)

            async def at_wait(i: int) -> bool:
                status = await handles[i].query("status", result_type=BaselineStatus)
                return bool(status.position == position)

            pending = list(range(len(handles)))
            while pending:

                async def check(k: int, waiting: list[int] = pending) -> bool:
                    return await at_wait(waiting[k])

                ready = await bounded(len(pending), 32, check)
                pending = [i for i, ok in zip(pending, ready, strict=True) if not ok]
                if pending:
                    await asyncio.sleep(0.5)
            return time.monotonic() - started

        await open_journeys(1, 0)
        await open_baselines(1)
        j0 = await _settled_rss(o.journey_worker)
        b0 = await _settled_rss(o.baseline_worker)
        j_seconds = await open_journeys(waiting, 1)
        j1 = await _settled_rss(o.journey_worker)
        say(f"    memory: {waiting} journeys waiting on the reviewer after {j_seconds:.0f} s")
        b_seconds, b1 = math.nan, b0
        if baseline:
            b_seconds = await open_baselines(waiting)
            b1 = await _settled_rss(o.baseline_worker)
    return MemoryResult(
        waiting=waiting,
        journey_rss_before=j0,
        journey_rss_after=j1,
        baseline_rss_before=b0,
        baseline_rss_after=b1,
        journey_seconds=j_seconds,
        baseline_seconds=b_seconds,
        sandbox=sandbox,
        options=opts,
    )


# ------------------------------------------------------------------------------ start-up
@dataclass
class StartupResult:
    cold: list[float]
    warm: list[float]
    stops: list[float]
    errors: list[str]


def _stray_postgres(state: Path) -> None:
    """`journeys dev` daemonizes PostgreSQL; if it is still up after the stack stopped (it
    should not be), stop it, so the benchmark leaves no process behind."""
    pid_file = state / "pgdata" / "postmaster.pid"
    with contextlib.suppress(OSError, ValueError, IndexError, psutil.Error):
        pid = int(pid_file.read_text().split()[0])
        process = psutil.Process(pid)
        process.terminate()
        process.wait(20)


async def _one_start(state: Path) -> tuple[float, float]:
    ports = {
        "JOURNEYS_TEMPORAL_PORT": free_port(),
        "JOURNEYS_TEMPORAL_UI_PORT": free_port(),
        "JOURNEYS_API_PORT": free_port(),
        "JOURNEYS_SMTP_PORT": free_port(),
        "JOURNEYS_CALDAV_PORT": free_port(),
    }
    env = {k: v for k, v in os.environ.items() if not k.startswith("JOURNEYS_")}
    env.update({k: str(v) for k, v in ports.items()})
    env["JOURNEYS_WORKER_METRICS_ADDRESS"] = f"127.0.0.1:{free_port()}"
    env["JOURNEYS_API_METRICS_ADDRESS"] = f"127.0.0.1:{free_port()}"
    env["JOURNEYS_STATE_DIR"] = str(state)
    env["PYTHONUNBUFFERED"] = "1"
    started = time.monotonic()
    process = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "cli",
        "dev",
        cwd=ROOT,
        env=env,
        stdin=asyncio.subprocess.DEVNULL,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.STDOUT,
        start_new_session=True,
    )
    assert process.stdout is not None
    ready = math.nan
    lines: list[str] = []
    try:
        while True:
            line = await asyncio.wait_for(process.stdout.readline(), timeout=180)
            if not line:
                raise RuntimeError("journeys dev exited:\n" + "".join(lines[-15:]))
            lines.append(line.decode(errors="replace"))
            if b"Press Ctrl-C to stop." in line:
                ready = time.monotonic() - started
                break
        for name, port in ports.items():
            if not answers(port):
                raise RuntimeError(f"{name}={port} does not answer after the READY line")
    finally:
        stop_started = time.monotonic()
        if process.returncode is None:
            with contextlib.suppress(ProcessLookupError):
                process.send_signal(signal.SIGINT)

            async def drain() -> None:
                assert process.stdout is not None
                while await process.stdout.readline():
                    pass

            try:
                await asyncio.wait_for(asyncio.gather(drain(), process.wait()), timeout=90)
            except TimeoutError:
                with contextlib.suppress(ProcessLookupError):
                    os.killpg(process.pid, signal.SIGKILL)
                await process.wait()
        stopped = time.monotonic() - stop_started
        await asyncio.to_thread(_stray_postgres, state)
    return ready, stopped


async def measure_startup(
    root: Path, *, repeats: int, say: Callable[[str], None] = print
) -> StartupResult:
    """Seconds from `journeys dev` to its READY line (every address answering), on a fresh
    state folder (first start: initdb, migrations) and again on the same one (warm)."""
    result = StartupResult(cold=[], warm=[], stops=[], errors=[])
    for r in range(repeats):
        state = root / f"dev-{r}"
        for kind in ("cold", "warm"):
            # A failed start is reported, then tried once more (on a shared machine a port
            # picked as free can be taken before the server binds it).
            for attempt in (1, 2):
                try:
                    ready, stopped = await _one_start(state)
                    break
                except Exception as err:
                    result.errors.append(
                        f"{kind} {r + 1}, attempt {attempt}: {type(err).__name__}: {str(err)[:300]}"
                    )
                    say(f"    start-up {kind} {r + 1} failed: {result.errors[-1]}")
            else:
                continue
            (result.cold if kind == "cold" else result.warm).append(ready)
            result.stops.append(stopped)
            say(f"    start-up {kind} {r + 1}: {ready:.1f} s (stopped in {stopped:.1f} s)")
    return result
