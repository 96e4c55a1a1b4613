"""RESULTS.md's sections on replay, the worker's memory per waiting journey and start-up."""

from typing import TYPE_CHECKING

from bench.markdown import figure as _f
from bench.markdown import met as _met
from bench.markdown import ratio as _ratio
from bench.markdown import table as _table
from bench.measure import (
    median,
)

if TYPE_CHECKING:
    from bench.report import Results


def replay_section(r: "Results") -> list[str]:
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


def memory_section(r: "Results") -> list[str]:
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


def startup_section(r: "Results") -> list[str]:
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
