"""The worklist's SQL: journeys for people, the caller's first and overdue first, with counts.

Read from the journeys' projection (`journeys`, written by the workflows' `record_stage` and
`record_incident` activities), never from Temporal, so a list costs one round trip per query
whatever the number of journeys open.
"""

from collections.abc import Callable
from datetime import datetime

import asyncpg

from domain.incidents import IncidentKind
from domain.names import journey_reference
from domain.stages import FINAL_STAGES, Stage, WaitingOn
from domain.worklist import (
    IncidentPresence,
    Priority,
    WorklistFilter,
    WorklistItem,
    WorklistPage,
)

Arg = Callable[[object], str]
_FINAL = [stage.value for stage in FINAL_STAGES]


def _filters(filters: WorklistFilter, now: datetime, arg: Arg, *, stage: bool) -> list[str]:
    """The WHERE clauses of `filters`; the stage's only when `stage` (counts per stage leave
    it out, so each stage shows what choosing it would list)."""
    clauses = []
    if stage and filters.stage is not None:
        clauses.append(f"j.stage = {arg(filters.stage.value)}")
    if filters.waiting_on is not None:
        clauses.append(f"j.waiting_on = {arg(filters.waiting_on.value)}")
    if filters.case_manager:
        clauses.append(f"j.case_manager_id = {arg(filters.case_manager)}")
    if filters.country:
        clauses.append(f"p.country = {arg(filters.country)}")
    if filters.overdue is True:
        clauses.append(f"j.next_deadline < {arg(now)}")
    elif filters.overdue is False:
        clauses.append(f"(j.next_deadline IS NULL OR j.next_deadline >= {arg(now)})")
    if filters.incident is IncidentPresence.ANY:
        clauses.append("j.incident IS NOT NULL")
    elif filters.incident is IncidentPresence.NONE:
        clauses.append("j.incident IS NULL")
    elif isinstance(filters.incident, IncidentKind):
        clauses.append(f"j.incident = {arg(filters.incident.value)}")
    return clauses


def _yours(priority: Priority | None, arg: Arg) -> str:
    """An SQL truth value: the journey is still open and waits on the caller or their role."""
    if priority is None:
        return "false"
    waits = []
    if priority.waiting_on is not None:
        waits.append(f"j.waiting_on = {arg(priority.waiting_on.value)}")
    if priority.assigned is not None:
        column = "j.specialist_id" if priority.assigned == "specialist" else "j.case_manager_id"
        waits.append(f"{column} = {arg(priority.staff_id)}")
    either = [" AND ".join(waits)] if waits else []
    if priority.open_incidents:
        either.append("j.incident IS NOT NULL")
    if not either:
        return "false"
    # coalesce: a column the rule compares may be NULL (no specialist yet), and NULL would
    # sort first in a descending order.
    return f"coalesce(j.stage <> ALL({arg(_FINAL)}) AND ({' OR '.join(either)}), false)"


def _where(clauses: list[str]) -> str:
    return f"WHERE {' AND '.join(clauses)}" if clauses else ""


class WorklistRepository:
    """Owns the worklist's SQL. Takes a connection; the caller owns the pool."""

    def __init__(self, conn: asyncpg.Connection) -> None:
        self._conn = conn

    async def page(
        self,
        *,
        filters: WorklistFilter,
        priority: Priority | None,
        now: datetime,
        limit: int,
        offset: int,
        with_names: bool,
    ) -> WorklistPage:
        """One page of the journeys `filters` select, with how many there are in all, how
        many wait on the caller, and how many each stage holds (under every filter but the
        stage)."""
        args: list[object] = []

        def arg(value: object) -> str:
            args.append(value)
            return f"${len(args)}"

        yours = _yours(priority, arg)
        clauses = _filters(filters, now, arg, stage=False)
        join = "JOIN patients p USING (patient_id)" if filters.country else ""
        counted = await self._conn.fetch(
            f"""SELECT j.stage, count(*) AS n, count(*) FILTER (WHERE {yours}) AS yours
                  FROM journeys j {join} {_where(clauses)}
                 GROUP BY j.stage""",
            *args,
        )
        stages = {Stage(r["stage"]): int(r["n"]) for r in counted}
        chosen = [r for r in counted if filters.stage is None or r["stage"] == filters.stage]
        total = sum(int(r["n"]) for r in chosen)
        waiting_on_you = sum(int(r["yours"]) for r in chosen)

        args.clear()
        yours = _yours(priority, arg)
        clauses = _filters(filters, now, arg, stage=True)
        at = arg(now)
        rows = await self._conn.fetch(
            f"""SELECT j.journey_id, j.stage, j.waiting_on, j.next_deadline, j.case_manager_id,
                       cm.full_name AS case_manager_name, p.country, j.incident, j.created_at,
                       {"p.full_name" if with_names else "NULL"} AS patient_name,
                       {yours} AS yours,
                       coalesce(j.next_deadline < {at}, false) AS overdue
                  FROM journeys j JOIN patients p USING (patient_id)
                  LEFT JOIN staff cm ON cm.staff_id = j.case_manager_id
                  {_where(clauses)}
                 ORDER BY yours DESC, overdue DESC, j.next_deadline ASC NULLS LAST,
                          j.created_at DESC, j.journey_id
                 LIMIT {arg(limit)} OFFSET {arg(offset)}""",
            *args,
        )
        return WorklistPage(
            items=[_item(r) for r in rows],
            total=total,
            limit=limit,
            offset=offset,
            waiting_on_you=waiting_on_you,
            stages=stages,
        )

    async def countries(self) -> list[str]:
        """The countries of the patients with a journey, for the country filter's choices."""
        rows = await self._conn.fetch(
            """SELECT DISTINCT p.country FROM patients p
                WHERE EXISTS (SELECT 1 FROM journeys j WHERE j.patient_id = p.patient_id)
                ORDER BY 1"""
        )
        # char(2): a shorter value comes back padded with blanks.
        return [r["country"].strip() for r in rows]

    async def case_managers(self) -> list[tuple[str, str]]:
        """Every case manager (id, name), by name, for the case manager filter's choices."""
        rows = await self._conn.fetch(
            """SELECT staff_id, full_name FROM staff WHERE role = 'case_manager'
                ORDER BY active DESC, full_name, staff_id"""
        )
        return [(r["staff_id"], r["full_name"]) for r in rows]

    async def staff_time_zone(self, *, staff_id: str) -> str | None:
        """The time zone a member of staff keeps in their record, if they have a record."""
        zone: str | None = await self._conn.fetchval(
            "SELECT time_zone FROM staff WHERE staff_id = $1", staff_id
        )
        return zone


def _item(r: asyncpg.Record) -> WorklistItem:
    journey_id = str(r["journey_id"])
    return WorklistItem(
        journey_id=journey_id,
        reference=journey_reference(journey_id),
        stage=Stage(r["stage"]),
        waiting_on=WaitingOn(r["waiting_on"]),
        next_deadline=r["next_deadline"],
        overdue=r["overdue"],
        waiting_on_you=r["yours"],
        case_manager_id=r["case_manager_id"],
        case_manager_name=r["case_manager_name"],
        country=r["country"].strip(),
        incident=IncidentKind(r["incident"]) if r["incident"] else None,
        patient_name=r["patient_name"],
        created_at=r["created_at"],
    )
