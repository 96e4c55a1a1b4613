"""A journey's case file for staff: the journey with its people named, the patient's facts,
and the records people wrote about them, each returned as a small model (domain/case_file.py).

Every query is by journey, on the indexes migrations 005 and 008 give those tables.
"""

import json
import uuid
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from pydantic import BaseModel

from db.repository import Repository
from domain.case_file import (
    AdverseEventRecord,
    CaseDocument,
    CaseJourney,
    CaseRecords,
    DocumentFile,
    FollowUpOutcomeRecord,
    IncidentRecordView,
    PartnerConfirmationView,
    PatientFacts,
    PlanRecord,
    ProcedureRecord,
    RehabCheckinRecord,
    RehabFollowUpRecord,
    TravelRecord,
)
from domain.names import journey_reference


@dataclass(frozen=True)
class CaseFileRows:
    """What `CaseFileRepository.case` read: the patient and records only when asked."""

    journey: CaseJourney
    patient: PatientFacts | None
    records: CaseRecords | None
    incidents: list[IncidentRecordView]


def _rows(select: str, order: str) -> str:
    """A subquery giving the rows of `select` as a JSON array, in `order`."""
    return f"(SELECT coalesce(json_agg(x ORDER BY {order}), '[]') FROM ({select}) x)"


def _of_journey(model: type[BaseModel], table: str, order: str) -> str:
    """`_rows` of the journey's rows of `table`, with the columns `model` is named after and
    made of, and only those."""
    columns = ", ".join(model.model_fields)
    return _rows(f"SELECT {columns} FROM {table} WHERE journey_id = j.journey_id", order)


_RECORDS = {
    "documents": _of_journey(CaseDocument, "documents", "x.uploaded_at, x.document_id"),
    "plans": _rows(
        """SELECT t.plan_id, t.specialist_id, s.full_name AS specialist_name, t.cells_target,
                  t.route, t.price, t.currency, t.notes, t.created_at
             FROM treatment_plans t LEFT JOIN staff s ON s.staff_id = t.specialist_id
            WHERE t.journey_id = j.journey_id""",
        "x.created_at",
    ),
    "travel": _of_journey(TravelRecord, "travel_records", "x.submitted_at"),
    "partners": _rows(
        """SELECT c.booking_id, b.kind, c.reference, c.confirmed_by, c.via, c.confirmed_at
             FROM partner_confirmations c JOIN bookings b USING (booking_id)
            WHERE c.journey_id = j.journey_id""",
        "x.confirmed_at",
    ),
    "procedures": _of_journey(ProcedureRecord, "procedure_reports", "x.reported_at"),
    "adverse_events": _of_journey(AdverseEventRecord, "adverse_events", "x.reported_at"),
    "follow_ups": _of_journey(
        FollowUpOutcomeRecord, "follow_up_outcomes", "x.consult_no, x.recorded_at"
    ),
    "checkins": _of_journey(RehabCheckinRecord, "rehab_checkins", "x.week, x.submitted_at"),
    "rehab_follow_ups": _rows(
        """SELECT f.number, f.reason, f.weeks, f.opened_at, f.due_at, f.closed_at, f.closed_by,
                  s.full_name AS closed_by_name, n.outcome, n.note
             FROM rehab_follow_ups f
             LEFT JOIN rehab_follow_up_notes n ON n.record_id = f.record_id
             LEFT JOIN staff s ON s.staff_id = f.closed_by
            WHERE f.journey_id = j.journey_id""",
        "x.number",
    ),
}
_INCIDENTS = _rows(
    """SELECT workflow, number, kind, step, opened_at
         FROM incidents WHERE journey_id = j.journey_id AND resolved_at IS NULL""",
    "x.opened_at",
)
_PATIENT = """
    SELECT row_to_json(x) FROM (
        SELECT p.full_name, p.email, p.phone, trim(p.country) AS country, p.preferred_language,
               p.time_zone, i.injury_level, i.injury_completeness, i.injury_date,
               i.injury_cause, i.medical_history
          FROM inquiries i WHERE i.journey_id = j.journey_id) x"""
# The patient and the records only when $2: an auditor's read never fetches them.
_CASE = f"""
SELECT j.journey_id, j.stage, j.waiting_on, j.next_deadline, j.case_manager_id,
       cm.full_name AS case_manager_name, j.specialist_id, sp.full_name AS specialist_name,
       trim(p.country) AS country, j.incident, j.created_at, j.updated_at,
       (SELECT min(changed_at) FROM stage_changes
         WHERE journey_id = j.journey_id AND stage = 'FOLLOW_UP') AS follow_up_since,
       {_INCIDENTS}::text AS incidents,
       CASE WHEN $2 THEN ({_PATIENT})::text END AS patient,
       CASE WHEN $2 THEN json_build_object(
           {", ".join(f"'{name}', {rows}" for name, rows in _RECORDS.items())}
       )::text END AS records
  FROM journeys j JOIN patients p USING (patient_id)
  LEFT JOIN staff cm ON cm.staff_id = j.case_manager_id
  LEFT JOIN staff sp ON sp.staff_id = j.specialist_id
 WHERE j.journey_id = $1
"""


def _json(text: str) -> Any:
    # Prices and hours stay exact: never a binary fraction on the way.
    return json.loads(text, parse_float=Decimal)


class CaseFileRepository(Repository):
    """Owns the SQL of reading a case."""

    async def case(self, *, journey_id: str, with_patient: bool) -> CaseFileRows | None:
        """The journey with its people named and its open incidents and, `with_patient`,
        the patient's facts and every record written about them, oldest first: one round
        trip, as a page reads all of it at once."""
        r = await self._conn.fetchrow(_CASE, journey_id, with_patient)
        if r is None:
            return None
        journey_id = str(r["journey_id"])
        # The journey's columns are named as its model's fields; the rest are read below.
        journey = CaseJourney.model_validate(
            {**r, "journey_id": journey_id, "reference": journey_reference(journey_id)}
        )
        incidents = [IncidentRecordView(**i) for i in _json(r["incidents"])]
        if not with_patient:
            return CaseFileRows(journey, None, None, incidents)
        records = _json(r["records"])
        return CaseFileRows(
            journey=journey,
            patient=PatientFacts(**_json(r["patient"])) if r["patient"] else None,
            records=CaseRecords(
                documents=[CaseDocument(**x) for x in records["documents"]],
                plans=[PlanRecord(**x) for x in records["plans"]],
                travel=[TravelRecord(**x) for x in records["travel"]],
                partners=[PartnerConfirmationView(**x) for x in records["partners"]],
                procedures=[ProcedureRecord(**x) for x in records["procedures"]],
                adverse_events=[AdverseEventRecord(**x) for x in records["adverse_events"]],
                follow_ups=[FollowUpOutcomeRecord(**x) for x in records["follow_ups"]],
                checkins=[RehabCheckinRecord(**x) for x in records["checkins"]],
                rehab_follow_ups=[RehabFollowUpRecord(**x) for x in records["rehab_follow_ups"]],
            ),
            incidents=incidents,
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
