"""Erasing a journey's personal data (GDPR Art. 17), and finding the journeys due for it.

What an erasure leaves is what the rest of the system needs to stay whole and tells nothing
about the patient: ids, stages, the journey's dates, and a tombstone saying when, by whom and
why. Rows that exist only to hold what the patient or staff wrote about them are deleted;
rows others point at (the patient, the inquiry, the consent, bookings) are overwritten.
`ERASED` and `KEPT` classify every table holding a journey's or a patient's id, and a test
holds each new table to that choice.
"""

import json
import uuid
from dataclasses import dataclass
from datetime import datetime
from typing import Annotated

from pydantic import Field

from db.patient_links import PatientLinkRepository
from db.repository import Repository
from domain.privacy import ErasureRefusal, ErasureTrigger
from domain.stages import FINAL_STAGES

_FINAL = sorted(stage.value for stage in FINAL_STAGES)

# Overwritten in place: other rows point at these, or their ids and dates stay meaningful.
# `patients.country` becomes ZZ (ISO 3166's code for "unknown") and the language `und`
# (BCP 47's "undetermined"): both columns are NOT NULL and read by code that expects a value.
_OVERWRITE: dict[str, str] = {
    "patients": """UPDATE patients p SET full_name = '', email = '', phone = '', country = 'ZZ',
                                         preferred_language = 'und', time_zone = NULL
                      FROM journeys j
                     WHERE j.journey_id = $1 AND p.patient_id = j.patient_id""",
    "inquiries": """UPDATE inquiries SET injury_level = NULL, injury_completeness = NULL,
                                         injury_date = NULL, injury_cause = NULL,
                                         medical_history = ''
                     WHERE journey_id = $1""",
    # The consent itself (purpose, text, dates, withdrawal) stays: it is what shows the
    # processing was lawful (Art. 7(1)). The address and browser it came from go.
    "consents": """UPDATE consents SET source_address = NULL, user_agent = NULL
                    WHERE journey_id = $1""",
    # A hash of the submitted form: it would confirm a guess of the whole form.
    "idempotency_keys": """UPDATE idempotency_keys SET request_hash = 'erased'
                            WHERE journey_id = $1""",
    # The clinic's reference can be typed by a coordinator from the clinic's email.
    "bookings": """UPDATE bookings SET external_ref = NULL
                    WHERE journey_id = $1 AND external_ref IS NOT NULL""",
    # A partner's reference names the patient's reservation with it, as the clinic's does;
    # the row stays, as the booking it confirms does, and says when it was confirmed.
    "partner_confirmations": """UPDATE partner_confirmations SET reference = '',
                                                               confirmed_by = ''
                                 WHERE journey_id = $1""",
}
# Deleted: each row is what someone wrote or uploaded about the patient's health or travel.
_DELETE = (
    "documents",
    "treatment_plans",
    "travel_records",
    "procedure_reports",
    "adverse_events",
    "follow_up_outcomes",
    "rehab_checkins",
    "rehab_follow_up_notes",
)
ERASED: tuple[str, ...] = (*_OVERWRITE, *_DELETE)
"""Every table an erasure changes; vacuumed after it, so the old row versions go too."""

KEPT: dict[str, str] = {
    "journeys": "ids, stage, staff ids and dates",
    "stage_changes": "stages, coded ending reasons, deadlines, actor ids and dates",
    "consult_slots": "slot times and the specialist's id",
    "clinic_events": "event ids, kinds, dates and the journey's refusals (codes and stage words)",
    "outbox": "email kinds, steps and message ids: no email body is stored",
    "incidents": "coded kinds, steps, resolutions and staff ids: no free text",
    "rehab_follow_ups": "coded reasons, week numbers, dates and staff ids: what was agreed is "
    "in rehab_follow_up_notes, which the erasure deletes",
    "audit_log": "actor ids, actions, ids, status codes and address tags; append-only",
    "erasure_requests": "the reasons staff gave for erasing, for the record",
    "erasures": "the tombstone",
    "legal_holds": "the reasons staff gave for keeping the records",
    "claims": "who of the staff holds a journey's review or incident, since when, and how "
    "their claim ended: staff ids, coded kinds and dates",
    "patient_links": "the generation of the journey's current links, a number the erasure "
    "moves on so that no link sent before it is honoured",
}
"""Tables holding a journey's or a patient's id that an erasure leaves as they are (but for the
link generation it moves on), and why nothing in them is personal data beyond the ids."""


