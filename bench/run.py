"""Run every benchmark and write the report.

    python -m bench.run                       # full size, writes bench/RESULTS.md (make bench)
    python -m bench.run --size tiny --out /tmp/RESULTS.md   # a handful of items (the test)

Everything is real and local, in a temporary folder removed at the end: embedded PostgreSQL,
the Temporal dev server, the SMTP mailbox, Radicale, the API and the workers as processes.
"""

import argparse
import asyncio
import dataclasses
import functools
import shutil
import signal
import statistics
import sys
import tempfile
import time
from collections import Counter
from collections.abc import Callable
from pathlib import Path

from bench.console_reads import measure_console_reads
from bench.footprint import (
    BASELINE_REPLAY,
    fetch_runs,
    measure_memory,
    measure_replay,
    measure_startup,
    stats_of,
    write_corpora,
)
from bench.measure import (
    ALL_CACHED,
    SIZES,
    WORKER_OPTIONS,
    Size,
    measure_intake,
    measure_orchestration,
)
from bench.report import Knob, Results, machine, now, render
from bench.stack import ROOT, BenchStack, ServerVariant, TemporalServer
from devstack.postgres import server_version

DEFAULT_OUT = ROOT / "bench" / "RESULTS.md"
ANALYSIS = ROOT / "bench" / "ANALYSIS.md"
COMMITTED_CORPUS = ROOT / "tests" / "histories"
SECTIONS = ("intake", "orchestration", "memory", "startup", "knobs", "console")


def _say(text: str) -> None:
    print(text, file=sys.stderr, flush=True)


async def _knobs(
    stack: BenchStack, size: Size, results: Results, say: Callable[[str], None]
) -> None:
    """Each setting turned back to its default, one at a time, at a smaller size."""
    o, r = results.orchestration, results
    assert o is not None and stack.temporal is not None
    say("  settings: the workflow sandbox (memory)")
    n = size.knob_waiting

    async def memory(sandbox: str = "project") -> float:
        result = await measure_memory(
            stack,
            waiting=n,
            plan=o.plan,
            options=ALL_CACHED,
            sandbox=sandbox,
            baseline=False,
            say=say,
        )
        return result.journey_kib

    reference = await memory()
    note = f"{n} journeys waiting on the reviewer, every run cached"
    for sandbox, what in [
        (
            "per-run",
            "the workflow code imported afresh in every run's sandbox, as the test suite runs "
            "it (`reimport_workflows=True`)",
        ),
        ("plain", "the SDK's default sandbox (the project's pass-through list dropped)"),
        ("none", "no sandbox (`UnsandboxedWorkflowRunner`)"),
    ]:
        r.knobs.append(
            Knob(
                "workflow sandbox: the project's runner, against " + what,
                "worker KiB per waiting journey",
                reference,
                await memory(sandbox=sandbox),
                "KiB",
                note,
            )
        )
    folder = stack.root.parent / "corpus-journeys"
    # Both runners here, one pass each in turn, so that drift on the machine favours neither.
    rates: dict[str, list[float]] = {"project": [], "plain": [], "per-run": []}
    for _ in range(size.repeats):
        for runner, seen in rates.items():
            replayed = await measure_replay(
                "journeys",
                folder,
                repeats=1,
                runner=runner,
                data_converter=stack.temporal.client.data_converter,
            )
            seen.append(replayed.rate)
    for runner, what in [
        ("plain", "the SDK's default sandbox"),
        ("per-run", "the workflow code imported afresh in every run's sandbox"),
    ]:
        r.knobs.append(
            Knob(
                f"workflow sandbox: the project's runner, against {what}",
                "replay of the journeys' corpus, histories per second",
                statistics.median(rates["project"]),
                statistics.median(rates[runner]),
                "/s",
                f"median of {size.repeats} passes each, taken in turn",
            )
        )

    say("  settings: sticky cache and the server's timer queue (orchestration, journeys only)")
    j = size.knob_journeys
    calibration = (o.calibration, o.plan)

    async def orchestration(
        options: dict[str, object], server: TemporalServer | None = None
    ) -> float:
        result = await measure_orchestration(
            stack,
            journeys=j,
            repeats=1,
            options=options,
            server=server,
            calibration=calibration,
            baselines=False,
            say=say,
        )
        return result.journeys[0].rate

    reference = await orchestration(WORKER_OPTIONS)
    r.knobs.append(
        Knob(
            f"sticky cache: {WORKER_OPTIONS['max_cached_workflows']}, against "
            "`max_cached_workflows=0`",
            f"orchestration, journeys per second ({j} at once)",
            reference,
            await orchestration(dict(WORKER_OPTIONS, max_cached_workflows=0)),
            "/s",
            "without it every workflow task replays the run's whole history",
        )
    )
    slow = await stack.start_temporal(ServerVariant(fast_timers=False), name="temporal-slow")
    try:
        slow_rate = await orchestration(WORKER_OPTIONS, server=slow)
    finally:
        slow.child.stop()
    r.knobs.append(
        Knob(
            "server timer queue: `timerProcessorMaxTimeShift=10ms`, `timerProcessorMaxPollRPS="
            "10000`, against the defaults (1 s, 20 a second)",
            f"orchestration, journeys per second ({j} at once)",
            reference,
            slow_rate,
            "/s",
            "matters only to the clock moves: each skip is a timer task",
        )
    )

    say("  settings: SQLite WAL (intake)")
    intake = results.intake
    assert intake is not None
    # The same submissions against a server without WAL, then against the stack's own.
    knob_intake = functools.partial(
        measure_intake,
        stack,
        count=size.knob_intake,
        concurrency=size.intake_concurrency,
        repeats=1,
        diagnose=False,
        say=say,
    )
    no_wal = await stack.start_temporal(ServerVariant(wal=False), name="temporal-nowal")
    try:
        plain_intake = await knob_intake(server=no_wal)
    finally:
        no_wal.child.stop()
    with_wal = await knob_intake()
    for kind in ("api", "raw"):
        r.knobs.append(
            Knob(
                "SQLite `journal_mode=wal`, `synchronous=normal`",
                "intake, "
                + ("journey submissions" if kind == "api" else "raw starts")
                + " per second",
                getattr(with_wal, kind)[0].rate,
                getattr(plain_intake, kind)[0].rate,
                "/s",
                f"{size.knob_intake} submissions, {size.intake_concurrency} at a time; "
                "SQLite's rollback journal and synchronous=full without it",
            )
        )


