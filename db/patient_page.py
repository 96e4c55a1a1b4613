"""What the patient's page shows from the records, and the one thing it changes there: the
patient's preferred language."""

from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal

from db.erasure import ErasureRepository
from db.repository import Repository


@dataclass(frozen=True)
class PatientOnPage:
    patient_id: str
    full_name: str
    email: str
    preferred_language: str
    time_zone: str
    case_manager_name: str
    case_manager_email: str
    # Their work phone in E.164, empty when none is on file.
    case_manager_phone: str = ""
    # The zone of the specialist the consultation times are with: the page names both clocks
    # where they differ.
    specialist_time_zone: str | None = None


@dataclass(frozen=True)
class PlanOnPage:
    price: Decimal
    currency: str
    cells_target: int
    route: str
    notes: str


@dataclass(frozen=True)
class DocumentOnPage:
    kind: str
    filename: str
    size_bytes: int
    uploaded_at: datetime


@dataclass(frozen=True)
class TravelOnPage:
    arrival_date: date
    departure_date: date
    arrival_flight: str
    departure_flight: str
    needs_visa: bool
    companions: int = 0


@dataclass(frozen=True)
class CheckinOnPage:
    week: int
    walking_hours_per_day: Decimal
    days_per_week: int


class PatientPageRepository(Repository):
    """Owns the SQL of the patient's page. Each query names the columns of the record it
    answers with, which reads them by name."""

    async def patient(self, journey_id: str) -> PatientOnPage | None:
        row = await self._conn.fetchrow(
            """SELECT p.patient_id::text AS patient_id, p.full_name, p.email,
                      p.preferred_language, coalesce(nullif(p.time_zone, ''), 'UTC') AS time_zone,
                      coalesce(cm.full_name, '') AS case_manager_name,
                      coalesce(cm.email, '') AS case_manager_email,
                      coalesce(cm.phone, '') AS case_manager_phone,
                      sp.time_zone AS specialist_time_zone
                 FROM journeys j JOIN patients p USING (patient_id)
                 LEFT JOIN staff cm ON cm.staff_id = j.case_manager_id
                 LEFT JOIN staff sp ON sp.staff_id = j.specialist_id
                WHERE j.journey_id = $1""",
            journey_id,
        )
        return None if row is None else PatientOnPage(**row)

    async def set_language(self, *, journey_id: str, language: str) -> str | None:
        """Set the journey's patient's preferred language; the one it replaces, or None when
        there is no such journey. Raises `Erased`, changing nothing, once the journey's
        personal data was erased."""
        async with self._conn.transaction():
            if not await ErasureRepository(self._conn).hold_off(journey_id=journey_id):
                return None
            before = await self._conn.fetchval(
                """SELECT p.preferred_language FROM patients p
                     JOIN journeys j USING (patient_id)
                    WHERE j.journey_id = $1 FOR UPDATE OF p""",
                journey_id,
            )
            if before is None:
                return None
            await self._conn.execute(
                """UPDATE patients p SET preferred_language = $2
                     FROM journeys j
                    WHERE j.journey_id = $1 AND p.patient_id = j.patient_id""",
                journey_id,
                language,
            )
        return str(before)

    async def plan(self, journey_id: str) -> PlanOnPage | None:
        row = await self._conn.fetchrow(
            """SELECT price, currency, cells_target, route, notes FROM treatment_plans
                WHERE journey_id = $1 ORDER BY created_at DESC LIMIT 1""",
            journey_id,
        )
        if row is None:
            return None
        # char(3): a shorter value comes back padded with blanks.
        return PlanOnPage(**{**row, "currency": row["currency"].strip()})

    async def documents(self, journey_id: str) -> list[DocumentOnPage]:
        rows = await self._conn.fetch(
            """SELECT kind, filename, size_bytes, uploaded_at FROM documents
                WHERE journey_id = $1 ORDER BY uploaded_at, filename""",
            journey_id,
        )
        return [DocumentOnPage(**r) for r in rows]

    async def travel(self, journey_id: str) -> TravelOnPage | None:
        row = await self._conn.fetchrow(
            """SELECT arrival_date, departure_date, arrival_flight, departure_flight, needs_visa,
                      companions
                 FROM travel_records WHERE journey_id = $1
                  AND coalesce(change_status, 'applied') = 'applied'
                ORDER BY submitted_at DESC LIMIT 1""",
            journey_id,
        )
        return None if row is None else TravelOnPage(**row)

    async def checkins(self, journey_id: str) -> list[CheckinOnPage]:
        rows = await self._conn.fetch(
            """SELECT week, walking_hours_per_day, days_per_week FROM rehab_checkins
                WHERE journey_id = $1 ORDER BY week, submitted_at""",
            journey_id,
        )
        return [CheckinOnPage(**r) for r in rows]
