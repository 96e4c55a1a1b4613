"""Demo staff for the embedded stack, so a journey started from the form can go all the way.

They are added through the staff directory (`db/staff_directory.py`), as an administrator adds
people in the console: checked, and each audited as the development stack's doing. A member
already in the directory is left as it is, so that what someone changed in the console outlives
a restart of `journeys dev`.
"""

from dataclasses import dataclass, field

import asyncpg

from db.staff import StaffRepository
from db.staff_directory import Acting, StaffDirectory
from integrations.caldav_calendar import CalDavCalendar
from integrations.calendar import specialist_calendar
from settings import Settings

# Who the audit log says added the demo staff.
SEEDED_BY = Acting(actor_id="devstack", actor_role="system", source="journeys dev")


@dataclass(frozen=True)
class DemoMember:
    """A demo member of staff as the directory's form takes them; `hours` by weekday (0 is
    Monday), for a specialist."""

    staff_id: str
    full_name: str
    email: str
    role: str
    languages: tuple[str, ...]
    time_zone: str
    hours: dict[int, str] = field(default_factory=dict)
    consult_minutes: int | None = None

    def form(self) -> dict[str, str]:
        values = {
            "staff_id": self.staff_id,
            "full_name": self.full_name,
            "email": self.email,
            "role": self.role,
            "languages": ", ".join(self.languages),
            "time_zone": self.time_zone,
            "consult_minutes": str(self.consult_minutes or ""),
        }
        values.update({f"hours_{day}": text for day, text in self.hours.items()})
        return values


DEMO_STAFF = [
    DemoMember(
        "demo-coordinator",
        "Sofía Navarro",
        "sofia.navarro@journeys.localhost",
        "coordinator",
        ("es", "en"),
        "Europe/Madrid",
    ),
    DemoMember(
        "demo-cm-es",
        "Lucía Romero",
        "lucia.romero@journeys.localhost",
        "case_manager",
        ("es", "en"),
        "Europe/Madrid",
    ),
    DemoMember(
        "demo-cm-en",
        "John Baker",
        "john.baker@journeys.localhost",
        "case_manager",
        ("en",),
        "Europe/London",
    ),
    DemoMember(
        "demo-specialist",
        "Dr. Elena Vidal",
        "elena.vidal@journeys.localhost",
        "specialist",
        ("es", "en"),
        "Europe/Madrid",
        hours={
            0: "09:00-13:00, 15:00-18:00",
            1: "09:00-13:00, 15:00-18:00",
            2: "09:00-13:00, 15:00-18:00",
            3: "09:00-13:00, 15:00-18:00",
            4: "09:00-14:00",
        },
        consult_minutes=30,
    ),
    DemoMember(
        "demo-reviewer",
        "Dr. Omar Haddad",
        "omar.haddad@journeys.localhost",
        "reviewer",
        ("en",),
        "UTC",
    ),
    DemoMember(
        "demo-lead",
        "Dr. Marta Gil",
        "marta.gil@journeys.localhost",
        "medical_lead",
        ("es", "en"),
        "Europe/Madrid",
    ),
    DemoMember(
        "demo-auditor",
        "Ines Weber",
        "ines.weber@journeys.localhost",
        "auditor",
        ("en",),
        "UTC",
    ),
    DemoMember(
        "demo-privacy",
        "Amara Okafor",
        "amara.okafor@journeys.localhost",
        "privacy_officer",
        ("en",),
        "UTC",
    ),
    DemoMember(
        "demo-staff-admin",
        "Carmen Ortiz",
        "carmen.ortiz@journeys.localhost",
        "staff_admin",
        ("es", "en"),
        "Europe/Madrid",
    ),
]
_DEVELOPMENT_AUDIT_KEY = Settings.model_fields["audit_key"].default.get_secret_value().encode()


async def seed_demo_staff(database_url: str, *, audit_key: bytes = _DEVELOPMENT_AUDIT_KEY) -> int:
    """Add the demo staff the directory does not have yet; how many it added. `audit_key`
    seals their rows in the audit log: the deployment's own, where it is not development's."""
    conn = await asyncpg.connect(database_url)
    added = 0
    try:
        directory = StaffDirectory(conn, audit_key=audit_key, acting=SEEDED_BY)
        repo = StaffRepository(conn)
        for member in DEMO_STAFF:
            if await repo.record(staff_id=member.staff_id) is None:
                await directory.add(member.form())
                added += 1
    finally:
        await conn.close()
    return added


def demo_specialists() -> list[str]:
    return [m.staff_id for m in DEMO_STAFF if m.role == "specialist"]


async def seed_demo_calendars(caldav_url: str, *, username: str, password: str) -> None:
    """The demo specialists' consult calendars, created where missing."""
    calendar = CalDavCalendar(url=caldav_url, username=username, password=password)
    for staff_id in demo_specialists():
        await calendar.ensure_calendar(specialist_calendar(staff_id), f"Consults {staff_id}")
