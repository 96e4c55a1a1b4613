"""Demo staff for the embedded stack, so a journey started from the form can go all the way."""

import asyncpg

from db.staff import StaffRepository
from integrations.caldav_calendar import CalDavCalendar
from integrations.calendar import specialist_calendar

DEMO_STAFF = [
    (
        "demo-coordinator",
        "Sofía Navarro",
        "sofia.navarro@journeys.localhost",
        "coordinator",
        ["es", "en"],
        "Europe/Madrid",
    ),
    (
        "demo-cm-es",
        "Lucía Romero",
        "lucia.romero@journeys.localhost",
        "case_manager",
        ["es", "en"],
        "Europe/Madrid",
    ),
    (
        "demo-cm-en",
        "John Baker",
        "john.baker@journeys.localhost",
        "case_manager",
        ["en"],
        "Europe/London",
    ),
    (
        "demo-specialist",
        "Dr. Elena Vidal",
        "elena.vidal@journeys.localhost",
        "specialist",
        ["es", "en"],
        "Europe/Madrid",
    ),
    (
        "demo-reviewer",
        "Dr. Omar Haddad",
        "omar.haddad@journeys.localhost",
        "reviewer",
        ["en"],
        "UTC",
    ),
    (
        "demo-lead",
        "Dr. Marta Gil",
        "marta.gil@journeys.localhost",
        "medical_lead",
        ["es", "en"],
        "Europe/Madrid",
    ),
    (
        "demo-auditor",
        "Ines Weber",
        "ines.weber@journeys.localhost",
        "auditor",
        ["en"],
        "UTC",
    ),
    (
        "demo-privacy",
        "Amara Okafor",
        "amara.okafor@journeys.localhost",
        "privacy_officer",
        ["en"],
        "UTC",
    ),
]


async def seed_demo_staff(database_url: str) -> int:
    conn = await asyncpg.connect(database_url)
    try:
        repo = StaffRepository(conn)
        for staff_id, name, email, role, languages, tz in DEMO_STAFF:
            await repo.add(
                staff_id=staff_id,
                full_name=name,
                email=email,
                role=role,
                languages=languages,
                time_zone=tz,
            )
    finally:
        await conn.close()
    return len(DEMO_STAFF)


def demo_specialists() -> list[str]:
    return [staff_id for staff_id, _, _, role, _, _ in DEMO_STAFF if role == "specialist"]


async def seed_demo_calendars(caldav_url: str, *, username: str, password: str) -> None:
    """The demo specialists' consult calendars, created where missing."""
    calendar = CalDavCalendar(url=caldav_url, username=username, password=password)
    for staff_id in demo_specialists():
        await calendar.ensure_calendar(specialist_calendar(staff_id), f"Consults {staff_id}")
