"""The benchmarks of what journeys hold and cost to keep: their histories' size, the replay
of those histories, the worker's memory per waiting journey, and the local stack's start-up.

Each beside its baseline in the same run; `bench.report` turns the figures into RESULTS.md.
"""

import asyncio
import contextlib
import math
import os
import signal
import statistics
import sys
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import psutil
from temporalio.client import Client, WorkflowHistory
from temporalio.converter import DataConverter
from temporalio.worker import WorkflowRunner
from temporalio.worker.workflow_sandbox import SandboxedWorkflowRunner

from audit.replay import history_files, load_history_file, replay_histories
from bench.baseline import BASELINE_WORKFLOWS
from bench.baseline_models import BaselinePlan, BaselineStatus
from bench.drivers import inquiry_form
from bench.histories import RunStats, run_stats, workflow_runs, write_corpus
from bench.measure import bounded, median, orchestration_stack
from bench.stack import ROOT, BenchStack
from devstack.ports import answers, free_port
from devstack.processes import Child
from workflows.registry import workflow_runner


async def fetch_runs(client: Client, workflow_ids: list[str]) -> list[list[WorkflowHistory]]:
    return list(
        await bounded(len(workflow_ids), 8, lambda i: workflow_runs(client, workflow_ids[i]))
    )


def stats_of(runs: list[list[WorkflowHistory]]) -> list[list[RunStats]]:
    return [[run_stats(h) for h in chain] for chain in runs]


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
