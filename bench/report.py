"""RESULTS.md from the figures: every figure beside its baseline, the ratio, the target."""

import math
import os
import platform
import re
import statistics
import subprocess
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from importlib.metadata import PackageNotFoundError, version
from pathlib import Path

import psutil

from bench.console_reads import ConsoleReadsResult
from bench.console_report import console_glance, console_section
from bench.histories import RunStats
from bench.markdown import figure as _f
from bench.markdown import met as _met
from bench.markdown import ratio as _ratio
from bench.markdown import table as _table
from bench.measure import (
    Burst,
    IntakeResult,
    MemoryResult,
    OrchestrationResult,
    ReplayCorpus,
    Size,
    StartupResult,
    median,
    p95,
)
from devstack.temporal_server import installed_command

KB16 = 16 * 1024


@dataclass
class Knob:
    """One setting turned back to its default, and what it did to one figure."""

    setting: str
    figure: str
    with_setting: float
    without: float
    unit: str
    note: str = ""


@dataclass
class Results:
    size: Size
    started: datetime
    worker_options: dict[str, object]
    machine: dict[str, str] = field(default_factory=dict)
    intake: IntakeResult | None = None
    orchestration: OrchestrationResult | None = None
    journey_stats: list[list[RunStats]] = field(default_factory=list)
    baseline_stats: list[list[RunStats]] = field(default_factory=list)
    replay: list[ReplayCorpus] = field(default_factory=list)
    memory: MemoryResult | None = None
    memory_all_cached: MemoryResult | None = None
    startup: StartupResult | None = None
    console: ConsoleReadsResult | None = None
    knobs: list[Knob] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    seconds: float = 0.0


def _run(argv: Sequence[str]) -> str:
    try:
        return subprocess.run(
            list(argv), capture_output=True, text=True, timeout=30, check=False
        ).stdout.strip()
    except OSError:
        return "unknown"


def _package(name: str) -> str:
    try:
        return version(name)
    except PackageNotFoundError:
        return "not installed"


def machine(postgres_version: str) -> dict[str, str]:
    cpu = "unknown"
    try:
        found = re.search(r"model name\s*:\s*(.+)", Path("/proc/cpuinfo").read_text())
        cpu = found.group(1).strip() if found else platform.processor() or "unknown"
    except OSError:
        pass
    temporal = installed_command("temporal")
    return {
        "CPU": cpu,
        "cores": str(os.cpu_count()),
        "RAM": f"{psutil.virtual_memory().total / 2**30:.1f} GiB",
        "OS": f"{platform.system()} {platform.release()}",
        "Python": platform.python_version(),
        "temporalio": _package("temporalio"),
        "Temporal CLI / server": _run([temporal, "--version"]) if temporal else "missing",
        "PostgreSQL": postgres_version,
        "FastAPI / pydantic / asyncpg": " / ".join(
            _package(p) for p in ("fastapi", "pydantic", "asyncpg")
        ),
        "load average at start": " ".join(f"{x:.2f}" for x in os.getloadavg()),
    }


def _rates(bursts: list[Burst]) -> float:
    return median([b.rate for b in bursts])


def _latencies(bursts: list[Burst]) -> list[float]:
    return [x for b in bursts for x in b.latencies]


def _errors(bursts: list[Burst]) -> int:
    return sum(len(b.errors) for b in bursts)


def _cpu_per_item(bursts: list[Burst]) -> dict[str, float]:
    names = {n for b in bursts for n in b.cpu}
    return {n: median([b.cpu.get(n, 0.0) / b.count for b in bursts]) for n in sorted(names)}


