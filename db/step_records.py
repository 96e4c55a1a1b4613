"""Records stored for a step before the step reaches its journey, and their removal when the
journey refuses the step.

A step's record is committed first because the journey's activities read it. Only the
journey's refusal proves it never saw the record; after a timeout or a lost connection it may
have, so the record stays (an unreferenced record harms nothing; a missing one stops a
journey).
"""

from collections.abc import Sequence

import asyncpg

from domain.step_declarations import StepRecord

# Table and key of each kind; fixed here so no caller's text reaches the SQL.
_WHERE: dict[StepRecord, tuple[str, str]] = {
    StepRecord.DOCUMENT: ("documents", "document_id"),
    StepRecord.PLAN: ("treatment_plans", "plan_id"),
    StepRecord.TRAVEL: ("travel_records", "travel_record_id"),
    StepRecord.TRAVEL_CHANGE: ("travel_records", "travel_record_id"),
    StepRecord.PARTNER_CONFIRMATION: ("partner_confirmations", "confirmation_id"),
    StepRecord.PROCEDURE_REPORT: ("procedure_reports", "report_id"),
    StepRecord.ADVERSE_EVENT: ("adverse_events", "event_id"),
    StepRecord.FOLLOW_UP_OUTCOME: ("follow_up_outcomes", "outcome_id"),
    StepRecord.REHAB_CHECKIN: ("rehab_checkins", "checkin_id"),
    StepRecord.REHAB_FOLLOW_UP: ("rehab_follow_up_notes", "record_id"),
}


async def remove_refused(
    conn: asyncpg.Connection, kind: StepRecord, record_ids: Sequence[str]
) -> None:
    """Remove records whose step the journey refused."""
    table, key = _WHERE[kind]
    await conn.execute(f"DELETE FROM {table} WHERE {key} = ANY($1::uuid[])", list(record_ids))
