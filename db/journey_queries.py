"""Reading journeys for people: whether one exists, and its patient (the lists are
db/worklist.py's)."""

from dataclasses import dataclass

import asyncpg


@dataclass(frozen=True)
class JourneyPatient:
    """The patient behind a journey: who they are and how to reach them (what a clinic needs
    to reserve the visit, and the name a timeline shows)."""

    patient_id: str
    full_name: str
    email: str
    phone: str
    country: str
    preferred_language: str


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

    async def patient(self, *, journey_id: str) -> JourneyPatient | None:
        """The journey's patient; None for an unknown journey, and for an erased one, whose
        patient is no longer on file."""
        row = await self._conn.fetchrow(
            """SELECT p.patient_id, p.full_name, p.email, p.phone, p.country,
                      p.preferred_language
                 FROM journeys j JOIN patients p USING (patient_id)
                WHERE j.journey_id = $1
                  AND NOT EXISTS (SELECT 1 FROM erasures e WHERE e.journey_id = j.journey_id)""",
            journey_id,
        )
        if row is None:
            return None
        return JourneyPatient(
            patient_id=str(row["patient_id"]),
            full_name=row["full_name"],
            email=row["email"],
            phone=row["phone"],
            # char(2): a shorter value comes back padded with blanks.
            country=row["country"].strip(),
            preferred_language=row["preferred_language"],
        )