def _intake(r: Results) -> list[str]:
    i = r.intake
    if i is None:
        return ["## 1. Intake", "", "Not measured in this run.", ""]
    api, raw = _rates(i.api), _rates(i.raw)
    lat_api, lat_raw = _latencies(i.api), _latencies(i.raw)
    ratio = _ratio(api, raw)
    out = [
        "## 1. Intake",
        "",
        f"{i.count} submissions per repeat, {i.concurrency} at a time, {len(i.api)} repeat(s) "
        "(median). `POST /api/v1/inquiries` to `journeys api` (uvicorn, its own process): "
        "validation, the idempotency and intake rows in PostgreSQL, the audit-log row, and the "
        "journey's start with its search attribute. Baseline: `client.start_workflow` of a "
        "trivial workflow from the bench process. No worker polls either queue, so only the "
        "start path is measured. The submissions go through a minimal keep-alive HTTP client "
        "(`bench/loadgen.py`): httpx spent about as much CPU per request as the API does, on "
        "the same two cores. The diagnostic rows start the journey's own workflow from the "
        "bench process, with the arguments the API gives it (its input with the policy, the "
        "`JourneyStage` search attribute, summary and details, the conflict policies) and "
        "nothing else: the server's part of a submission.",
        "",
    ]
    rows = [
        [
            "submissions per second",
            _f(api),
            _f(raw),
            _f(ratio),
            "≥ 0.8 of raw",
            _met(ratio >= 0.8),
        ],
        [
            "median latency (ms)",
            _f(median(lat_api) * 1000),
            _f(median(lat_raw) * 1000),
            _f(_ratio(median(lat_api), median(lat_raw))),
            "",
            "",
        ],
        [
            "p95 latency (ms)",
            _f(p95(lat_api) * 1000),
            _f(p95(lat_raw) * 1000),
            _f(_ratio(p95(lat_api), p95(lat_raw))),
            "",
            "",
        ],
        ["errors", str(_errors(i.api)), str(_errors(i.raw)), "", "0", _met(_errors(i.api) == 0)],
    ]
    if i.raw_journey:
        rj = _rates(i.raw_journey)
        lat = _latencies(i.raw_journey)
        rows.append(
            [
                "diagnostic: raw starts of the journey's workflow per second",
                _f(rj),
                _f(raw),
                _f(_ratio(rj, raw)),
                "",
                "",
            ]
        )
        rows.append(
            [
                "diagnostic: median latency of raw journey starts (ms)",
                _f(median(lat) * 1000),
                _f(median(lat_raw) * 1000),
                _f(_ratio(median(lat), median(lat_raw))),
                "",
                "",
            ]
        )
        rows.append(
            [
                "diagnostic: submissions per second against raw journey starts",
                _f(api),
                _f(rj),
                _f(_ratio(api, rj)),
                "",
                "",
            ]
        )
    out += _table(["figure", "journey intake", "raw start", "ratio", "target", "met?"], rows)
    out += _cpu_table(
        "CPU seconds per submission (median over repeats), by process:",
        _cpu_per_item(i.api),
        _cpu_per_item(i.raw),
        ("journey intake", "raw start"),
    )
    return out


def _cpu_table(
    title: str, a: dict[str, float], b: dict[str, float], names: tuple[str, str]
) -> list[str]:
    rows = []
    for name in sorted(set(a) | set(b), key=lambda n: -a.get(n, 0.0)):
        x, y = a.get(name, 0.0), b.get(name, 0.0)
        if x < 0.0005 and y < 0.0005:
            continue
        rows.append([name, f"{x * 1000:,.1f}", f"{y * 1000:,.1f}"])
    rows.append(
        [
            "**total**",
            f"**{sum(a.values()) * 1000:,.1f}**",
            f"**{sum(b.values()) * 1000:,.1f}**",
        ]
    )
    return [title, "", *_table(["process", f"{names[0]} (ms)", f"{names[1]} (ms)"], rows)]


