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
from bench.footprint import MemoryResult, ReplayCorpus, StartupResult
from bench.footprint_report import memory_section, replay_section, startup_section
from bench.histories import RunStats
from bench.markdown import figure as _f
from bench.markdown import met as _met
from bench.markdown import ratio as _ratio
from bench.markdown import table as _table
from bench.measure import IntakeResult, OrchestrationResult, Size, median
from bench.throughput_report import (
    KB16,
    economy_section,
    intake_section,
    orchestration_section,
    rates,
)
from devstack.temporal_server import installed_command


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
        ratio = _ratio(rates(r.intake.api), rates(r.intake.raw))
        rows.append(["intake rate vs raw start", _f(ratio), "≥ 0.8", _met(ratio >= 0.8)])
    if r.orchestration:
        ratio = _ratio(rates(r.orchestration.journeys), rates(r.orchestration.baselines))
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
        + intake_section(r)
        + orchestration_section(r)
        + economy_section(r)
        + replay_section(r)
        + memory_section(r)
        + startup_section(r)
        + console_section(r.console)
        + _knobs(r)
    )
    notes = ["## Notes", ""] + [f"- {n}" for n in r.notes] + [""] if r.notes else []
    return "\n".join(head + body + notes).rstrip() + "\n"


def now() -> datetime:
    return datetime.now(UTC)


def mean(values: list[float]) -> float:
    return statistics.fmean(values) if values else math.nan
