"""Storing an inquiry: patient, journey, inquiry and consent in one transaction."""

import uuid
from dataclasses import dataclass
from datetime import timedelta

import asyncpg

from domain.inquiry import InquiryForm

CONSENT_PURPOSE_HEALTH_DATA = "health_data_processing"


class IdempotencyConflict(Exception):
    """The Idempotency-Key was used before with a different request body."""


@dataclass(frozen=True)
class StoredInquiry:
    journey_id: str
    patient_id: str
    inquiry_id: str
    created: bool


class IntakeRepository:
    """Owns the SQL of intake. Takes a connection; the caller owns the pool."""

    def __init__(self, conn: asyncpg.Connection) -> None:
        self._conn = conn

    async def store(
        self,
        *,
        form: InquiryForm,
        idempotency_key: str | None,
        request_hash: str,
        source_address: str | None,
        user_agent: str | None,
    ) -> StoredInquiry:
        """Store a new inquiry, or find the one stored before under the same key.

        The key row is inserted first: a concurrent request with the same key blocks on the
        primary key until this transaction ends, then finds the journey stored here.
        """
        journey_id, patient_id, inquiry_id = uuid.uuid4(), uuid.uuid4(), uuid.uuid4()
        async with self._conn.transaction():
            if idempotency_key is not None:
                inserted = await self._conn.fetchval(
                    """INSERT INTO idempotency_keys (idempotency_key, request_hash, journey_id)
                       VALUES ($1, $2, $3) ON CONFLICT DO NOTHING RETURNING journey_id""",
                    idempotency_key,
                    request_hash,
                    journey_id,
                )
                if inserted is None:
                    return await self._existing(idempotency_key, request_hash)
            await self._conn.execute(
                """INSERT INTO patients (patient_id, full_name, email, phone, country,
                                         preferred_language, time_zone)
                   VALUES ($1, $2, $3, $4, $5, $6, $7)""",
                patient_id,
                form.full_name,
                str(form.email),
                form.phone,
                form.country,
                form.preferred_language,
                form.time_zone,
            )
            await self._conn.execute(
                "INSERT INTO journeys (journey_id, patient_id) VALUES ($1, $2)",
                journey_id,
                patient_id,
            )
            await self._conn.execute(
                """INSERT INTO inquiries (inquiry_id, journey_id, patient_id, injury_level,
                       injury_completeness, injury_date, injury_cause, medical_history)
                   VALUES ($1, $2, $3, $4, $5, $6, $7, $8)""",
                inquiry_id,
                journey_id,
                patient_id,
                form.injury_level,
                form.injury_completeness.value,
                form.injury_date,
                form.injury_cause.value,
                form.medical_history,
            )
            await self._conn.execute(
                """INSERT INTO consents (consent_id, patient_id, journey_id, purpose,
                       text_version, granted, source_address, user_agent)
                   VALUES ($1, $2, $3, $4, $5, true, $6, $7)""",
                uuid.uuid4(),
                patient_id,
                journey_id,
                CONSENT_PURPOSE_HEALTH_DATA,
                form.consent_text_version,
                source_address,
                user_agent,
            )
        return StoredInquiry(str(journey_id), str(patient_id), str(inquiry_id), created=True)

    async def _existing(self, idempotency_key: str, request_hash: str) -> StoredInquiry:
        row = await self._conn.fetchrow(
            """SELECT k.request_hash, k.journey_id, i.patient_id, i.inquiry_id
                 FROM idempotency_keys k JOIN inquiries i USING (journey_id)
                WHERE k.idempotency_key = $1""",
            idempotency_key,
        )
        if row is None:  # the key's row exists, so its inquiry was committed with it
            raise RuntimeError(f"idempotency key {idempotency_key!r} has no inquiry")
        if row["request_hash"] != request_hash:
            raise IdempotencyConflict(idempotency_key)
        return StoredInquiry(
            str(row["journey_id"]), str(row["patient_id"]), str(row["inquiry_id"]), created=False
        )

    async def unstarted(self, *, older_than: timedelta, limit: int = 100) -> list[StoredInquiry]:
        """Inquiries stored but not yet taken over by a running journey."""
        rows = await self._conn.fetch(
            """SELECT journey_id, patient_id, inquiry_id FROM inquiries
                WHERE recorded_at IS NULL AND submitted_at < now() - $1::interval
                ORDER BY submitted_at LIMIT $2""",
            older_than,
            limit,
        )
        return [
            StoredInquiry(str(r["journey_id"]), str(r["patient_id"]), str(r["inquiry_id"]), False)
            for r in rows
        ]