def _orchestration(r: Results) -> list[str]:
    o = r.orchestration
    if o is None:
        return ["## 2. Orchestration", "", "Not measured in this run.", ""]
    j, b = _rates(o.journeys), _rates(o.baselines)
    ratio = _ratio(j, b)
    script = o.calibration.script
    kinds = {k: sum(1 for a in script if a.kind == k) for k in ("update", "advance", "clock")}
    out = [
        "## 2. Orchestration",
        "",
        f"{o.journeys_per_repeat} journeys at once per repeat, {len(o.journeys)} repeat(s) "
        "(median), each driven from the inquiry to COMPLETED through the API by scripted "
        "people (reviewer, patient, specialist, coordinator, the clinic's signed webhook) who "
        "answer every step as soon as the journey allows it: "
        f"{kinds['update']} steps, {median([float(x) for x in o.requests]):.0f} HTTP requests "
        f"per journey of which {median([float(x) for x in o.polls]):.0f} status reads that "
        "waited for the journey to move (`?after=VERSION&wait=30`, answered when the next stage "
        "change is recorded). Baseline: as many `BaselineJourney` runs "
        "(`bench/baseline.py`: the same activities, updates, timers, child and continue-as-new "
        "as a journey, doing nothing), driven by the same script through the Temporal client.",
        "",
        f"Server: {o.server}. A journey cannot finish on a real clock in seconds (the visit day "
        "is the day after the arrival date, which must be after today, and the follow-up "
        "year has 26 weekly check-ins), so where a person waits for a date the people move "
        f"that run's own clock forward ({kinds['advance']} moves per journey, "
        f"{kinds['clock']} reads of its clock), the baseline gets exactly the same moves. This "
        "keeps both on the real server (SQLite, WAL) rather than the time-skipping test server "
        "(Java, in memory, one clock for every workflow, so journeys could only move in "
        "lock-step). The policy is the API's default (`JourneyPolicy()`): the API offers no "
        "way to start a journey with another, and no deadline needs shortening when time is "
        "skipped.",
        "",
    ]
    rows = [
        [
            "runs per second",
            _f(j, 3),
            _f(b, 3),
            _f(ratio),
            "≥ 0.7 of baseline",
            _met(ratio >= 0.7),
        ],
        [
            "median seconds per run",
            _f(median(_latencies(o.journeys))),
            _f(median(_latencies(o.baselines))),
            _f(_ratio(median(_latencies(o.journeys)), median(_latencies(o.baselines)))),
            "",
            "",
        ],
        [
            "errors",
            str(_errors(o.journeys)),
            str(_errors(o.baselines)),
            "",
            "0",
            _met(_errors(o.journeys) == 0),
        ],
    ]
    if len(o.journeys) > 1:
        rows.append(
            [
                "each repeat: runs per second (in run order)",
                ", ".join(_f(x.rate) for x in o.journeys),
                ", ".join(_f(x.rate) for x in o.baselines),
                ", ".join(
                    _f(_ratio(x.rate, y.rate)) for x, y in zip(o.journeys, o.baselines, strict=True)
                ),
                "",
                "",
            ]
        )
    out += _table(["figure", "journey", "baseline", "ratio", "target", "met?"], rows)
    out += _cpu_table(
        "CPU seconds per run (median over repeats), by process; this is where a journey's "
        "time goes:",
        _cpu_per_item(o.journeys),
        _cpu_per_item(o.baselines),
        ("journey", "baseline"),
    )
    out += _waits_table(o.journeys, o.baselines)
    return out


def _waits_table(journeys: list[Burst], baselines: list[Burst]) -> list[str]:
    def per_kind(bursts: list[Burst]) -> dict[str, float]:
        kinds = {k for b in bursts for k in b.waits}
        return {k: median([b.waits.get(k, 0.0) for b in bursts]) for k in kinds}

    a, b = per_kind(journeys), per_kind(baselines)
    rows = [
        [kind, _f(a.get(kind, math.nan)), _f(b.get(kind, math.nan))]
        for kind in sorted(set(a) | set(b), key=lambda k: -max(a.get(k, 0.0), b.get(k, 0.0)))
    ]
    rows.append(
        [
            "**run, start to end**",
            f"**{_f(median(_latencies(journeys)))}**",
            f"**{_f(median(_latencies(baselines)))}**",
        ]
    )
    title = (
        "Wall seconds per run (mean over the runs of a repeat, median over repeats), by what "
        "the people were waiting on:"
    )
    return [title, "", *_table(["waiting on", "journey (s)", "baseline (s)"], rows)]


