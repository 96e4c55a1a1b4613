"""Reading journeys for people: lists with filters and paging, and one patient's summary."""

from dataclasses import dataclass
from datetime import date, datetime

import asyncpg

from domain.stages import Stage, WaitingOn


@dataclass(frozen=True)
class JourneyFilter:
    stage: str | None = None
    waiting_on: str | None = None
    overdue: bool | None = None
    case_manager: str | None = None
    country: str | None = None


@dataclass(frozen=True)
class JourneyListing:
    """One journey of a list, as its records project it."""

    journey_id: str
    stage: Stage
    waiting_on: WaitingOn
    next_deadline: datetime | None
    case_manager_id: str | None
    country: str
    patient_name: str
    created_at: datetime
    updated_at: datetime


@dataclass(frozen=True)
class JourneyPatient:
    """The patient behind a journey and the injury their inquiry describes."""

    patient_id: str
    full_name: str
    email: str
    phone: str
    country: str
    preferred_language: str
    time_zone: str | None
    injury_level: str
    injury_completeness: str
    injury_date: date
    injury_cause: str


class JourneyQueries:
    """Owns the SQL of reading journeys for people. Takes a connection; the caller owns the
    pool."""

    def __init__(self, conn: asyncpg.Connection) -> None:
        self._conn = conn

    async def exists(self, *, journey_id: str) -> bool:
        found: bool = await self._conn.fetchval(
            "SELECT EXISTS (SELECT 1 FROM journeys WHERE journey_id = $1)", journey_id
        )
        return found

    async def patient_id(self, *, journey_id: str) -> str | None:
        value = await self._conn.fetchval(
            "SELECT patient_id FROM journeys WHERE journey_id = $1", journey_id
        )
        return str(value) if value else None

    async def page(
        self, *, filters: JourneyFilter, now: datetime, limit: int, offset: int
    ) -> tuple[list[JourneyListing], int]:
        """One page of the journeys `filters` select, newest first, and how many they select
        in all."""
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
        listings = [
            JourneyListing(
                journey_id=str(r["journey_id"]),
                stage=Stage(r["stage"]),
                waiting_on=WaitingOn(r["waiting_on"]),
                next_deadline=r["next_deadline"],
                case_manager_id=r["case_manager_id"],
                # char(2): a shorter value comes back padded with blanks.
                country=r["country"].strip(),
                patient_name=r["full_name"],
                created_at=r["created_at"],
                updated_at=r["updated_at"],
            )
            for r in rows
        ]
        return listings, total

    async def patient(self, *, journey_id: str) -> JourneyPatient | None:
        row = await self._conn.fetchrow(
            """SELECT p.patient_id, p.full_name, p.email, p.phone, p.country,
                      p.preferred_language, p.time_zone, i.injury_level,
                      i.injury_completeness, i.injury_date, i.injury_cause
                 FROM journeys j JOIN patients p USING (patient_id)
                 JOIN inquiries i ON i.journey_id = j.journey_id
                WHERE j.journey_id = $1""",
            journey_id,
        )
        if row is None:
            return None
        return JourneyPatient(
            patient_id=str(row["patient_id"]),
            full_name=row["full_name"],
            email=row["email"],
            phone=row["phone"],
            country=row["country"].strip(),
            preferred_language=row["preferred_language"],
            time_zone=row["time_zone"],
            injury_level=row["injury_level"],
            injury_completeness=row["injury_completeness"],
            injury_date=row["injury_date"],
            injury_cause=row["injury_cause"],
        )
