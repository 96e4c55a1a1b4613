"""The benchmark runs end to end at its tiny size and writes a report with every section.

It checks that the figures are there, not what they are: timings on a shared machine are
`make bench`'s to report, never a test's to assert.
"""

import re
import subprocess
import sys
from pathlib import Path

import pytest

pytestmark = pytest.mark.e2e

ROOT = Path(__file__).resolve().parent.parent
SECTIONS = [
    "## Machine and versions",
    "## Targets at a glance",
    "## 1. Intake",
    "## 2. Orchestration",
    "## 3. History economy",
    "## 4. Replay",
    "## 5. Memory",
    "## 6. Start-up",
    "## 7. Console reads",
    "## Settings: which mattered",
]
# A figure in a table cell: 12, 0.85, 1,234 or 3.1.
NUMBER = r"\| *[0-9][0-9,]*(\.[0-9]+)? *\|"


def _section(report: str, title: str) -> str:
    start = report.index(title)
    following = report.find("\n## ", start + len(title))
    return report[start : following if following != -1 else len(report)]


def _row(section: str, label: str) -> str:
    line = next((ln for ln in section.splitlines() if ln.startswith(f"| {label}")), None)
    assert line is not None, f"no row {label!r} in:\n{section}"
    return line


def test_tiny_benchmark_writes_every_section_with_figures(tmp_path: Path) -> None:
    out = tmp_path / "RESULTS.md"
    done = subprocess.run(
        [sys.executable, "-m", "bench.run", "--size", "tiny", "--out", str(out)],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
    )
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    report = out.read_text()
    for title in SECTIONS:
        assert title in report, f"{title} missing"

    assert re.search(r"\| Python \| 3\.\d+", report)
    assert re.search(r"\| temporalio \| \d+\.\d+", report)
    assert re.search(r"\| PostgreSQL \| \d+", report)

    intake = _section(report, "## 1. Intake")
    assert re.search(NUMBER, _row(intake, "submissions per second"))
    assert re.search(NUMBER, _row(intake, "p95 latency"))
    assert "| errors | 0 | 0 |" in intake

    orchestration = _section(report, "## 2. Orchestration")
    row = _row(orchestration, "runs per second")
    assert len(re.findall(r"\d+\.\d+", row)) >= 3, row  # journey, baseline, ratio
    assert "| errors | 0 | 0 |" in orchestration

    economy = _section(report, "## 3. History economy")
    assert re.search(NUMBER, _row(economy, "parent (PatientJourney)"))
    assert re.search(NUMBER, _row(economy, "child run 1 (FollowUp)"))
    assert re.search(r"\d", _row(economy, "largest single payload"))

    replay = _section(report, "## 4. Replay")
    assert re.search(NUMBER, _row(replay, "histories per second"))
    assert "| replay failures | 0 | 0 |" in replay

    memory = _section(report, "## 5. Memory")
    shipped = next(line for line in memory.splitlines() if "as shipped: KiB per waiting" in line)
    assert re.search(r"-?\d", shipped)
    assert re.search(r"-?\d", _row(memory, "every run cached: KiB per waiting run"))

    startup = _section(report, "## 6. Start-up")
    assert re.search(NUMBER, _row(startup, "first start"))
    assert re.search(NUMBER, _row(startup, "later start"))

    console = _section(report, "## 7. Console reads")
    for label in (
        "console worklist page, the question",
        "API list, the question",
        "visibility: first page and count",
        "console case page",
        "Temporal alone",
    ):
        assert re.search(NUMBER, _row(console, label)), label
    answers = _row(console, "the question's answer: PostgreSQL / visibility")
    assert re.search(r"\| (\d+) / \1 \|", answers), answers
    assert re.search(r"\| errors \| 0 \|", console)

    glance = _section(report, "## Targets at a glance")
    # Nine targets, and the worklist against the visibility query at each of two sizes.
    assert len(re.findall(r"\| (yes|\*\*no\*\*) \|", glance)) == 11, glance