def _by_position(stats: list[list[RunStats]]) -> list[tuple[str, list[RunStats]]]:
    longest = max((len(chain) for chain in stats), default=0)
    out = []
    for k in range(longest):
        runs = [chain[k] for chain in stats if len(chain) > k]
        label = "parent" if k == 0 else f"child run {k}"
        out.append((f"{label} ({runs[0].workflow_type})", runs))
    return out


def _economy(r: Results) -> list[str]:
    if not r.journey_stats:
        return ["## 3. History economy", "", "Not measured in this run.", ""]
    out = [
        "## 3. History economy",
        "",
        f"Every run of {len(r.journey_stats)} complete journeys (the parent and each run of its "
        "follow-up child, which continues as new every 40 calendar events), and of as many "
        "baselines. Events exclude the time-skipping events the benchmark's clock moves add "
        "(`WorkflowExecutionOptionsUpdated`, `WorkflowExecutionTimeSkippingTransitioned`, "
        "counted apart); a production history has none. Payload bytes are every `Payload` in "
        "the run's events (data and metadata: inputs, results, update arguments and answers, "
        "search attributes, summaries and details).",
        "",
    ]
    rows = []
    for (label, runs), (_, base) in zip(
        _by_position(r.journey_stats), _by_position(r.baseline_stats), strict=False
    ):
        rows.append(
            [
                label,
                _f(median([float(s.own_events) for s in runs]), 0),
                _f(max(s.own_events for s in runs), 0),
                _f(median([float(s.harness_events) for s in runs]), 0),
                _f(median([float(s.own_events) for s in base]), 0),
                _f(median([float(s.payload_bytes) for s in runs]), 0),
                _f(median([float(s.payload_bytes) for s in base]), 0),
                _f(max(s.largest_payload for s in runs), 0),
                _f(max(s.largest_payload for s in base), 0),
                f"{runs[0].activities}/{runs[0].updates}/{runs[0].timers}",
                f"{base[0].activities}/{base[0].updates}/{base[0].timers}",
            ]
        )
    out += _table(
        [
            "run",
            "events (median)",
            "events (max)",
            "clock-move events",
            "baseline events",
            "payload bytes",
            "baseline payload bytes",
            "largest payload",
            "baseline largest",
            "activities/updates/timers",
            "baseline a/u/t",
        ],
        rows,
    )
    every = [s for chain in r.journey_stats for s in chain]
    per_journey = [sum(s.own_events for s in chain) for chain in r.journey_stats]
    payload_journey = [sum(s.payload_bytes for s in chain) for chain in r.journey_stats]
    per_baseline = [sum(s.own_events for s in chain) for chain in r.baseline_stats]
    payload_baseline = [sum(s.payload_bytes for s in chain) for chain in r.baseline_stats]
    biggest = max(every, key=lambda s: s.largest_payload)
    most = max(s.own_events for s in every)
    out += _table(
        ["figure", "journey", "baseline", "ratio", "target", "met?"],
        [
            [
                "events per journey, all runs",
                _f(median([float(x) for x in per_journey]), 0),
                _f(median([float(x) for x in per_baseline]), 0),
                _f(
                    _ratio(
                        median([float(x) for x in per_journey]),
                        median([float(x) for x in per_baseline]),
                    )
                ),
                "",
                "",
            ],
            [
                "payload bytes per journey, all runs",
                _f(median([float(x) for x in payload_journey]), 0),
                _f(median([float(x) for x in payload_baseline]), 0),
                _f(
                    _ratio(
                        median([float(x) for x in payload_journey]),
                        median([float(x) for x in payload_baseline]),
                    )
                ),
                "",
                "",
            ],
            [
                "most events in one run",
                _f(most, 0),
                _f(max(s.own_events for chain in r.baseline_stats for s in chain), 0),
                "",
                "≤ 2,000",
                _met(most <= 2000),
            ],
            [
                "largest single payload (bytes)",
                f"{biggest.largest_payload:,} "
                f"({biggest.largest_payload_event}, {biggest.workflow_type})",
                _f(max(s.largest_payload for chain in r.baseline_stats for s in chain), 0),
                "",
                "≤ 16 KB (16,384)",
                _met(biggest.largest_payload <= KB16),
            ],
        ],
    )
    return out