@dataclass(frozen=True)
class ErasureRecord:
    """The tombstone of an erased journey."""

    journey_id: str
    request_id: str | None
    trigger: ErasureTrigger
    reason: str
    requested_by: str | None
    erased_by: str
    erased_role: str
    erased_at: datetime
    # Described for the API, which answers with the record as it is.
    changed: Annotated[dict[str, int], Field(description="rows removed or overwritten, by table")]


@dataclass(frozen=True)
class ErasureCheck:
    """Whether a journey can be erased now, as its records say."""

    exists: bool
    stage: str | None = None
    started: bool = False
    erased: ErasureRecord | None = None
    held: bool = False

    @property
    def running(self) -> bool:
        """Its workflow took it and has not ended (a never-started inquiry is not running)."""
        return self.started and self.stage not in _FINAL


class Erased(Exception):
    """The journey's personal data was erased: nothing about its patient is written again."""

    def __init__(self, erased_at: datetime) -> None:
        super().__init__(f"the journey's personal data was erased on {erased_at:%Y-%m-%d}")
        self.erased_at = erased_at


class NotErasable(Exception):
    """The journey cannot be erased now; `refusal` says why."""

    def __init__(self, refusal: ErasureRefusal) -> None:
        super().__init__(refusal.value)
        self.refusal = refusal


def _count(status: str) -> int:
    """The row count of a command status such as `UPDATE 3` or `DELETE 0`."""
    return int(status.rsplit(" ", 1)[-1])


# Named as `ErasureRecord`'s fields, which the row is made into.
_TOMBSTONE = """SELECT journey_id::text AS journey_id, request_id::text AS request_id, trigger,
                       reason, requested_by, erased_by, erased_role, erased_at,
                       changed::text AS changed
                  FROM erasures WHERE journey_id = $1"""


