"""Reading journeys for people: whether one exists, whom it is assigned to, which journeys a
person reaches, and its patient (the lists are db/worklist.py's)."""

from collections.abc import Callable
from dataclasses import dataclass

from db.repository import Repository
from domain.readers import Reach, Scope
from domain.stages import Stage


@dataclass(frozen=True)
class JourneyAssignment:
    """Whom a journey is assigned to, as api/authorization.py reads it for one journey."""

    journey_id: str
    stage: Stage
    case_manager_id: str | None
    specialist_id: str | None
    reviewer_id: str | None


def reach_clause(reach: Reach, arg: Callable[[object], str]) -> str | None:
    """An SQL truth value over `journeys j`: the journey is one `reach` reaches (None: every
    journey). The list's side of the rule api/authorization.py applies to one journey; each
    clause reads an index (migrations 009 and 015, and journeys_stage_idx for VALIDATION)."""
    match reach.scope:
        case Scope.EVERY:
            return None
        case Scope.ASSIGNED:
            return f"j.case_manager_id = {arg(reach.person)}"
        case Scope.BOOKED:
            return f"j.specialist_id = {arg(reach.person)}"
        case Scope.REVIEWING:
            validation, person = arg(Stage.VALIDATION.value), arg(reach.person)
            return f"(j.stage = {validation} OR j.reviewer_id = {person})"
        case Scope.OWN_LINK:
            return f"j.journey_id = {arg(reach.person)}::uuid"


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


class JourneyQueries(Repository):
    """Owns the SQL of reading journeys for people."""

    async def exists(self, *, journey_id: str) -> bool:
        found: bool = await self._conn.fetchval(
            "SELECT EXISTS (SELECT 1 FROM journeys WHERE journey_id = $1)", journey_id
        )
        return found

    async def stage(self, *, journey_id: str) -> str | None:
        """The journey's stage as its records last wrote it."""
        value: str | None = await self._conn.fetchval(
            "SELECT stage FROM journeys WHERE journey_id = $1::uuid", journey_id
        )
        return value

    async def assignment(self, *, journey_id: str) -> JourneyAssignment | None:
        """The journey's stage and the people assigned to it; None for an unknown journey."""
        row = await self._conn.fetchrow(
            """SELECT stage, case_manager_id, specialist_id, reviewer_id
                 FROM journeys WHERE journey_id = $1""",
            journey_id,
        )
        if row is None:
            return None
        return JourneyAssignment(
            journey_id=journey_id,
            stage=Stage(row["stage"]),
            case_manager_id=row["case_manager_id"],
            specialist_id=row["specialist_id"],
            reviewer_id=row["reviewer_id"],
        )

    async def patient_id(self, *, journey_id: str) -> str | None:
        value = await self._conn.fetchval(
            "SELECT patient_id FROM journeys WHERE journey_id = $1", journey_id
        )
        return str(value) if value else None

    async def patient(self, *, journey_id: str) -> JourneyPatient | None:
        """The journey's patient; None for an unknown journey, and for an erased one, whose
        patient is no longer on file."""
        row = await self._conn.fetchrow(
            """SELECT p.patient_id::text AS patient_id, p.full_name, p.email, p.phone,
                      trim(p.country) AS country, p.preferred_language
                 FROM journeys j JOIN patients p USING (patient_id)
                WHERE j.journey_id = $1
                  AND NOT EXISTS (SELECT 1 FROM erasures e WHERE e.journey_id = j.journey_id)""",
            journey_id,
        )
        return None if row is None else JourneyPatient(**row)