def _replay(r: Results) -> list[str]:
    if not r.replay:
        return ["## 4. Replay", "", "Not measured in this run.", ""]
    by = {c.name: c for c in r.replay}
    j, b = by.get("journeys"), by.get("baselines")
    out = [
        "## 4. Replay",
        "",
        "The histories of the last repeat's journeys (every run: the parent and each follow-up "
        "run) exported as files in the corpus "
        "format of `journeys export`, then read and replayed as `journeys replay --path` does "
        "(`audit.replay.load_history_file` and `replay_histories`, the project's sandbox "
        f"runner); the baselines' histories the same way. Median of {len(j.seconds) if j else 0} "
        "passes, file reading included.",
        "",
    ]
    rows = []
    for c in r.replay:
        rows.append(
            [
                c.name,
                str(c.runs),
                f"{c.events:,}",
                _f(median(c.seconds)),
                _f(c.rate),
                _f(c.events_rate, 0),
                str(c.failures),
            ]
        )
    out += _table(
        ["corpus", "histories", "events", "seconds", "histories/s", "events/s", "failed"], rows
    )
    if j and b:
        ratio = _ratio(j.rate, b.rate)
        out += _table(
            ["figure", "journey", "baseline", "ratio", "target", "met?"],
            [
                [
                    "histories per second",
                    _f(j.rate),
                    _f(b.rate),
                    _f(ratio),
                    "≥ 0.5 of baseline",
                    _met(ratio >= 0.5),
                ],
                [
                    "events per second",
                    _f(j.events_rate, 0),
                    _f(b.events_rate, 0),
                    _f(_ratio(j.events_rate, b.events_rate)),
                    "",
                    "",
                ],
                [
                    "replay failures",
                    str(j.failures),
                    str(b.failures),
                    "",
                    "0",
                    _met(j.failures == 0),
                ],
            ],
        )
    return out


def _memory(r: Results) -> list[str]:
    m = r.memory
    if m is None:
        return ["## 5. Memory", "", "Not measured in this run.", ""]
    shipped = m.options.get("max_cached_workflows")
    out = [
        "## 5. Memory",
        "",
        f"Resident memory of the worker process (one worker per process, nothing else in it) "
        f"before and after {m.waiting:,} journeys, started through the API, wait in VALIDATION "
        "on the reviewer (counted with the visibility query `WaitingOn='reviewer'`, then the "
        f"worker idle); the same for {m.waiting:,} baselines waiting on their first update. "
        "Measured twice, each time with the same options for journey and baseline workers: "
        f"with the sticky cache `journeys worker` ships (`max_cached_workflows={shipped}`, "
        "`JOURNEYS_WORKER_CACHED_RUNS`), which is what an operator gets, and with every open "
        "run cached (`max_cached_workflows=2000`), the worst case, where the figure is what "
        "one cached waiting run holds. An evicted journey is rebuilt from its history when a "
        "person next acts on it (section 4 gives the rate). RSS keeps its high-water mark: "
        "evicted runs are freed only when Python's garbage collector reaches them.",
        "",
    ]
    rows: list[list[str]] = []
    for label, result, target in [
        (f"cache {shipped}, as shipped", m, True),
        ("every run cached", r.memory_all_cached, False),
    ]:
        if result is None:
            continue
        rows += [
            [
                f"{label}: RSS before / after (MiB)",
                f"{_f(result.journey_rss_before / 2**20, 1)} / "
                f"{_f(result.journey_rss_after / 2**20, 1)}",
                f"{_f(result.baseline_rss_before / 2**20, 1)} / "
                f"{_f(result.baseline_rss_after / 2**20, 1)}",
                "",
                "",
                "",
            ],
            [
                f"{label}: KiB per waiting run",
                _f(result.journey_kib, 1),
                _f(result.baseline_kib, 1),
                _f(_ratio(result.journey_kib, result.baseline_kib)),
                "< 100 KiB",
                _met(result.journey_kib < 100) if target else "(worst case)",
            ],
            [
                f"{label}: seconds to open them all",
                _f(result.journey_seconds, 1),
                _f(result.baseline_seconds, 1),
                "",
                "",
                "",
            ],
        ]
    out += _table(["figure", "journey", "baseline", "ratio", "target", "met?"], rows)
    return out