class ErasureRepository(Repository):
    """Owns the SQL of erasure."""

    async def check(self, *, journey_id: str) -> ErasureCheck:
        row = await self._conn.fetchrow(
            """SELECT j.stage, i.recorded_at IS NOT NULL AS started,
                      EXISTS (SELECT 1 FROM legal_holds h
                               WHERE h.journey_id = j.journey_id AND h.lifted_at IS NULL)
                          AS held
                 FROM journeys j LEFT JOIN inquiries i USING (journey_id)
                WHERE j.journey_id = $1""",
            journey_id,
        )
        if row is None:
            return ErasureCheck(exists=False)
        return ErasureCheck(
            exists=True,
            stage=row["stage"],
            started=row["started"],
            erased=await self.tombstone(journey_id=journey_id),
            held=row["held"],
        )

    async def tombstone(self, *, journey_id: str) -> ErasureRecord | None:
        row = await self._conn.fetchrow(_TOMBSTONE, journey_id)
        if row is None:
            return None
        trigger, changed = ErasureTrigger(row["trigger"]), json.loads(row["changed"])
        return ErasureRecord(**{**row, "trigger": trigger, "changed": changed})

    async def hold_off(self, *, journey_id: str) -> bool:
        """Before writing anything about the journey's patient, inside the caller's
        transaction: raise `Erased` for an erased journey, and keep an erasure from starting
        until the transaction ends; False when there is no such journey.

        An erasure locks the journey's row FOR UPDATE; this takes FOR KEY SHARE, which waits
        for an erasure under way and holds the next one off, without waiting on the stage
        projection's updates. The tombstone is read by a statement of its own, after the lock,
        so it sees an erasure that committed while this waited.
        """
        if not self._conn.is_in_transaction():
            raise RuntimeError("hold_off needs the caller's transaction")
        found = await self._conn.fetchval(
            "SELECT true FROM journeys WHERE journey_id = $1 FOR KEY SHARE", journey_id
        )
        if not found:
            return False
        erased_at = await self._conn.fetchval(
            "SELECT erased_at FROM erasures WHERE journey_id = $1", journey_id
        )
        if erased_at is not None:
            raise Erased(erased_at)
        return True

    async def consult_events(self, *, journey_id: str) -> list[tuple[str, str]]:
        """(specialist id, booking id) of every consult the journey booked, held or not: a
        calendar may still carry any of them."""
        rows = await self._conn.fetch(
            """SELECT s.specialist_id, b.booking_id
                 FROM bookings b JOIN consult_slots s USING (slot_id)
                WHERE b.journey_id = $1 AND b.kind = 'consult'
                ORDER BY b.booked_at""",
            journey_id,
        )
        return [(r["specialist_id"], r["booking_id"]) for r in rows]

    async def erase(
        self,
        *,
        journey_id: str,
        trigger: ErasureTrigger,
        reason: str,
        erased_by: str,
        erased_role: str,
        request_id: str | None = None,
        requested_by: str | None = None,
    ) -> ErasureRecord:
        """Erase the journey's personal data and leave its tombstone, in one transaction
        (inside the caller's, as a savepoint, when there is one).

        The journey's row is locked first, so a hold placed or an erasure run meanwhile is
        seen. Raises `NotErasable` for an unknown, erased, held or running journey, having
        changed nothing.
        """
        async with self._conn.transaction():
            locked = await self._conn.fetchval(
                "SELECT journey_id FROM journeys WHERE journey_id = $1 FOR UPDATE", journey_id
            )
            if locked is None:
                raise NotErasable(ErasureRefusal.UNKNOWN_JOURNEY)
            check = await self.check(journey_id=journey_id)
            if check.erased is not None:
                raise NotErasable(ErasureRefusal.ALREADY_ERASED)
            if check.held:
                raise NotErasable(ErasureRefusal.LEGAL_HOLD)
            if check.running:
                raise NotErasable(ErasureRefusal.STILL_RUNNING)
            changed: dict[str, int] = {}
            for table, statement in _OVERWRITE.items():
                changed[table] = _count(await self._conn.execute(statement, journey_id))
            for table in _DELETE:
                changed[table] = _count(
                    await self._conn.execute(
                        f"DELETE FROM {table} WHERE journey_id = $1", journey_id
                    )
                )
            # Every link the patient was sent stops opening anything about them.
            await PatientLinkRepository(self._conn).revoke(
                journey_id=journey_id, revoked_by=erased_by
            )
            await self._conn.execute(
                """INSERT INTO erasures (journey_id, request_id, trigger, reason, requested_by,
                                         erased_by, erased_role, changed)
                   VALUES ($1, $2, $3, $4, $5, $6, $7, $8::jsonb)""",
                journey_id,
                uuid.UUID(request_id) if request_id else None,
                trigger.value,
                reason,
                requested_by,
                erased_by,
                erased_role,
                json.dumps({k: v for k, v in changed.items() if v}),
            )
            # Every request still open for the journey is answered by this erasure.
            await self._conn.execute(
                """UPDATE erasure_requests SET executed_at = now(), executed_by = $2
                    WHERE journey_id = $1 AND executed_at IS NULL""",
                journey_id,
                erased_by,
            )
            record = await self.tombstone(journey_id=journey_id)
        assert record is not None
        return record

    async def due(self, *, closed_before: datetime, limit: int) -> list[str]:
        """Journeys that ended before `closed_before`, not erased and not held, oldest id
        first."""
        rows = await self._conn.fetch(
            """SELECT j.journey_id FROM journeys j
                WHERE j.stage = ANY ($2::text[])
                  AND NOT EXISTS (SELECT 1 FROM erasures e WHERE e.journey_id = j.journey_id)
                  AND NOT EXISTS (SELECT 1 FROM legal_holds h
                                   WHERE h.journey_id = j.journey_id AND h.lifted_at IS NULL)
                  AND (SELECT max(s.changed_at) FROM stage_changes s
                        WHERE s.journey_id = j.journey_id) < $1
                ORDER BY j.journey_id
                LIMIT $3""",
            closed_before,
            _FINAL,
            limit,
        )
        return [str(r["journey_id"]) for r in rows]

    async def vacuum(self) -> None:
        """VACUUM the tables erasures change, so the row versions an erasure replaced are
        removed, not only hidden (ANALYZE keeps the planner's statistics honest after it).

        Outside any transaction: VACUUM cannot run inside one. The table names are this
        module's constants, never a caller's text.
        """
        await self._conn.execute(f"VACUUM (ANALYZE) {', '.join(ERASED)}")