async def run(
    size: Size, out: Path, sections: set[str], keep: bool, profile: Path | None = None
) -> Results:
    # SIGTERM (a CI timeout, `kill`) cancels like Ctrl-C does, so every process is stopped.
    task = asyncio.current_task()
    assert task is not None
    asyncio.get_running_loop().add_signal_handler(signal.SIGTERM, task.cancel)
    started = time.monotonic()
    results = Results(size=size, started=now(), worker_options=dict(WORKER_OPTIONS))
    root = Path(tempfile.mkdtemp(prefix="journeys-bench-"))
    _say(f"bench ({size.name}): working in {root}")
    stack = BenchStack(root / "stack", say=_say, profile_dir=profile)
    try:
        _say("starting PostgreSQL, the mailbox, Radicale and the Temporal dev server")
        await stack.start()
        results.machine = machine(await server_version(stack.pg_uri))
        if "intake" in sections:
            _say("1. intake")
            results.intake = await measure_intake(
                stack,
                count=size.intake_count,
                concurrency=size.intake_concurrency,
                repeats=size.repeats,
                say=_say,
            )
            # An error is a figure too: the report says what the failed submissions answered.
            failures = Counter(e for b in results.intake.api for e in b.errors)
            for error, times in failures.most_common(3):
                results.notes.append(f"Intake: {times} submission(s) failed with `{error}`.")
        if sections & {"orchestration", "memory", "knobs"}:
            _say("2. orchestration")
            o = await measure_orchestration(
                stack,
                journeys=size.journeys,
                repeats=size.repeats,
                options=WORKER_OPTIONS,
                say=_say,
            )
            results.orchestration = o
            failures = Counter(e for b in (*o.journeys, *o.baselines) for e in b.errors)
            for error, times in failures.most_common(3):
                results.notes.append(f"Orchestration: {times} run(s) failed with `{error}`.")
            assert stack.temporal is not None
            client = stack.temporal.client
            _say("3. history economy")
            journey_runs = await fetch_runs(client, o.journey_ids)
            baseline_runs = await fetch_runs(client, o.baseline_ids)
            results.journey_stats = stats_of(journey_runs)
            results.baseline_stats = stats_of(baseline_runs)
            _say("4. replay")
            # The replay corpus is the last repeat's journeys and baselines.
            jdir, bdir = write_corpora(
                journey_runs[-size.journeys :], baseline_runs[-size.journeys :], root
            )
            # The histories are encrypted under the bench's key, which its client holds.
            converter = client.data_converter
            results.replay.append(
                await measure_replay(
                    "journeys", jdir, repeats=size.repeats, data_converter=converter
                )
            )
            results.replay.append(
                await measure_replay(
                    "baselines",
                    bdir,
                    repeats=size.repeats,
                    workflows=BASELINE_REPLAY,
                    data_converter=converter,
                )
            )
            results.replay.append(
                await measure_replay(
                    "tests/histories (committed)",
                    COMMITTED_CORPUS,
                    repeats=size.repeats,
                    data_converter=converter,
                )
            )
            if "memory" in sections:
                _say("5. memory")
                results.memory = await measure_memory(
                    stack, waiting=size.waiting, plan=o.plan, options=WORKER_OPTIONS, say=_say
                )
                results.memory_all_cached = await measure_memory(
                    stack, waiting=size.waiting, plan=o.plan, options=ALL_CACHED, say=_say
                )
            if "knobs" in sections and size.knobs and results.memory and results.intake:
                _say("settings that mattered")
                await _knobs(stack, size, results, _say)
        if "console" in sections and size.console_sizes:
            _say("7. console reads")
            results.console = await measure_console_reads(
                stack,
                sizes=size.console_sizes,
                requests=size.console_requests,
                journeys=size.console_journeys,
                say=_say,
            )
    finally:
        _say("stopping the stack")
        stack.stop()
    if "startup" in sections:
        _say("6. start-up")
        results.startup = await measure_startup(
            root / "startup", repeats=size.startup_repeats, say=_say
        )
    results.seconds = time.monotonic() - started
    if keep:
        _say(f"kept {root}")
    else:
        await asyncio.to_thread(shutil.rmtree, root, ignore_errors=True)
    return results


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m bench.run", description="Benchmarks of a journey against bare Temporal."
    )
    parser.add_argument("--size", choices=sorted(SIZES), default="full")
    parser.add_argument(
        "--out",
        type=Path,
        help=f"where to write the report (default {DEFAULT_OUT.relative_to(ROOT)} for the full "
        "size; the tiny size needs --out)",
    )
    parser.add_argument(
        "--only",
        default=",".join(SECTIONS),
        help=f"comma-separated sections to run, of {', '.join(SECTIONS)}",
    )
    parser.add_argument("--keep", action="store_true", help="keep the temporary folder")
    parser.add_argument(
        "--profile",
        type=Path,
        help="run the API and the workers under cProfile, writing .prof files to this folder "
        "(the figures then include the profiler's overhead)",
    )
    for name in ("repeats", "journeys", "waiting", "intake-count", "console-requests"):
        parser.add_argument(f"--{name}", type=int, help="override the size's figure")
    parser.add_argument(
        "--console-sizes",
        help="override the console section's journey counts, comma-separated (such as 1000,10000)",
    )
    args = parser.parse_args(argv)
    if args.out is None and args.size != "full":
        parser.error("--out is required for sizes other than full (RESULTS.md is the full run's)")
    sections = {s.strip() for s in args.only.split(",") if s.strip()}
    if unknown := sections - set(SECTIONS):
        parser.error(f"unknown sections: {', '.join(sorted(unknown))}")
    out = args.out or DEFAULT_OUT
    size = SIZES[args.size]
    overrides = {
        field: getattr(args, field)
        for field in ("repeats", "journeys", "waiting", "intake_count", "console_requests")
        if getattr(args, field) is not None
    }
    if args.console_sizes:
        overrides["console_sizes"] = tuple(int(n) for n in args.console_sizes.split(","))
    if overrides:
        size = dataclasses.replace(size, name=f"{size.name} (with {overrides})", **overrides)
    results = asyncio.run(run(size, out, sections, args.keep, args.profile))
    if ANALYSIS.is_file():
        results.notes.append(f"The analysis of these figures is in `{ANALYSIS.relative_to(ROOT)}`.")
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(render(results))
    _say(f"wrote {out} ({results.seconds / 60:.1f} min)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
