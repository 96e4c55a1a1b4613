"""A journey's case file for staff: the journey with its people named, the patient's facts,
and the records people wrote about them, each returned as a small model (domain/case_file.py).

Every query is by journey, on the indexes migrations 005 and 007 give those tables.
"""

import uuid

import asyncpg

from domain.case_file import (
    AdverseEventRecord,
    CaseDocument,
    CaseJourney,
    CaseRecords,
    DocumentFile,
    FollowUpOutcomeRecord,
    IncidentRecordView,
    PatientFacts,
    PlanRecord,
    ProcedureRecord,
    RehabCheckinRecord,
    TravelRecord,
)
from domain.incidents import IncidentKind
from domain.names import journey_reference
from domain.stages import Stage, WaitingOn


class CaseFileRepository:
    """Owns the SQL of reading a case. Takes a connection; the caller owns the pool."""

    def __init__(self, conn: asyncpg.Connection) -> None:
        self._conn = conn

    async def journey(self, *, journey_id: str) -> CaseJourney | None:
        r = await self._conn.fetchrow(
            """SELECT j.journey_id, j.stage, j.waiting_on, j.next_deadline, j.case_manager_id,
                      cm.full_name AS case_manager_name, j.specialist_id,
                      sp.full_name AS specialist_name, p.country, j.incident, j.created_at,
                      j.updated_at
                 FROM journeys j JOIN patients p USING (patient_id)
                 LEFT JOIN staff cm ON cm.staff_id = j.case_manager_id
                 LEFT JOIN staff sp ON sp.staff_id = j.specialist_id
                WHERE j.journey_id = $1""",
            journey_id,
        )
        if r is None:
            return None
        return CaseJourney(
            journey_id=str(r["journey_id"]),
            reference=journey_reference(str(r["journey_id"])),
            stage=Stage(r["stage"]),
            waiting_on=WaitingOn(r["waiting_on"]),
            next_deadline=r["next_deadline"],
            case_manager_id=r["case_manager_id"],
            case_manager_name=r["case_manager_name"],
            specialist_id=r["specialist_id"],
            specialist_name=r["specialist_name"],
            # char(2): a shorter value comes back padded with blanks.
            country=r["country"].strip(),
            incident=IncidentKind(r["incident"]) if r["incident"] else None,
            created_at=r["created_at"],
            updated_at=r["updated_at"],
        )

    async def patient(self, *, journey_id: str) -> PatientFacts | None:
        r = await self._conn.fetchrow(
            """SELECT p.full_name, p.email, p.phone, p.country, p.preferred_language,
                      p.time_zone, i.injury_level, i.injury_completeness, i.injury_date,
                      i.injury_cause, i.medical_history
                 FROM journeys j JOIN patients p USING (patient_id)
                 JOIN inquiries i ON i.journey_id = j.journey_id
                WHERE j.journey_id = $1""",
            journey_id,
        )
        if r is None:
            return None
        return PatientFacts(**{**dict(r), "country": r["country"].strip()})

    async def documents(self, *, journey_id: str) -> list[CaseDocument]:
        rows = await self._conn.fetch(
            """SELECT document_id, kind, filename, content_type, size_bytes, sha256, uploaded_at
                 FROM documents WHERE journey_id = $1 ORDER BY uploaded_at, document_id""",
            journey_id,
        )
        return [CaseDocument(**{**dict(r), "document_id": str(r["document_id"])}) for r in rows]

    async def document(self, *, journey_id: str, document_id: str) -> DocumentFile | None:
        """The document's content, only if it belongs to `journey_id`: a document id of
        another journey reads as no document at all."""
        try:
            key = uuid.UUID(document_id)
        except ValueError:
            return None
        r = await self._conn.fetchrow(
            """SELECT document_id, filename, content_type, content FROM documents
                WHERE document_id = $1 AND journey_id = $2""",
            key,
            journey_id,
        )
        if r is None:
            return None
        return DocumentFile(**{**dict(r), "document_id": str(r["document_id"])})

    async def records(self, *, journey_id: str) -> CaseRecords:
        """Every record written about the patient during the journey, oldest first."""
        fetch = self._conn.fetch
        plans = await fetch(
            """SELECT t.plan_id, t.specialist_id, s.full_name AS specialist_name,
                      t.cells_target, t.route, t.price, t.currency, t.notes, t.created_at
                 FROM treatment_plans t LEFT JOIN staff s ON s.staff_id = t.specialist_id
                WHERE t.journey_id = $1 ORDER BY t.created_at""",
            journey_id,
        )
        travel = await fetch(
            """SELECT arrival_date, departure_date, arrival_flight, departure_flight,
                      companions, needs_visa, notes, submitted_at
                 FROM travel_records WHERE journey_id = $1 ORDER BY submitted_at""",
            journey_id,
        )
        procedures = await fetch(
            """SELECT cells_given, route, minutes, lot, notes, reported_at
                 FROM procedure_reports WHERE journey_id = $1 ORDER BY reported_at""",
            journey_id,
        )
        adverse = await fetch(
            """SELECT severity, description, reported_at
                 FROM adverse_events WHERE journey_id = $1 ORDER BY reported_at""",
            journey_id,
        )
        follow_ups = await fetch(
            """SELECT consult_no, trunk_control, sitting_balance, standing_balance, spasticity,
                      sensation, bladder, postural_hypotension, notes, recorded_at
                 FROM follow_up_outcomes WHERE journey_id = $1
                ORDER BY consult_no, recorded_at""",
            journey_id,
        )
        checkins = await fetch(
            """SELECT week, walking_hours_per_day, days_per_week, notes, submitted_at
                 FROM rehab_checkins WHERE journey_id = $1 ORDER BY week, submitted_at""",
            journey_id,
        )
        return CaseRecords(
            documents=await self.documents(journey_id=journey_id),
            plans=[PlanRecord(**{**dict(r), "plan_id": str(r["plan_id"])}) for r in plans],
            travel=[TravelRecord(**dict(r)) for r in travel],
            procedures=[ProcedureRecord(**dict(r)) for r in procedures],
            adverse_events=[AdverseEventRecord(**dict(r)) for r in adverse],
            follow_ups=[FollowUpOutcomeRecord(**dict(r)) for r in follow_ups],
            checkins=[RehabCheckinRecord(**dict(r)) for r in checkins],
        )

    async def open_incidents(self, *, journey_id: str) -> list[IncidentRecordView]:
        rows = await self._conn.fetch(
            """SELECT workflow, number, kind, step, opened_at FROM incidents
                WHERE journey_id = $1 AND resolved_at IS NULL ORDER BY opened_at""",
            journey_id,
        )
        return [IncidentRecordView(**dict(r)) for r in rows]
