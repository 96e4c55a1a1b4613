"""Staff records: who can take a case, how loaded they are, and the directory's rows."""

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime, time
from typing import Any

import asyncpg

from db.repository import Repository
from domain.actors import Role
from domain.staff import StaffRecord
from domain.stages import FINAL_STAGES
from domain.working_hours import Interval, WorkingHours

# A case manager's load counts the journeys that have not ended.
_ENDED = sorted(stage.value for stage in FINAL_STAGES)
# The hours every specialist was offered at before the directory kept theirs: weekdays at
# 09:00, 11:00 and 15:00, for 30 minutes (migration 016 gave them to the specialists on file).
LEGACY_HOURS: WorkingHours = {
    day: tuple(Interval(time(h, 0), time(h, 30)) for h in (9, 11, 15)) for day in range(5)
}
LEGACY_CONSULT_MINUTES = 30


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
    """A specialist who can be offered consults: their clock, their hours on it, how long a
    consultation takes, and the calendar that says when they are busy (None: their consult
    calendar on the calendar server)."""

    staff_id: str
    time_zone: str
    hours: WorkingHours = field(default_factory=dict)
    consult_minutes: int = LEGACY_CONSULT_MINUTES
    calendar_url: str | None = None


@dataclass(frozen=True)
class DirectoryEntry:
    """A row of the directory's list."""

    staff_id: str
    full_name: str
    email: str
    role: str
    languages: tuple[str, ...]
    time_zone: str
    active: bool
    deactivated_at: datetime | None
    hours_days: int
    phone: str | None = None


