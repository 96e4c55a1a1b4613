"""Staff records: who can take a case, and how loaded they are."""

import asyncpg

ACTIVE_STAGES_SQL = "('COMPLETED', 'NOT_ELIGIBLE', 'WITHDRAWN', 'LOST_CONTACT')"


class StaffRepository:
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

    async def least_loaded_case_manager(self, language: str) -> str | None:
        """The active case manager speaking `language` with the fewest open journeys."""
        found: str | None = await self._conn.fetchval(
            f"""SELECT s.staff_id FROM staff s
                  LEFT JOIN journeys j ON j.case_manager_id = s.staff_id
                                      AND j.stage NOT IN {ACTIVE_STAGES_SQL}
                 WHERE s.role = 'case_manager' AND s.active AND $1 = ANY (s.languages)
                 GROUP BY s.staff_id
                 ORDER BY count(j.journey_id), s.staff_id
                 LIMIT 1""",
            language,
        )
        return found

    async def least_loaded_specialist(self) -> asyncpg.Record | None:
        row: asyncpg.Record | None = await self._conn.fetchrow(
            """SELECT s.staff_id, s.time_zone FROM staff s
                 LEFT JOIN bookings b ON b.kind = 'consult' AND b.status = 'active'
                                     AND b.slot_id IN (SELECT slot_id FROM consult_slots
                                                        WHERE specialist_id = s.staff_id)
                WHERE s.role = 'specialist' AND s.active
                GROUP BY s.staff_id, s.time_zone
                ORDER BY count(b.booking_id), s.staff_id
                LIMIT 1"""
        )
        return row

    async def is_active(self, staff_id: str, role: str) -> bool:
        found: bool = await self._conn.fetchval(
            "SELECT EXISTS (SELECT 1 FROM staff WHERE staff_id = $1 AND role = $2 AND active)",
            staff_id,
            role,
        )
        return found

    async def contact(self, staff_id: str) -> asyncpg.Record | None:
        row: asyncpg.Record | None = await self._conn.fetchrow(
            "SELECT full_name, email, languages FROM staff WHERE staff_id = $1", staff_id
        )
        return row

    async def first_with_role(self, role: str) -> asyncpg.Record | None:
        row: asyncpg.Record | None = await self._conn.fetchrow(
            """SELECT full_name, email FROM staff WHERE role = $1 AND active
                ORDER BY staff_id LIMIT 1""",
            role,
        )
        return row

    async def active_members(self) -> list[asyncpg.Record]:
        """Every active member of staff with their role, by role and name."""
        rows: list[asyncpg.Record] = await self._conn.fetch(
            """SELECT staff_id, full_name, role FROM staff WHERE active
                ORDER BY role, full_name"""
        )
        return rows

    async def active_member(self, staff_id: str) -> asyncpg.Record | None:
        row: asyncpg.Record | None = await self._conn.fetchrow(
            "SELECT staff_id, full_name, role FROM staff WHERE staff_id = $1 AND active",
            staff_id,
        )
        return row
