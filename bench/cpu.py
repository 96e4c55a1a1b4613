"""CPU seconds spent by each part of the stack between two snapshots: where the time goes."""

import os
from collections.abc import Callable
from dataclasses import dataclass, field

import psutil

Pids = Callable[[], list[int]]


def _seconds(pid: int, *, with_children: bool) -> float:
    try:
        process = psutil.Process(pid)
        times = process.cpu_times()
        total = times.user + times.system
        if with_children:
            # Children already reaped (PostgreSQL backends that ended) count here; live ones
            # are added one by one.
            total += times.children_user + times.children_system
            for child in process.children(recursive=True):
                try:
                    t = child.cpu_times()
                    total += t.user + t.system
                except psutil.Error:
                    pass
        return float(total)
    except psutil.Error:
        return 0.0


@dataclass
class CpuMeter:
    """Named groups of processes; `snapshot()` gives each group's CPU seconds so far."""

    groups: dict[str, Pids] = field(default_factory=dict)

    def add(self, name: str, pids: Pids) -> None:
        self.groups[name] = pids

    def snapshot(self) -> dict[str, float]:
        out = {}
        for name, pids in self.groups.items():
            own = name == "bench drivers"
            out[name] = sum(_seconds(pid, with_children=not own) for pid in pids())
        return out

    @staticmethod
    def spent(before: dict[str, float], after: dict[str, float]) -> dict[str, float]:
        return {name: max(0.0, after.get(name, 0.0) - before.get(name, 0.0)) for name in before}


def this_process() -> list[int]:
    return [os.getpid()]