class StaffRepository(Repository):
    """Owns the SQL of staff."""

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
        """Add a member (or overwrite one) as given, unchecked: for tests and fixtures. The
        directory adds people through `db/staff_directory.py`, which checks them. A specialist
        gets the hours specialists had before the directory kept theirs (`LEGACY_HOURS`)."""
        specialist = role == Role.SPECIALIST.value
        async with self._conn.transaction():
            await self._conn.execute(
                """INSERT INTO staff (staff_id, full_name, email, role, languages, time_zone,
                                      oidc_subject, consult_minutes)
                   VALUES ($1, $2, $3, $4, $5, $6, $1, $7)
                   ON CONFLICT (staff_id) DO UPDATE SET full_name = EXCLUDED.full_name,
                       email = EXCLUDED.email, role = EXCLUDED.role,
                       languages = EXCLUDED.languages, time_zone = EXCLUDED.time_zone,
                       consult_minutes = EXCLUDED.consult_minutes, updated_at = now()""",
                staff_id,
                full_name,
                email,
                role,
                languages or ["en"],
                time_zone,
                LEGACY_CONSULT_MINUTES if specialist else None,
            )
            await self.replace_hours(staff_id=staff_id, hours=LEGACY_HOURS if specialist else {})

    async def insert(self, record: StaffRecord) -> None:
        """A new member of the directory, with their hours."""
        async with self._conn.transaction():
            await self._conn.execute(
                """INSERT INTO staff (staff_id, full_name, email, role, languages, time_zone,
                                      oidc_subject, calendar_url, consult_minutes, phone)
                   VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)""",
                *_columns(record),
            )
            await self.replace_hours(staff_id=record.staff_id, hours=record.hours)

    async def update(self, record: StaffRecord) -> None:
        """Everything of a member but their id and whether they are active."""
        async with self._conn.transaction():
            await self._conn.execute(
                """UPDATE staff SET full_name = $2, email = $3, role = $4, languages = $5,
                                    time_zone = $6, oidc_subject = $7, calendar_url = $8,
                                    consult_minutes = $9, phone = $10, updated_at = now()
                    WHERE staff_id = $1""",
                *_columns(record),
            )
            await self.replace_hours(staff_id=record.staff_id, hours=record.hours)

    async def replace_hours(self, *, staff_id: str, hours: WorkingHours) -> None:
        await self._conn.execute("DELETE FROM staff_working_hours WHERE staff_id = $1", staff_id)
        await self._conn.executemany(
            """INSERT INTO staff_working_hours (staff_id, weekday, starts, ends)
               VALUES ($1, $2, $3, $4)""",
            [
                (staff_id, day, interval.starts, interval.ends)
                for day, intervals in sorted(hours.items())
                for interval in intervals
            ],
        )

    async def set_active(self, *, staff_id: str, active: bool) -> bool:
        """Activate or deactivate a member; False when they already were (or are unknown)."""
        changed = await self._conn.fetchval(
            """UPDATE staff SET active = $2, updated_at = now(),
                                deactivated_at = CASE WHEN $2 THEN NULL ELSE now() END
                WHERE staff_id = $1 AND active <> $2
            RETURNING true""",
            staff_id,
            active,
        )
        return bool(changed)

    async def record(self, *, staff_id: str) -> StaffRecord | None:
        """A member as the directory keeps them, active or not."""
        row = await self._conn.fetchrow(
            """SELECT staff_id, full_name, email, role, languages, time_zone,
                      coalesce(oidc_subject, staff_id) AS oidc_subject, phone, calendar_url,
                      consult_minutes, active
                 FROM staff WHERE staff_id = $1""",
            staff_id,
        )
        if row is None:
            return None
        hours = await self.hours(staff_id=staff_id)
        return StaffRecord(**{**_fields(row), "role": Role(row["role"]), "hours": hours})

    async def hours(self, *, staff_id: str) -> WorkingHours:
        rows = await self._conn.fetch(
            """SELECT weekday, starts, ends FROM staff_working_hours WHERE staff_id = $1
                ORDER BY weekday, starts""",
            staff_id,
        )
        return _hours(rows)

    async def directory(self) -> list[DirectoryEntry]:
        """Every member, the active first, by name."""
        rows = await self._conn.fetch(
            """SELECT s.staff_id, s.full_name, s.email, s.role, s.languages, s.time_zone,
                      s.active, s.deactivated_at, s.phone,
                      (SELECT count(DISTINCT weekday) FROM staff_working_hours h
                        WHERE h.staff_id = s.staff_id) AS hours_days
                 FROM staff s
                ORDER BY s.active DESC, s.full_name, s.staff_id"""
        )
        return [DirectoryEntry(**_fields(r)) for r in rows]

    async def holder_of(
        self, *, email: str | None = None, oidc_subject: str | None = None
    ) -> str | None:
        """The member (active or not) who has this email (in any case) or subject, if any."""
        if email is not None:
            found: str | None = await self._conn.fetchval(
                "SELECT staff_id FROM staff WHERE lower(email) = lower($1) ORDER BY staff_id",
                email,
            )
            return found
        holder: str | None = await self._conn.fetchval(
            "SELECT staff_id FROM staff WHERE oidc_subject = $1", oidc_subject
        )
        return holder

    async def active_with_role(self, *, role: str) -> int:
        count: int = await self._conn.fetchval(
            "SELECT count(*) FROM staff WHERE role = $1 AND active", role
        )
        return count

    async def open_journeys(self, *, staff_id: str, role: str) -> list[str]:
        """The journeys not ended that `staff_id` holds in `role`: as their case manager, or
        as the specialist they were offered or booked with."""
        column = {"case_manager": "case_manager_id", "specialist": "specialist_id"}.get(role)
        if column is None:
            return []
        rows = await self._conn.fetch(
            f"""SELECT journey_id FROM journeys
                 WHERE {column} = $1 AND NOT stage = ANY ($2::text[])
                 ORDER BY created_at""",
            staff_id,
            _ENDED,
        )
        return [str(r["journey_id"]) for r in rows]

    async def member_by_subject(self, *, oidc_subject: str) -> StaffMember | None:
        """The active member the provider's subject signs in."""
        row = await self._conn.fetchrow(
            """SELECT staff_id, full_name, role FROM staff
                WHERE oidc_subject = $1 AND active""",
            oidc_subject,
        )
        return None if row is None else StaffMember(**row)

    async def least_loaded_case_manager(self, *, languages: Sequence[str]) -> str | None:
        """The active case manager with the fewest open journeys among those speaking the
        first of `languages` that any of them speaks (`es` is spoken by one who has `es` or a
        regional tag of it, such as `es-MX`)."""
        for language in languages:
            found: str | None = await self._conn.fetchval(
                """SELECT s.staff_id FROM staff s
                      LEFT JOIN journeys j ON j.case_manager_id = s.staff_id
                                          AND NOT j.stage = ANY ($2::text[])
                     WHERE s.role = 'case_manager' AND s.active
                       AND EXISTS (SELECT 1 FROM unnest(s.languages) AS l (tag)
                                    WHERE l.tag = $1 OR l.tag LIKE $1 || '-%')
                     GROUP BY s.staff_id
                     ORDER BY count(j.journey_id), s.staff_id
                     LIMIT 1""",
                language,
                _ENDED,
            )
            if found is not None:
                return found
        return None

    async def specialists_by_load(self) -> list[Specialist]:
        """The active specialists with working hours, the one with the fewest active consult
        bookings first, with their hours."""
        return await self._specialists(journey_id=None)

    async def journey_specialist(self, *, journey_id: str) -> Specialist | None:
        """The specialist the journey's consultations are with, while they are active and
        have working hours."""
        found = await self._specialists(journey_id=journey_id)
        return found[0] if found else None

    async def _specialists(self, *, journey_id: str | None) -> list[Specialist]:
        rows = await self._conn.fetch(
            """SELECT s.staff_id, s.time_zone, s.calendar_url,
                      coalesce(s.consult_minutes, $1) AS consult_minutes,
                      (SELECT count(*) FROM bookings b JOIN consult_slots c USING (slot_id)
                        WHERE c.specialist_id = s.staff_id AND b.kind = 'consult'
                          AND b.status = 'active') AS load
                 FROM staff s
                WHERE s.role = 'specialist' AND s.active
                  AND EXISTS (SELECT 1 FROM staff_working_hours h WHERE h.staff_id = s.staff_id)
                  AND ($2::uuid IS NULL OR s.staff_id = (SELECT specialist_id FROM journeys
                                                          WHERE journey_id = $2::uuid))
                ORDER BY load, s.staff_id""",
            LEGACY_CONSULT_MINUTES,
            journey_id,
        )
        hours = await self._conn.fetch(
            """SELECT staff_id, weekday, starts, ends FROM staff_working_hours
                WHERE staff_id = ANY ($1::text[]) ORDER BY staff_id, weekday, starts""",
            [r["staff_id"] for r in rows],
        )
        return [
            Specialist(
                staff_id=r["staff_id"],
                time_zone=r["time_zone"],
                hours=_hours([h for h in hours if h["staff_id"] == r["staff_id"]]),
                consult_minutes=r["consult_minutes"],
                calendar_url=r["calendar_url"],
            )
            for r in rows
        ]

    async def calendar_of(self, *, staff_id: str) -> str | None:
        """The calendar a specialist's bookings go into, when it is not their consult calendar
        on the calendar server (None then)."""
        found: str | None = await self._conn.fetchval(
            "SELECT calendar_url FROM staff WHERE staff_id = $1", staff_id
        )
        return found

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
        return None if row is None else StaffContact(**_fields(row))

    async def first_with_role(self, *, role: str) -> StaffContact | None:
        """The active member of staff with `role` whose id sorts first."""
        row = await self._conn.fetchrow(
            """SELECT full_name, email, languages FROM staff WHERE role = $1 AND active
                ORDER BY staff_id LIMIT 1""",
            role,
        )
        return None if row is None else StaffContact(**_fields(row))

    async def active_members(self) -> list[StaffMember]:
        """Every active member of staff with their role, by role and name."""
        rows = await self._conn.fetch(
            """SELECT staff_id, full_name, role FROM staff WHERE active
                ORDER BY role, full_name"""
        )
        return [StaffMember(**r) for r in rows]

    async def active_member(self, *, staff_id: str) -> StaffMember | None:
        row = await self._conn.fetchrow(
            "SELECT staff_id, full_name, role FROM staff WHERE staff_id = $1 AND active",
            staff_id,
        )
        return None if row is None else StaffMember(**row)


def _fields(row: asyncpg.Record) -> dict[str, Any]:
    """A row's columns by name, for the model named as they are: its languages as the tuple
    the models keep."""
    return {**row, "languages": tuple(row["languages"])}


def _columns(record: StaffRecord) -> tuple[object, ...]:
    return (
        record.staff_id,
        record.full_name,
        record.email,
        record.role.value,
        list(record.languages),
        record.time_zone,
        record.oidc_subject,
        record.calendar_url,
        record.consult_minutes,
        record.phone,
    )


def _hours(rows: Sequence[asyncpg.Record]) -> WorkingHours:
    hours: dict[int, tuple[Interval, ...]] = {}
    for r in rows:
        hours[r["weekday"]] = (*hours.get(r["weekday"], ()), Interval(r["starts"], r["ends"]))
    return hours
