"""The worklist's SQL: journeys for people, the caller's first and overdue first, with counts.

Read from the journeys' projection (`journeys`, written by the workflows' `record_stage` and
`record_incident` activities), never from Temporal, so a list costs one round trip per query
whatever the number of journeys open.
"""

import json
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from db.claims import live as live_claim
from db.journey_queries import reach_clause
from db.repository import Repository
from domain.incidents import IncidentKind
from domain.names import journey_reference
from domain.readers import Reach
from domain.stages import FINAL_STAGES, Stage
from domain.worklist import (
    IncidentPresence,
    Priority,
    WorklistFilter,
    WorklistItem,
    WorklistPage,
)

Arg = Callable[[object], str]
_FINAL = [stage.value for stage in FINAL_STAGES]
# The journey's case manager, or specialist, no longer holds that role: deactivated in the staff
# directory (or, before the directory refused it, given another role). Each list is read once
# per query, not once per journey.
_CASE_MANAGER_LEFT = (
    "j.case_manager_id = ANY (ARRAY(SELECT staff_id FROM staff"
    " WHERE NOT (active AND role = 'case_manager')))"
)
_SPECIALIST_LEFT = (
    "j.specialist_id = ANY (ARRAY(SELECT staff_id FROM staff"
    " WHERE NOT (active AND role = 'specialist')))"
)


@dataclass(frozen=True)
class WorklistChoices:
    """What the console's filters offer: case managers (id, name) and patients' countries."""

    case_managers: list[tuple[str, str]]
    countries: list[str]


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
    if filters.reassign is not None:
        left = _left(arg)
        clauses.append(left if filters.reassign else f"NOT {left}")
    return clauses


def _left(arg: Arg) -> str:
    """An SQL truth value: the journey has not ended, and its case manager or specialist left."""
    return (
        f"coalesce(j.stage <> ALL({arg(_FINAL)}) AND ({_CASE_MANAGER_LEFT} OR {_SPECIALIST_LEFT}),"
        " false)"
    )


def _unclaimed(priority: Priority, arg: Arg, claim_lapse: timedelta | None) -> str:
    """An SQL truth value: nobody but the caller holds a claim (live for `claim_lapse`) on the
    journey's work of the kind their role claims."""
    if priority.claims is None or claim_lapse is None:
        return "true"
    return f"""NOT EXISTS (
            SELECT 1 FROM claims c
             WHERE c.journey_id = j.journey_id AND c.kind = {arg(priority.claims.value)}
               AND c.holder_id <> {arg(priority.staff_id)} AND {live_claim(arg(claim_lapse))})"""


def _yours(priority: Priority | None, arg: Arg, claim_lapse: timedelta | None) -> str:
    """An SQL truth value: the journey waits on the caller or their role, for work nobody else
    has claimed (a case someone else reviews, an incident someone else resolves)."""
    if priority is None:
        return "false"
    waits = []
    if priority.waiting_on is not None:
        waits.append(f"j.waiting_on = {arg(priority.waiting_on.value)}")
    if priority.assigned is not None:
        column = "j.specialist_id" if priority.assigned == "specialist" else "j.case_manager_id"
        waits.append(f"{column} = {arg(priority.staff_id)}")
        if priority.waiting_on is None:
            # An ended journey waits on no one (a wait names whom, and an ending names none),
            # but it keeps its case manager.
            waits.append(f"j.stage <> ALL({arg(_FINAL)})")
    free = _unclaimed(priority, arg, claim_lapse)
    either = [" AND ".join([*waits, free])] if waits else []
    if priority.open_incidents:
        either.append(f"j.incident IS NOT NULL AND {free}")
    if priority.reassign:
        # Reassigning is no claimed work: it stays the caller's whoever holds the incident.
        either.append(_left(arg))
    if not either:
        return "false"
    # coalesce: a column the rule compares may be NULL (no specialist yet), and NULL would
    # sort first in a descending order.
    return f"coalesce({' OR '.join(f'({e})' for e in either)}, false)"


def _where(clauses: list[str]) -> str:
    return f"WHERE {' AND '.join(clauses)}" if clauses else ""


