"""What operators count: journeys by stage and by whom they wait on, the overdue ones, the
open incidents. Read at every Prometheus scrape, so each is one cheap grouped query on an
indexed column; counts and ages only, never a row's contents."""

from dataclasses import dataclass, field

from db.repository import Repository
from domain.stages import FINAL_STAGES


@dataclass(frozen=True)
class Waiting:
    journeys: int
    overdue: int
    # How far past its deadline the most overdue of them is; 0 when none is.
    longest_overdue_seconds: float


@dataclass(frozen=True)
class OpenIncidents:
    count: int
    oldest_seconds: float


@dataclass(frozen=True)
class Figures:
    by_stage: dict[str, int] = field(default_factory=dict)
    by_waiting_on: dict[str, Waiting] = field(default_factory=dict)
    incidents: dict[str, OpenIncidents] = field(default_factory=dict)


class OperationsRepository(Repository):
    """Owns the SQL of the operators' figures."""

    async def figures(self) -> Figures:
        final = sorted(stage.value for stage in FINAL_STAGES)
        by_stage = await self._conn.fetch(
            "SELECT stage, count(*) AS n FROM journeys GROUP BY stage"
        )
        waiting = await self._conn.fetch(
            """SELECT waiting_on,
                      count(*) AS n,
                      count(*) FILTER (WHERE next_deadline < now()) AS overdue,
                      coalesce(extract(epoch FROM now() - min(next_deadline)
                                       FILTER (WHERE next_deadline < now())), 0) AS longest
                 FROM journeys
                WHERE stage <> ALL($1::text[])
                GROUP BY waiting_on""",
            final,
        )
        incidents = await self._conn.fetch(
            """SELECT kind, count(*) AS n,
                      extract(epoch FROM now() - min(opened_at)) AS oldest
                 FROM incidents
                WHERE resolved_at IS NULL
                GROUP BY kind"""
        )
        return Figures(
            by_stage={row["stage"]: row["n"] for row in by_stage},
            by_waiting_on={
                row["waiting_on"]: Waiting(row["n"], row["overdue"], float(row["longest"]))
                for row in waiting
            },
            incidents={
                row["kind"]: OpenIncidents(row["n"], max(float(row["oldest"]), 0.0))
                for row in incidents
            },
        )
