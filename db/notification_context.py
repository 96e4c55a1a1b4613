"""What a journey's emails say, read from the records at send time (never from the workflow)."""

from dataclasses import dataclass, field
from datetime import date, datetime

import asyncpg


@dataclass
class JourneyFacts:
    """Everything a template may show, for one journey, as read from PostgreSQL."""

    patient_id: str
    patient_name: str
    patient_email: str
    language: str
    time_zone: str
    case_manager_name: str = ""
    case_manager_email: str = ""
    specialist_email: str = ""
    slots: list[datetime] = field(default_factory=list)
    consult_at: datetime | None = None
    consult_end: datetime | None = None
    consult_booking_id: str = ""
    plan_price: str = ""
    plan_currency: str = ""
    visit_start: datetime | None = None
    visit_end: datetime | None = None
    stay_start: datetime | None = None
    stay_end: datetime | None = None
    country: str = ""
    arrival_date: date | None = None
    departure_date: date | None = None
    companions: int = 0
    first_contact: datetime | None = None


async def load_journey_facts(conn: asyncpg.Connection, journey_id: str) -> JourneyFacts | None:
    row = await conn.fetchrow(
        """SELECT p.country, p.patient_id, p.full_name, p.email, p.preferred_language, p.time_zone,
                  cm.full_name AS cm_name, cm.email AS cm_email, sp.email AS sp_email
             FROM journeys j JOIN patients p USING (patient_id)
             LEFT JOIN staff cm ON cm.staff_id = j.case_manager_id
             LEFT JOIN staff sp ON sp.staff_id = j.specialist_id
            WHERE j.journey_id = $1""",
        journey_id,
    )
    if row is None:
        return None
    facts = JourneyFacts(
        patient_id=str(row["patient_id"]),
        patient_name=row["full_name"],
        patient_email=row["email"],
        language=row["preferred_language"],
        time_zone=row["time_zone"] or "UTC",
        case_manager_name=row["cm_name"] or "",
        case_manager_email=row["cm_email"] or "",
        specialist_email=row["sp_email"] or "",
        country=row["country"].strip(),
    )
    facts.slots = [
        r["starts_at"]
        for r in await conn.fetch(
            """SELECT starts_at FROM consult_slots WHERE journey_id = $1
                 AND round = (SELECT max(round) FROM consult_slots WHERE journey_id = $1)
               ORDER BY starts_at""",
            journey_id,
        )
    ]
    bookings = await conn.fetch(
        """SELECT DISTINCT ON (kind) kind, booking_id, starts_at, ends_at FROM bookings
            WHERE journey_id = $1 ORDER BY kind, booked_at DESC""",
        journey_id,
    )
    for b in bookings:
        if b["kind"] == "consult":
            facts.consult_at, facts.consult_booking_id = b["starts_at"], b["booking_id"]
            facts.consult_end = b["ends_at"]
        elif b["kind"] == "clinic_visit":
            facts.visit_start, facts.visit_end = b["starts_at"], b["ends_at"]
        elif b["kind"] == "hotel":
            facts.stay_start, facts.stay_end = b["starts_at"], b["ends_at"]
    travel = await conn.fetchrow(
        """SELECT arrival_date, departure_date, companions FROM travel_records
            WHERE journey_id = $1 ORDER BY submitted_at DESC LIMIT 1""",
        journey_id,
    )
    if travel is not None:
        facts.arrival_date, facts.departure_date = travel["arrival_date"], travel["departure_date"]
        facts.companions = travel["companions"]
    plan = await conn.fetchrow(
        """SELECT price, currency FROM treatment_plans WHERE journey_id = $1
            ORDER BY created_at DESC LIMIT 1""",
        journey_id,
    )
    if plan is not None:
        facts.plan_price, facts.plan_currency = f"{plan['price']:,.2f}", plan["currency"]
    return facts