def _startup(r: Results) -> list[str]:
    s = r.startup
    if s is None:
        return ["## 6. Start-up", "", "Not measured in this run.", ""]
    cold, warm = median(s.cold), median(s.warm)
    out = [
        "## 6. Start-up",
        "",
        "Seconds from spawning `journeys dev` (free ports through `JOURNEYS_*_PORT`, its own "
        'state folder) to its line "Press Ctrl-C to stop.", which it prints once PostgreSQL, '
        "Temporal's gRPC and Web UI, the mailbox, Radicale, the worker (polling) and the API "
        "(`/readyz` 200) all answer; every port is checked again after it. Then SIGINT and "
        f"the wait for it to exit. First start on an empty folder (initdb, migrations, a new "
        f"Temporal database) and a second start on the same folder; {len(s.cold)} of each "
        "(median). There is no baseline: nothing else starts this stack.",
        "",
    ]
    out += _table(
        ["figure", "seconds", "target", "met?"],
        [
            ["first start (empty state)", _f(cold), "< 15 s", _met(cold < 15 if s.cold else None)],
            [
                "later start (existing state)",
                _f(warm),
                "< 15 s",
                _met(warm < 15 if s.warm else None),
            ],
            ["stop after Ctrl-C", _f(median(s.stops)), "", ""],
        ],
    )
    if s.errors:
        out += ["Errors: " + "; ".join(s.errors), ""]
    return out


def _knobs(r: Results) -> list[str]:
    out = [
        "## Settings: which mattered",
        "",
        "Worker options used for every worker, journey and baseline alike: "
        + ", ".join(f"`{k}={v}`" for k, v in r.worker_options.items())
        + "; otherwise the SDK's defaults (100 concurrent workflow tasks, 100 concurrent "
        "activities) and the project's sandbox runner "
        "(`workflows.registry.workflow_runner()`, which "
        "passes `domain`, `activities`, `workflows`, pydantic, pydantic_core and "
        "annotated_types through: the journey's code is imported once per worker, not once "
        "per run; the test suite re-imports it per run so that the sandbox checks it). "
        "Server: the dev server as `journeys dev` "
        "starts it (SQLite file with `journal_mode=wal`, `synchronous=normal`, "
        "`busy_timeout=5000`), plus per-workflow time skipping and two timer-queue settings "
        "for the clock moves (`history.timerProcessorMaxTimeShift=10ms`, "
        "`history.timerProcessorMaxPollRPS=10000`). The API runs under uvicorn with uvloop "
        "and httptools. Each setting below is turned back alone, at a smaller "
        "size; the other figures of this report use the settings as benchmarked.",
        "",
    ]
    if not r.knobs:
        return [*out, "The comparisons run at the full size only.", ""]
    rows = [
        [
            k.setting,
            k.figure,
            f"{_f(k.with_setting)} {k.unit}",
            f"{_f(k.without)} {k.unit}",
            _f(_ratio(k.with_setting, k.without)),
            k.note,
        ]
        for k in r.knobs
    ]
    return out + _table(
        [
            "setting: as benchmarked, against",
            "figure",
            "as benchmarked",
            "variant",
            "ratio",
            "note",
        ],
        rows,
    )


