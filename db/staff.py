"""Staff records: who can take a case, and how loaded they are."""

from collections.abc import Sequence
from dataclasses import dataclass

import asyncpg

from domain.stages import FINAL_STAGES

# A case manager's load counts the journeys that have not ended.
_ENDED = sorted(stage.value for stage in FINAL_STAGES)


@dataclass(frozen=True)
class StaffContact:
    """How to name and reach a member of staff, and the languages they work in, most used
    first."""

    full_name: str
    email: str
    languages: tuple[str, ...] = ()


@dataclass(frozen=True)
class StaffMember:
    """A member of staff as the console lists them."""

    staff_id: str
    full_name: str
    role: str


@dataclass(frozen=True)
class Specialist:
    """A specialist who can be offered consults, and the time zone of their working hours."""

    staff_id: str
    time_zone: str


class StaffRepository:
    """Owns the SQL of staff. Takes a connection; the caller owns the pool."""

    def __init__(self, conn: asyncpg.Connection) -> None:
        self._conn = conn

    async def add(
        self,
        *,
        staff_id: str,
        full_name: str,
        email: str,
        role: str,
        languages: list[str] | None = None,
        time_zone: str = "UTC",
    ) -> None:
        await self._conn.execute(
            """INSERT INTO staff (staff_id, full_name, email, role, languages, time_zone)
               VALUES ($1, $2, $3, $4, $5, $6)
               ON CONFLICT (staff_id) DO UPDATE SET full_name = EXCLUDED.full_name,
                   email = EXCLUDED.email, role = EXCLUDED.role,
                   languages = EXCLUDED.languages, time_zone = EXCLUDED.time_zone""",
            staff_id,
            full_name,
            email,
            role,
            languages or ["en"],
            time_zone,
        )

    async def least_loaded_case_manager(self, *, languages: Sequence[str]) -> str | None:
        """The active case manager with the fewest open journeys among those speaking the
        first of `languages` that any of them speaks."""
        for language in languages:
            found: str | None = await self._conn.fetchval(
                """SELECT s.staff_id FROM staff s
                      LEFT JOIN journeys j ON j.case_manager_id = s.staff_id
                                          AND NOT j.stage = ANY ($2::text[])
                     WHERE s.role = 'case_manager' AND s.active AND $1 = ANY (s.languages)
                     GROUP BY s.staff_id
                     ORDER BY count(j.journey_id), s.staff_id
                     LIMIT 1""",
                language,
                _ENDED,
            )
            if found is not None:
                return found
        return None

    async def least_loaded_specialist(self) -> Specialist | None:
        """The active specialist with the fewest active consult bookings."""
        row = await self._conn.fetchrow(
            """SELECT s.staff_id, s.time_zone FROM staff s
                 LEFT JOIN bookings b ON b.kind = 'consult' AND b.status = 'active'
                                     AND b.slot_id IN (SELECT slot_id FROM consult_slots
                                                        WHERE specialist_id = s.staff_id)
                WHERE s.role = 'specialist' AND s.active
                GROUP BY s.staff_id, s.time_zone
                ORDER BY count(b.booking_id), s.staff_id
                LIMIT 1"""
        )
        return None if row is None else Specialist(row["staff_id"], row["time_zone"])

    async def is_active(self, *, staff_id: str, role: str) -> bool:
        found: bool = await self._conn.fetchval(
            "SELECT EXISTS (SELECT 1 FROM staff WHERE staff_id = $1 AND role = $2 AND active)",
            staff_id,
            role,
        )
        return found

    async def contact(self, *, staff_id: str) -> StaffContact | None:
        row = await self._conn.fetchrow(
            "SELECT full_name, email, languages FROM staff WHERE staff_id = $1", staff_id
        )
        return None if row is None else _contact(row)

    async def first_with_role(self, *, role: str) -> StaffContact | None:
        """The active member of staff with `role` whose id sorts first."""
        row = await self._conn.fetchrow(
            """SELECT full_name, email, languages FROM staff WHERE role = $1 AND active
                ORDER BY staff_id LIMIT 1""",
            role,
        )
        return None if row is None else _contact(row)

    async def active_members(self) -> list[StaffMember]:
        """Every active member of staff with their role, by role and name."""
        rows = await self._conn.fetch(
            """SELECT staff_id, full_name, role FROM staff WHERE active
                ORDER BY role, full_name"""
        )
        return [StaffMember(r["staff_id"], r["full_name"], r["role"]) for r in rows]

    async def active_member(self, *, staff_id: str) -> StaffMember | None:
        row = await self._conn.fetchrow(
            "SELECT staff_id, full_name, role FROM staff WHERE staff_id = $1 AND active",
            staff_id,
        )
        return None if row is None else StaffMember(row["staff_id"], row["full_name"], row["role"])


def _contact(row: asyncpg.Record) -> StaffContact:
    return StaffContact(row["full_name"], row["email"], tuple(row["languages"]))
