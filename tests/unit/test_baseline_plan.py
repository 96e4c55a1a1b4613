"""The benchmark's baseline plan (bench/histories.py) read from committed journey histories:
the waits a journey runs beside its main run, and the follow-up year's waits that an update cut
short, become ops a run interpreting them one by one can follow without sleeping through the
update that ends them."""

import json
from pathlib import Path

from temporalio.client import WorkflowHistory

from bench.histories import baseline_plan, ops_of, run_stats

HISTORIES = Path(__file__).resolve().parent.parent / "histories"


def _history(name: str) -> WorkflowHistory:
    body = json.loads((HISTORIES / name).read_text())
    return WorkflowHistory.from_json(body["workflow_id"], body["history"])


def _timers(ops: list[str]) -> int:
    return sum(op[0] in "twbu" and op != "w" for op in ops)


def test_partner_waits_run_beside_the_trip_and_start_before_its_sleep() -> None:
    history = _history("happy-path.travel-changes.journey.json")
    ops = ops_of(history, updates_are_waits=True)
    beside = [i for i, op in enumerate(ops) if op.startswith("b")]
    # The hotel's and the transfer's confirmations, each awaited with its first reminder.
    assert [ops[i] for i in beside] == ["b172800", "b172800"]
    # The trip's own wait for the checklist's day was issued with them: it comes after them.
    assert ops[beside[-1] + 1].startswith("t")
    stats = run_stats(history)
    assert ops.count("a") == stats.activities
    assert _timers(ops) == stats.timers


def test_a_wait_with_nothing_beside_it_stays_in_line() -> None:
    ops = ops_of(_history("happy-path.travel-changes.journey.json"), updates_are_waits=True)
    # The reviewer's and the patient's answers, each awaited alone.
    assert ops[5] == "w172800"
    assert ops[13].startswith("w")


def test_follow_up_waits_cut_short_end_at_the_update_that_cut_them() -> None:
    runs = [
        _history(f"follow-up-consults.booked-follow-ups.{name}.json")
        for name in ("journey", "follow-up-1", "follow-up-2")
    ]
    plan = baseline_plan(runs)
    cut_short = [op for op in plan.child_ops if op.startswith("u")]
    assert cut_short, plan.child_ops
    updates = [int(op.split(":")[1]) for op in cut_short]
    # Counted over the whole year, continue-as-new included: never fewer as it goes on.
    assert updates == sorted(updates)
    assert 0 < updates[-1] <= sum(run_stats(run).updates for run in runs[1:])
    assert plan.child_ops.count("n") == len(runs) - 2
    assert _timers(plan.child_ops) == sum(run_stats(run).timers for run in runs[1:])