def _summary(r: Results) -> list[str]:
    rows: list[list[str]] = []
    if r.intake:
        ratio = _ratio(_rates(r.intake.api), _rates(r.intake.raw))
        rows.append(["intake rate vs raw start", _f(ratio), "≥ 0.8", _met(ratio >= 0.8)])
    if r.orchestration:
        ratio = _ratio(_rates(r.orchestration.journeys), _rates(r.orchestration.baselines))
        rows.append(["orchestration rate vs baseline", _f(ratio), "≥ 0.7", _met(ratio >= 0.7)])
    if r.journey_stats:
        every = [s for chain in r.journey_stats for s in chain]
        most = max(s.own_events for s in every)
        big = max(s.largest_payload for s in every)
        rows.append(["most events in one run", f"{most:,}", "≤ 2,000", _met(most <= 2000)])
        rows.append(["largest payload (bytes)", f"{big:,}", "≤ 16,384", _met(big <= KB16)])
    by = {c.name: c for c in r.replay}
    if "journeys" in by and "baselines" in by:
        ratio = _ratio(by["journeys"].rate, by["baselines"].rate)
        rows.append(["replay rate vs baseline", _f(ratio), "≥ 0.5", _met(ratio >= 0.5)])
    if r.memory:
        kib = r.memory.journey_kib
        rows.append(["worker KiB per waiting journey", _f(kib, 1), "< 100", _met(kib < 100)])
    if r.memory_all_cached:
        kib = r.memory_all_cached.journey_kib
        rows.append(
            [
                "worker KiB per waiting journey, every run cached (worst case)",
                _f(kib, 1),
                "< 100",
                _met(kib < 100),
            ]
        )
    if r.startup and r.startup.cold:
        cold = median(r.startup.cold)
        warm = median(r.startup.warm) if r.startup.warm else math.nan
        rows.append(["start-up, first (s)", _f(cold), "< 15", _met(cold < 15)])
        rows.append(["start-up, later (s)", _f(warm), "< 15", _met(warm < 15)])
    if r.console:
        rows += console_glance(r.console)
    return ["## Targets at a glance", "", *_table(["target", "measured", "goal", "met?"], rows)]


def render(r: Results) -> str:
    head = [
        "# Benchmarks: what a journey costs, beside bare Temporal",
        "",
        f"Generated by `python -m bench.run --size {r.size.name}` (`make bench` runs the full "
        f"size) on {r.started:%Y-%m-%d %H:%M} UTC in {r.seconds / 60:.1f} minutes. Every "
        "figure is measured in the same run as its baseline, on the same dev server with the "
        "same worker settings; a shared 2-core machine is noisy, so read ratios rather than "
        "absolute figures, and expect a few percent either way between runs.",
        "",
        "## Machine and versions",
        "",
    ]
    head += _table(["", ""], [[k, v] for k, v in r.machine.items()])
    body = (
        _summary(r)
        + _intake(r)
        + _orchestration(r)
        + _economy(r)
        + _replay(r)
        + _memory(r)
        + _startup(r)
        + console_section(r.console)
        + _knobs(r)
    )
    notes = ["## Notes", ""] + [f"- {n}" for n in r.notes] + [""] if r.notes else []
    return "\n".join(head + body + notes).rstrip() + "\n"


def now() -> datetime:
    return datetime.now(UTC)


def mean(values: list[float]) -> float:
    return statistics.fmean(values) if values else math.nan
