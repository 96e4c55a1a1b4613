"""Records people write during a journey (plans, reports, outcomes, check-ins).

They are stored here before the matching step reaches the workflow, which only carries their
ids: the content (doses, scores, notes) never enters a history.
"""

import json
import uuid
from collections.abc import Mapping, Sequence
from datetime import datetime
from decimal import Decimal
from enum import StrEnum
from functools import partialmethod
from typing import Any

from db.repository import Repository
from domain.outcome_scales import EARLIER_SCORES, SCALE_FIELDS


class ClinicalRepository(Repository):
    """Owns the SQL of clinical records."""

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
        scores: Mapping[str, object],
        notes: str = "",
        postural_hypotension: bool | None = None,
        recorded_by: str | None = None,
    ) -> str:
        """A follow-up consult's outcome: `scores` by column, the scales'
        (domain/outcome_scales.py) and the earlier 0 to 10 scores; what is left out is NULL."""
        outcome_id = uuid.uuid4()
        columns = (*SCALE_FIELDS, *EARLIER_SCORES)
        values = [scores.get(c) for c in columns]
        await self._conn.execute(
            f"""INSERT INTO follow_up_outcomes (outcome_id, journey_id, consult_no,
                   {", ".join(columns)}, postural_hypotension, notes, recorded_by)
               VALUES ({", ".join(f"${n}" for n in range(1, len(columns) + 7))})""",
            outcome_id,
            journey_id,
            consult_no,
            *(str(v) if isinstance(v, StrEnum) else v for v in values),
            postural_hypotension,
            notes,
            recorded_by,
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
        pending: bool = False,
    ) -> str:
        """The trip's dates; `pending` for new dates asked for a booked trip, a record the
        trip's reads pass over until the journey has re-booked and it is applied."""
        record_id = uuid.uuid4()
        await self._conn.execute(
            """INSERT INTO travel_records (travel_record_id, journey_id, arrival_date,
                   departure_date, arrival_flight, departure_flight, companions, needs_visa,
                   notes, submitted_by, change_status)
               VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11)""",
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
            "pending" if pending else None,
        )
        return str(record_id)

    # New dates asked for a booked trip.
    add_travel_change = partialmethod(add_travel_record, pending=True)

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

    async def checkin_week(self, *, journey_id: str, checkin_id: str) -> tuple[Decimal, int] | None:
        """One of the journey's check-ins: its hours a day and days; None when it has no such
        check-in."""
        row = await self._conn.fetchrow(
            """SELECT walking_hours_per_day, days_per_week FROM rehab_checkins
                WHERE checkin_id = $1 AND journey_id = $2""",
            checkin_id,
            journey_id,
        )
        return None if row is None else (row["walking_hours_per_day"], row["days_per_week"])

    async def add_rehab_follow_up_note(
        self, *, journey_id: str, follow_up_no: int, outcome: str, note: str, recorded_by: str
    ) -> str:
        """What a case manager agreed with the patient, stored before the step closes the
        follow-up."""
        record_id = uuid.uuid4()
        await self._conn.execute(
            """INSERT INTO rehab_follow_up_notes (record_id, journey_id, follow_up_no, outcome,
                                                  note, recorded_by)
               VALUES ($1, $2, $3, $4, $5, $6)""",
            record_id,
            journey_id,
            follow_up_no,
            outcome,
            note,
            recorded_by,
        )
        return str(record_id)

    async def record_rehab_follow_up(
        self,
        *,
        journey_id: str,
        number: int,
        reason: str,
        weeks: Sequence[int],
        opened_at: datetime,
        due_at: datetime,
        closed_at: datetime | None,
        closed_by: str | None,
        record_id: str | None,
    ) -> None:
        """A follow-up as it opens, and again as it closes; a retry writes the same row."""
        await self._conn.execute(
            """INSERT INTO rehab_follow_ups (journey_id, number, reason, weeks, opened_at,
                                             due_at, closed_at, closed_by, record_id)
               VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)
               ON CONFLICT (journey_id, number) DO UPDATE
                  SET closed_at = coalesce(EXCLUDED.closed_at, rehab_follow_ups.closed_at),
                      closed_by = coalesce(EXCLUDED.closed_by, rehab_follow_ups.closed_by),
                      record_id = coalesce(EXCLUDED.record_id, rehab_follow_ups.record_id)""",
            journey_id,
            number,
            reason,
            list(weeks),
            opened_at,
            due_at,
            closed_at,
            closed_by,
            record_id,
        )

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
