"""Storing an inquiry: patient, journey, inquiry and consent in one transaction."""

import uuid
from dataclasses import dataclass
from datetime import timedelta

from db.consents import ConsentRepository
from db.repository import Repository
from domain.inquiry import InquiryForm
from domain.privacy import CONSENT_PURPOSE_HEALTH_DATA

# Data-modifying CTEs see one snapshot, and the foreign keys between the new rows are
# checked at the end of the statement, once all of them exist.
_STORE = """
WITH key AS (
    INSERT INTO idempotency_keys (idempotency_key, request_hash, journey_id)
    SELECT $1::text, $2::text, $3::uuid WHERE $1::text IS NOT NULL
    ON CONFLICT DO NOTHING
    RETURNING journey_id
), go AS (
    SELECT 1 WHERE $1::text IS NULL OR EXISTS (SELECT 1 FROM key)
), patient AS (
    INSERT INTO patients (patient_id, full_name, email, phone, country, preferred_language,
                          time_zone)
    SELECT $4, $5, $6, $7, $8, $9, $10 FROM go
    RETURNING patient_id
), journey AS (
    INSERT INTO journeys (journey_id, patient_id)
    SELECT $3, patient_id FROM patient
    RETURNING journey_id
), inquiry AS (
    INSERT INTO inquiries (inquiry_id, journey_id, patient_id, injury_level,
                           injury_completeness, injury_date, injury_cause, medical_history)
    SELECT $11, journey_id, $4, $12, $13, $14, $15, $16 FROM journey
), consent AS (
    INSERT INTO consents (consent_id, patient_id, journey_id, purpose, text_version, granted,
                          source_address, user_agent, text_language)
    SELECT $17, $4, journey_id, $18, $19, true, $20, $21, $22 FROM journey
)
SELECT EXISTS (SELECT 1 FROM go)
"""


class IdempotencyConflict(Exception):
    """The Idempotency-Key was used before with a different request body."""


class UnknownConsentText(Exception):
    """The form names a consent text version we never showed."""


@dataclass(frozen=True)
class StoredInquiry:
    journey_id: str
    patient_id: str
    inquiry_id: str
    created: bool


class IntakeRepository(Repository):
    """Owns the SQL of intake."""

    async def store(
        self,
        *,
        form: InquiryForm,
        idempotency_key: str | None,
        request_hash: str,
        source_address: str | None,
        user_agent: str | None,
        consent_language: str | None = None,
    ) -> StoredInquiry:
        """Store a new inquiry, or find the one stored before under the same key.

        One statement (so one round trip, and its own transaction): the key row first, then,
        only if it was inserted (or there is no key), the patient, journey, inquiry and
        consent. A concurrent request with the same key blocks on the key's primary key until
        this one commits, then inserts nothing and finds the journey stored here.

        The consent points at the text the patient was shown: the form's version in
        `consent_language` (the page's language; the patient's preferred language when not
        known), or in English where that text does not exist, as the form showed it.
        """
        shown = await ConsentRepository(self._conn).shown_language(
            purpose=CONSENT_PURPOSE_HEALTH_DATA,
            version=form.consent_text_version,
            language=consent_language or form.preferred_language,
        )
        if shown is None:
            raise UnknownConsentText(form.consent_text_version)
        journey_id, patient_id, inquiry_id = uuid.uuid4(), uuid.uuid4(), uuid.uuid4()
        stored = await self._conn.fetchval(
            _STORE,
            idempotency_key,
            request_hash,
            journey_id,
            patient_id,
            form.full_name,
            str(form.email),
            form.phone,
            form.country,
            form.preferred_language,
            form.time_zone,
            inquiry_id,
            form.injury_level,
            form.injury_completeness.value,
            form.injury_date,
            form.injury_cause.value,
            form.medical_history,
            uuid.uuid4(),
            CONSENT_PURPOSE_HEALTH_DATA,
            form.consent_text_version,
            source_address,
            user_agent,
            shown,
        )
        if not stored:
            assert idempotency_key is not None  # without a key every statement stores
            return await self._existing(idempotency_key, request_hash)
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
        """Inquiries stored but not yet taken over by a running journey (an erased one is
        never started)."""
        rows = await self._conn.fetch(
            """SELECT journey_id, patient_id, inquiry_id FROM inquiries i
                WHERE recorded_at IS NULL AND submitted_at < now() - $1::interval
                  AND NOT EXISTS (SELECT 1 FROM erasures e WHERE e.journey_id = i.journey_id)
                ORDER BY submitted_at LIMIT $2""",
            older_than,
            limit,
        )
        return [
            StoredInquiry(str(r["journey_id"]), str(r["patient_id"]), str(r["inquiry_id"]), False)
            for r in rows
        ]
