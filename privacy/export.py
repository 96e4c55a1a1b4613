"""The patient's own copy of their data (GDPR Art. 15 and 20): one machine-readable JSON file
with every row held about them, their documents' content included, and who accessed it."""

import base64
import uuid
from datetime import UTC, date, datetime
from decimal import Decimal
from typing import Any

import asyncpg

from db.accesses import Access, AccessRepository
from db.subject_access import SubjectAccessRepository, SubjectRecords

EXPORT_FORMAT = "patient-journeys/subject-access"
EXPORT_VERSION = 1


def json_value(value: Any) -> Any:
    """A database value as JSON: dates in ISO 8601, amounts as exact decimal strings, ids as
    text; bytes are the callers' to encode."""
    if isinstance(value, datetime):
        return value.astimezone(UTC).isoformat()
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, Decimal | uuid.UUID):
        return str(value)
    if isinstance(value, list | tuple):
        return [json_value(v) for v in value]
    return value


def json_row(row: dict[str, Any]) -> dict[str, Any]:
    """A row as a JSON object; a bytes column `x` becomes `x_base64`."""
    out: dict[str, Any] = {}
    for key, value in row.items():
        if isinstance(value, bytes):
            out[f"{key}_base64"] = base64.b64encode(value).decode("ascii")
        elif isinstance(value, str) and key in ("country",):
            out[key] = value.strip()  # char(2): blank-padded
        else:
            out[key] = json_value(value)
    return out


def access_json(access: Access) -> dict[str, Any]:
    return {
        "at": json_value(access.at),
        "actor_id": access.actor_id,
        "actor_role": access.actor_role,
        "action": access.action,
        "status": access.status,
    }


def subject_document(
    records: SubjectRecords, accesses: list[Access], *, generated_at: datetime
) -> dict[str, Any]:
    """The copy: the journey, the patient, each table's rows under its name, the consent
    texts the patient agreed to, and the accesses to their data."""
    return {
        "format": EXPORT_FORMAT,
        "version": EXPORT_VERSION,
        "generated_at": json_value(generated_at),
        "journey": json_row(records.journey),
        "patient": json_row(records.patient),
        **{table: [json_row(r) for r in rows] for table, rows in records.tables.items()},
        "consent_texts": [json_row(t) for t in records.consent_texts],
        "accesses": [access_json(a) for a in accesses],
    }


async def collect(
    pool: asyncpg.Pool, journey_id: str, *, generated_at: datetime
) -> tuple[SubjectRecords, list[Access]] | None:
    """The records and the accesses of one journey; None when there is no such journey."""
    async with pool.acquire() as conn:
        records = await SubjectAccessRepository(conn).collect(journey_id=journey_id)
        if records is None:
            return None
        accesses = await AccessRepository(conn).for_journey(journey_id=journey_id)
    return records, accesses
