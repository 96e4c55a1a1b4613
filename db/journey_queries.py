"""Reading journeys for people: lists with filters and paging, and one patient's summary."""

from dataclasses import dataclass
from datetime import datetime

import asyncpg


@dataclass(frozen=True)
class JourneyFilter:
    stage: str | None = None
    waiting_on: str | None = None
    overdue: bool | None = None
    case_manager: str | None = None
    country: str | None = None


class JourneyQueries:
    def __init__(self, conn: asyncpg.Connection) -> None:
        self._conn = conn

    async def exists(self, journey_id: str) -> bool:
        found: bool = await self._conn.fetchval(
            "SELECT EXISTS (SELECT 1 FROM journeys WHERE journey_id = $1)", journey_id
        )
        return found

    async def patient_id(self, journey_id: str) -> str | None:
        value = await self._conn.fetchval(
            "SELECT patient_id FROM journeys WHERE journey_id = $1", journey_id
        )
        return str(value) if value else None

    async def page(
        self, filters: JourneyFilter, *, now: datetime, limit: int, offset: int
    ) -> tuple[list[asyncpg.Record], int]:
        clauses, args = [], []

        def arg(value: object) -> str:
            args.append(value)
            return f"${len(args)}"

        if filters.stage:
            clauses.append(f"j.stage = {arg(filters.stage)}")
        if filters.waiting_on:
            clauses.append(f"j.waiting_on = {arg(filters.waiting_on)}")
        if filters.case_manager:
            clauses.append(f"j.case_manager_id = {arg(filters.case_manager)}")
        if filters.country:
            clauses.append(f"p.country = {arg(filters.country)}")
        if filters.overdue is True:
            clauses.append(f"j.next_deadline < {arg(now)}")
        elif filters.overdue is False:
            clauses.append(f"(j.next_deadline IS NULL OR j.next_deadline >= {arg(now)})")
        where = f"WHERE {' AND '.join(clauses)}" if clauses else ""
        base = f"FROM journeys j JOIN patients p USING (patient_id) {where}"
        total: int = await self._conn.fetchval(f"SELECT count(*) {base}", *args)
        rows = await self._conn.fetch(
            f"""SELECT j.journey_id, j.stage, j.waiting_on, j.next_deadline, j.case_manager_id,
                       p.country, p.full_name, j.created_at, j.updated_at
                  {base}
                 ORDER BY j.created_at DESC, j.journey_id
                 LIMIT {arg(limit)} OFFSET {arg(offset)}""",
            *args,
        )
        return rows, total

    async def patient(self, journey_id: str) -> asyncpg.Record | None:
        row: asyncpg.Record | None = await self._conn.fetchrow(
            """SELECT p.patient_id, p.full_name, p.email, p.phone, p.country,
                      p.preferred_language, p.time_zone, i.injury_level,
                      i.injury_completeness, i.injury_date, i.injury_cause
                 FROM journeys j JOIN patients p USING (patient_id)
                 JOIN inquiries i ON i.journey_id = j.journey_id
                WHERE j.journey_id = $1""",
            journey_id,
        )
        return row
