"""Journeys written straight into PostgreSQL, as the workflows' projection would leave them:
lists and the case page read only PostgreSQL, so their tests need no running journey."""

import uuid
from datetime import date, datetime
from typing import Any

import asyncpg

from db.documents import DocumentRepository
from db.intake import IntakeRepository, StoredInquiry
from domain.inquiry import InquiryForm
from tests.helpers import valid_form


async def store_inquiry(conn: asyncpg.Connection, **form: Any) -> StoredInquiry:
    """An inquiry stored as the API stores it (`valid_form` with `form`'s changes), with no
    Idempotency-Key; its journey is not started."""
    return await IntakeRepository(conn).store(
        form=InquiryForm.model_validate(valid_form(**form)),
        idempotency_key=None,
        request_hash=uuid.uuid4().hex,
        source_address=None,
        user_agent=None,
    )


async def add_document(
    pool: asyncpg.Pool,
    journey_id: str,
    *,
    uploaded_by: str,
    kind: str = "mri",
    filename: str = "mri.pdf",
    content_type: str = "application/pdf",
    content: bytes = b"%PDF-1.4 a scan",
) -> str:
    """A document stored as an upload stores it (an MRI scan unless told otherwise); its id."""
    async with pool.acquire() as conn:
        return await DocumentRepository(conn).add(
            journey_id=journey_id,
            kind=kind,
            filename=filename,
            content_type=content_type,
            content=content,
            uploaded_by=uploaded_by,
        )


async def add_journey(
    pool: asyncpg.Pool,
    *,
    stage: str = "VALIDATION",
    waiting_on: str = "reviewer",
    deadline: datetime | None = None,
    case_manager: str | None = None,
    specialist: str | None = None,
    reviewer: str | None = None,
    incident: str | None = None,
    country: str = "ES",
    name: str = "Ana García",
    created_at: datetime | None = None,
    medical_history: str = "Partial sensation below T6.",
) -> str:
    """A journey with its patient and inquiry; returns the journey id."""
    journey_id, patient_id = uuid.uuid4(), uuid.uuid4()
    async with pool.acquire() as conn, conn.transaction():
        await conn.execute(
            """INSERT INTO patients (patient_id, full_name, email, phone, country,
                                     preferred_language, time_zone)
               VALUES ($1, $2, 'ana@example.org', '+34600123456', $3, 'es', 'Europe/Madrid')""",
            patient_id,
            name,
            country,
        )
        await conn.execute(
            """INSERT INTO journeys (journey_id, patient_id, stage, waiting_on, next_deadline,
                                     case_manager_id, specialist_id, reviewer_id, incident,
                                     created_at)
               VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, coalesce($10, now()))""",
            journey_id,
            patient_id,
            stage,
            waiting_on,
            deadline,
            case_manager,
            specialist,
            reviewer,
            incident,
            created_at,
        )
        await conn.execute(
            """INSERT INTO inquiries (inquiry_id, journey_id, patient_id, injury_level,
                                      injury_completeness, injury_date, injury_cause,
                                      medical_history)
               VALUES ($1, $2, $3, 'T4', 'incomplete', $4, 'traffic', $5)""",
            uuid.uuid4(),
            journey_id,
            patient_id,
            date(2023, 5, 1),
            medical_history,
        )
    return str(journey_id)