class WorklistRepository(Repository):
    """Owns the worklist's SQL."""

    async def page(
        self,
        *,
        filters: WorklistFilter,
        reach: Reach,
        priority: Priority | None,
        now: datetime,
        limit: int,
        offset: int,
        with_names: bool,
        claim_lapse: timedelta | None = None,
    ) -> WorklistPage:
        """One page of the journeys `filters` select among those `reach` reaches, with how
        many there are in all, how many wait on the caller, and how many each stage holds
        (under every filter but the stage), in one round trip.

        The page is chosen from `journeys` alone (the patient's country only when filtered
        on), and only its rows are joined to their patients and case managers: the sort reads
        the journeys' narrow rows, not every journey joined to its patient.
        """
        args: list[object] = []

        def arg(value: object) -> str:
            args.append(value)
            return f"${len(args)}"

        yours = _yours(priority, arg, claim_lapse)
        join = "JOIN patients p USING (patient_id)" if filters.country else ""
        reached = [clause] if (clause := reach_clause(reach, arg)) else []
        counted_where = _where(reached + _filters(filters, now, arg, stage=False))
        picked_where = _where(reached + _filters(filters, now, arg, stage=True))
        at = arg(now)
        order = (
            "yours DESC, overdue DESC, next_deadline ASC NULLS LAST, created_at DESC, journey_id"
        )
        row = await self._conn.fetchrow(
            f"""WITH counted AS (
                    SELECT j.stage, count(*) AS n, count(*) FILTER (WHERE {yours}) AS yours
                      FROM journeys j {join} {counted_where}
                     GROUP BY j.stage),
                picked AS (
                    SELECT j.journey_id, j.patient_id, j.stage, j.waiting_on, j.next_deadline,
                           j.case_manager_id, j.specialist_id, j.incident, j.created_at,
                           {yours} AS yours,
                           coalesce(j.next_deadline < {at}, false) AS overdue
                      FROM journeys j {join} {picked_where}
                     ORDER BY {order}
                     LIMIT {arg(limit)} OFFSET {arg(offset)}),
                shown AS (
                    SELECT k.*, cm.full_name AS case_manager_name, trim(p.country) AS country,
                           {"p.full_name" if with_names else "NULL"} AS patient_name,
                           array_remove(ARRAY[
                               CASE WHEN NOT (cm.active AND cm.role = 'case_manager')
                                    THEN 'case_manager' END,
                               CASE WHEN NOT (sp.active AND sp.role = 'specialist')
                                    THEN 'specialist' END], NULL) AS left
                      FROM picked k JOIN patients p USING (patient_id)
                      LEFT JOIN staff cm ON cm.staff_id = k.case_manager_id
                      LEFT JOIN staff sp ON sp.staff_id = k.specialist_id)
                SELECT (SELECT coalesce(json_agg(counted), '[]') FROM counted)::text AS counted,
                       (SELECT coalesce(json_agg(shown ORDER BY {order}), '[]')
                          FROM shown)::text AS shown""",
            *args,
        )
        counted = json.loads(row["counted"])
        stages = {Stage(c["stage"]): int(c["n"]) for c in counted}
        chosen = [c for c in counted if filters.stage is None or c["stage"] == filters.stage]
        return WorklistPage(
            items=[_item(r) for r in json.loads(row["shown"])],
            total=sum(int(c["n"]) for c in chosen),
            limit=limit,
            offset=offset,
            waiting_on_you=sum(int(c["yours"]) for c in chosen),
            stages=stages,
        )

    async def choices(self) -> WorklistChoices:
        """The case manager and country filters' choices, in one round trip.

        Countries by a skip scan of `patients_country_idx` (one index probe per country,
        however many patients): `SELECT DISTINCT` would read every patient on every page view.
        """
        row = await self._conn.fetchrow(
            """SELECT (SELECT coalesce(json_agg(json_build_array(staff_id, full_name)
                                        ORDER BY active DESC, full_name, staff_id), '[]')
                         FROM staff WHERE role = 'case_manager')::text AS case_managers,
                      ARRAY(WITH RECURSIVE seen (country) AS (
                                (SELECT country FROM patients ORDER BY country LIMIT 1)
                                UNION ALL
                                SELECT (SELECT p.country FROM patients p
                                         WHERE p.country > seen.country
                                         ORDER BY p.country LIMIT 1)
                                  FROM seen WHERE seen.country IS NOT NULL)
                            SELECT trim(country) FROM seen WHERE country IS NOT NULL)
                          AS countries"""
        )
        return WorklistChoices(
            case_managers=[(staff_id, name) for staff_id, name in json.loads(row["case_managers"])],
            countries=list(row["countries"]),
        )

    async def staff_time_zone(self, *, staff_id: str) -> str | None:
        """The time zone a member of staff keeps in their record, if they have a record."""
        zone: str | None = await self._conn.fetchval(
            "SELECT time_zone FROM staff WHERE staff_id = $1", staff_id
        )
        return zone


def _item(r: dict[str, Any]) -> WorklistItem:
    """A row of the page as `json_agg` gives it (ids and times as text, which the model
    reads back; the ids it does not show are left out)."""
    return WorklistItem.model_validate(
        {
            **r,
            "reference": journey_reference(r["journey_id"]),
            "waiting_on_you": r["yours"],
            # An ended journey needs no one: its people are history.
            "left": [] if Stage(r["stage"]).is_final else r["left"],
        }
    )
