"""RESULTS.md's sections on intake and orchestration: the rates, the latencies, the CPU each
item costs and the economy of a journey's commands, each beside its baseline."""

import math
from typing import TYPE_CHECKING

from bench.histories import RunStats
from bench.markdown import figure as _f
from bench.markdown import met as _met
from bench.markdown import ratio as _ratio
from bench.markdown import table as _table
from bench.measure import (
    Burst,
    median,
    p95,
)

if TYPE_CHECKING:
    from bench.report import Results

# The payload size Temporal warns about; the largest of a journey stays below it.
KB16 = 16 * 1024


def rates(bursts: list[Burst]) -> float:
    return median([b.rate for b in bursts])


def _latencies(bursts: list[Burst]) -> list[float]:
    return [x for b in bursts for x in b.latencies]


def _errors(bursts: list[Burst]) -> int:
    return sum(len(b.errors) for b in bursts)


def _cpu_per_item(bursts: list[Burst]) -> dict[str, float]:
    names = {n for b in bursts for n in b.cpu}
    return {n: median([b.cpu.get(n, 0.0) / b.count for b in bursts]) for n in sorted(names)}


def intake_section(r: "Results") -> list[str]:
    i = r.intake
    if i is None:
        return ["## 1. Intake", "", "Not measured in this run.", ""]
    api, raw = rates(i.api), rates(i.raw)
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
        rj = rates(i.raw_journey)
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


def orchestration_section(r: "Results") -> list[str]:
    o = r.orchestration
    if o is None:
        return ["## 2. Orchestration", "", "Not measured in this run.", ""]
    j, b = rates(o.journeys), rates(o.baselines)
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


def economy_section(r: "Results") -> list[str]:
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
