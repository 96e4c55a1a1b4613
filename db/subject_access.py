"""Everything held about one patient, for their own copy (GDPR Art. 15 and 20).

Whole rows (`SELECT *`), so a column added later is in the copy without anyone remembering
to add it. `EXPORTED` and `NOT_EXPORTED` classify every table holding a journey's id, and a
test holds each new table to that choice.
"""

from dataclasses import dataclass, field
from typing import Any

from db.repository import Repository

# Table: the column its rows are ordered by.
EXPORTED: dict[str, str] = {
    "inquiries": "submitted_at",
    "consents": "granted_at",
    "documents": "uploaded_at",
    "treatment_plans": "created_at",
    "travel_records": "submitted_at",
    "procedure_reports": "reported_at",
    "adverse_events": "reported_at",
    "follow_up_outcomes": "recorded_at",
    "rehab_checkins": "submitted_at",
    "rehab_follow_ups": "number",
    "rehab_follow_up_notes": "recorded_at",
    "consult_slots": "starts_at",
    "bookings": "booked_at",
    "partner_confirmations": "confirmed_at",
    "stage_changes": "seq",
    "outbox": "created_at",
    "incidents": "opened_at",
    "clinic_events": "received_at",
    "erasure_requests": "requested_at",
    "erasures": "erased_at",
}
NOT_EXPORTED: dict[str, str] = {
    "journeys": "the copy's `journey` section",
    "audit_log": "the copy's `accesses` section (who, in which role, what, when)",
    "idempotency_keys": "a key the form made up and a hash of the submission the copy holds",
    "legal_holds": "legal matters; the privacy officer tells the patient what the law allows",
    "patient_links": "a counter of the links sent, which says nothing about the patient",
    "claims": "which member of staff held the case's review or incident and when: how the "
    "office shares its work, nothing about the patient",
}


@dataclass(frozen=True)
class SubjectRecords:
    """One journey's rows, table by table, as PostgreSQL holds them."""

    journey: dict[str, Any]
    patient: dict[str, Any]
    tables: dict[str, list[dict[str, Any]]] = field(default_factory=dict)
    consent_texts: list[dict[str, Any]] = field(default_factory=list)


class SubjectAccessRepository(Repository):
    """Owns the SQL of a patient's copy."""

    async def collect(self, *, journey_id: str) -> SubjectRecords | None:
        """Every row about the journey and its patient in one snapshot; None when there is
        no such journey."""
        async with self._conn.transaction(isolation="repeatable_read", readonly=True):
            journey = await self._conn.fetchrow(
                "SELECT * FROM journeys WHERE journey_id = $1", journey_id
            )
            if journey is None:
                return None
            patient = await self._conn.fetchrow(
                "SELECT * FROM patients WHERE patient_id = $1", journey["patient_id"]
            )
            tables = {}
            for table, order in EXPORTED.items():
                rows = await self._conn.fetch(
                    f"SELECT * FROM {table} WHERE journey_id = $1 ORDER BY {order}", journey_id
                )
                tables[table] = [dict(r) for r in rows]
            texts = await self._conn.fetch(
                """SELECT t.* FROM consent_texts t
                     JOIN consents c ON c.purpose = t.purpose AND c.text_version = t.version
                                    -- a consent from before the language was kept: each language
                                    AND t.language = coalesce(c.text_language, t.language)
                    WHERE c.journey_id = $1
                    ORDER BY t.version, t.language""",
                journey_id,
            )
        return SubjectRecords(
            journey=dict(journey),
            patient=dict(patient) if patient else {},
            tables=tables,
            consent_texts=[dict(t) for t in texts],
        )
