"""Records people write during a journey (plans, reports, outcomes, check-ins).

They are stored here before the matching step reaches the workflow, which only carries their
ids: the content (doses, scores, notes) never enters a history.
"""

import json
import uuid
from decimal import Decimal
from typing import Any

import asyncpg


class ClinicalRepository:
    """Owns the SQL of clinical records. Takes a connection; the caller owns the pool."""

    def __init__(self, conn: asyncpg.Connection) -> None:
        self._conn = conn

    async def add_plan(
        self,
        *,
        journey_id: str,
        specialist_id: str,
        price: Decimal,
        currency: str,
        cells_target: int = 120_000_000,
        notes: str = "",
    ) -> str:
        plan_id = uuid.uuid4()
        await self._conn.execute(
            """INSERT INTO treatment_plans (plan_id, journey_id, specialist_id, cells_target,
                                            price, currency, notes)
               VALUES ($1, $2, $3, $4, $5, $6, $7)""",
            plan_id,
            journey_id,
            specialist_id,
            cells_target,
            price,
            currency,
            notes,
        )
        return str(plan_id)

    async def add_procedure_report(
        self,
        *,
        journey_id: str,
        cells_given: int,
        route: str,
        minutes: int,
        lot: str,
        notes: str = "",
    ) -> str:
        report_id = uuid.uuid4()
        await self._conn.execute(
            """INSERT INTO procedure_reports (report_id, journey_id, cells_given, route,
                                              minutes, lot, notes)
               VALUES ($1, $2, $3, $4, $5, $6, $7)""",
            report_id,
            journey_id,
            cells_given,
            route,
            minutes,
            lot,
            notes,
        )
        return str(report_id)

    async def add_adverse_event(self, *, journey_id: str, severity: str, description: str) -> str:
        event_id = uuid.uuid4()
        await self._conn.execute(
            """INSERT INTO adverse_events (event_id, journey_id, severity, description)
               VALUES ($1, $2, $3, $4)""",
            event_id,
            journey_id,
            severity,
            description,
        )
        return str(event_id)

    async def add_follow_up_outcome(
        self,
        *,
        journey_id: str,
        consult_no: int,
        scores: dict[str, int],
        notes: str = "",
        postural_hypotension: bool | None = None,
    ) -> str:
        outcome_id = uuid.uuid4()
        await self._conn.execute(
            """INSERT INTO follow_up_outcomes (outcome_id, journey_id, consult_no, trunk_control,
                   sitting_balance, standing_balance, spasticity, sensation, bladder,
                   postural_hypotension, notes)
               VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11)""",
            outcome_id,
            journey_id,
            consult_no,
            scores.get("trunk_control"),
            scores.get("sitting_balance"),
            scores.get("standing_balance"),
            scores.get("spasticity"),
            scores.get("sensation"),
            scores.get("bladder"),
            postural_hypotension,
            notes,
        )
        return str(outcome_id)

    async def add_rehab_checkin(
        self,
        *,
        journey_id: str,
        week: int,
        walking_hours_per_day: Decimal,
        days_per_week: int,
        notes: str = "",
    ) -> str:
        checkin_id = uuid.uuid4()
        await self._conn.execute(
            """INSERT INTO rehab_checkins (checkin_id, journey_id, week, walking_hours_per_day,
                                           days_per_week, notes)
               VALUES ($1, $2, $3, $4, $5, $6)""",
            checkin_id,
            journey_id,
            week,
            walking_hours_per_day,
            days_per_week,
            notes,
        )
        return str(checkin_id)

    async def add_travel_record(
        self,
        *,
        journey_id: str,
        arrival_date: object,
        departure_date: object,
        arrival_flight: str,
        departure_flight: str,
        companions: int,
        needs_visa: bool,
        notes: str,
        submitted_by: str,
    ) -> str:
        record_id = uuid.uuid4()
        await self._conn.execute(
            """INSERT INTO travel_records (travel_record_id, journey_id, arrival_date,
                   departure_date, arrival_flight, departure_flight, companions, needs_visa,
                   notes, submitted_by)
               VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)""",
            record_id,
            journey_id,
            arrival_date,
            departure_date,
            arrival_flight,
            departure_flight,
            companions,
            needs_visa,
            notes,
            submitted_by,
        )
        return str(record_id)

    async def add_travel_change(
        self,
        *,
        journey_id: str,
        arrival_date: object,
        departure_date: object,
        arrival_flight: str,
        departure_flight: str,
        companions: int,
        needs_visa: bool,
        notes: str,
        submitted_by: str,
    ) -> str:
        """New dates asked for a booked trip: a travel record marked `pending` until the
        journey has re-booked, which the trip's reads pass over until it is applied."""
        record_id = uuid.uuid4()
        await self._conn.execute(
            """INSERT INTO travel_records (travel_record_id, journey_id, arrival_date,
                   departure_date, arrival_flight, departure_flight, companions, needs_visa,
                   notes, submitted_by, change_status)
               VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, 'pending')""",
            record_id,
            journey_id,
            arrival_date,
            departure_date,
            arrival_flight,
            departure_flight,
            companions,
            needs_visa,
            notes,
            submitted_by,
        )
        return str(record_id)

    async def set_travel_change(
        self, *, journey_id: str, travel_record_id: str, status: str
    ) -> None:
        await self._conn.execute(
            """UPDATE travel_records SET change_status = $3
                WHERE journey_id = $1 AND travel_record_id = $2
                  AND change_status IS NOT NULL""",
            journey_id,
            uuid.UUID(travel_record_id),
            status,
        )

    async def claim_clinic_event(self, *, event_id: str, journey_id: str, kind: str) -> bool:
        """Record a clinic event delivery; False when this event was delivered before."""
        inserted = await self._conn.fetchval(
            """INSERT INTO clinic_events (event_id, journey_id, kind) VALUES ($1, $2, $3)
               ON CONFLICT DO NOTHING RETURNING event_id""",
            event_id,
            journey_id,
            kind,
        )
        return inserted is not None

    async def forget_clinic_event(self, *, event_id: str) -> None:
        """Forget a delivery that is not known to have reached its journey, so the clinic can
        resend it."""
        await self._conn.execute("DELETE FROM clinic_events WHERE event_id = $1", event_id)

    async def refuse_clinic_event(self, *, event_id: str, refusal: dict[str, Any]) -> None:
        """Keep the journey's refusal of a claimed event: its id stays spent."""
        await self._conn.execute(
            "UPDATE clinic_events SET refusal = $2::jsonb WHERE event_id = $1",
            event_id,
            json.dumps(refusal),
        )

    async def clinic_event_refusal(self, *, event_id: str) -> dict[str, Any] | None:
        """How a claimed event was refused; None when it was taken (or is on its way)."""
        refusal = await self._conn.fetchval(
            "SELECT refusal::text FROM clinic_events WHERE event_id = $1", event_id
        )
        return json.loads(refusal) if refusal is not None else None

    async def cells_given(self, *, journey_id: str, report_id: str) -> int | None:
        """The dose of one of the journey's procedure reports; None when it has no such
        report."""
        cells: int | None = await self._conn.fetchval(
            """SELECT cells_given FROM procedure_reports
                WHERE report_id = $1 AND journey_id = $2""",
            report_id,
            journey_id,
        )
        return cells
