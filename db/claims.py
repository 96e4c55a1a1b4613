"""Claims' SQL: the live claims of journeys, and making, keeping, ending and taking them over.

What may be claimed by whom, and the audit of each change, are api/claims.py's. A claim is
live while it has not ended, its last action is within the lapse, and what it claims is still
open; all three are decided here, on the database's clock, so that every API replica agrees.
"""

import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

import asyncpg

from db.repository import Repository
from domain.actors import Actor
from domain.claims import Claim, ClaimKind
from domain.stages import Stage


def subject_open(claim: str = "c", journey: str = "j") -> str:
    """An SQL truth value over a claim row and its journey's: what the claim is for is still
    open (the case in VALIDATION, or the very incident it was made for)."""
    return f"""CASE {claim}.kind
        WHEN '{ClaimKind.REVIEW.value}' THEN {journey}.stage = '{Stage.VALIDATION.value}'
        ELSE EXISTS (SELECT 1 FROM incidents i
                      WHERE i.journey_id = {claim}.journey_id
                        AND i.workflow = {claim}.incident_workflow
                        AND i.number = {claim}.incident_number AND i.resolved_at IS NULL)
    END"""


def holder_left(claim: str = "c") -> str:
    """An SQL truth value over a claim row: the staff directory has its holder no longer
    active, or in another role than the one they claimed in. A holder the directory does not
    list (an API token of the organisation's provider) keeps their claim."""
    return f"""EXISTS (SELECT 1 FROM staff s
                   WHERE s.staff_id = {claim}.holder_id
                     AND (NOT s.active OR s.role <> {claim}.holder_role))"""


def live(lapse: str, claim: str = "c", journey: str = "j") -> str:
    """An SQL truth value over a claim row and its journey's: the claim is live. `lapse` is the
    placeholder of the lapse (an interval)."""
    return (
        f"{claim}.ended_at IS NULL AND {claim}.active_at + {lapse}::interval > now() "
        f"AND {subject_open(claim, journey)} AND NOT {holder_left(claim)}"
    )


_LIVE = live("$1")
_CLAIM = """c.claim_id, c.journey_id, c.kind, c.holder_id, c.holder_role, c.claimed_at,
            c.active_at + $1::interval AS lapses_at, c.taken_over_from,
            coalesce(h.full_name, c.holder_id) AS holder_name,
            coalesce(f.full_name, c.taken_over_from) AS taken_over_from_name"""
_NAMES = """LEFT JOIN staff h ON h.staff_id = c.holder_id
            LEFT JOIN staff f ON f.staff_id = c.taken_over_from"""
# Claims of one journey are changed one transaction at a time: pg_advisory_xact_lock's first
# key (db/migrate.py and db/audit_log.py hold single keys of their own).
_LOCK_SPACE = 724_190_017


@dataclass(frozen=True)
class HeldClaim:
    """A live claim with its row's id, for changing it."""

    claim_id: str
    claim: Claim


@dataclass(frozen=True)
class EndedClaim:
    """A claim that was open and has just been ended for no one's action: it lapsed, its
    holder left their role, or what it claimed moved on without its holder's step."""

    claim_id: str
    kind: ClaimKind
    holder_id: str
    holder_role: str
    reason: str
    ended_at: datetime


@dataclass(frozen=True)
class Subject:
    """What a journey has to claim now: its stage, and its newest open incident (the journey's
    or its follow-up year's: workflow and number)."""

    stage: Stage
    incident: tuple[str, int] | None


def _claim(row: asyncpg.Record) -> HeldClaim:
    # The claim's own fields are named as `Claim`'s; its ids are not part of it.
    return HeldClaim(claim_id=str(row["claim_id"]), claim=Claim.model_validate(dict(row)))


class ClaimRepository(Repository):
    """Owns the SQL of claims; for the changes the caller owns the transaction (`lock`
    first)."""

    async def live(self, *, journey_ids: Sequence[str], lapse: timedelta) -> dict[str, list[Claim]]:
        """The live claims of each of these journeys (those with none are left out), in one
        round trip: a worklist page's."""
        rows = await self._conn.fetch(
            f"""SELECT {_CLAIM} FROM claims c JOIN journeys j USING (journey_id) {_NAMES}
                 WHERE c.journey_id = ANY($2::uuid[]) AND {_LIVE}
                 ORDER BY c.journey_id, c.kind""",
            lapse,
            [uuid.UUID(j) for j in journey_ids],
        )
        found: dict[str, list[Claim]] = {}
        for row in rows:
            found.setdefault(str(row["journey_id"]), []).append(_claim(row).claim)
        return found

    async def lock(self, *, journey_id: str) -> None:
        """Hold the journey's claims until the transaction ends: two people claiming, keeping
        or taking over at once are answered one after the other."""
        await self._conn.execute(
            "SELECT pg_advisory_xact_lock($1, hashtext($2))", _LOCK_SPACE, journey_id
        )

    async def stale_journeys(self, *, lapse: timedelta, limit: int) -> list[str]:
        """Journeys with an open claim that is no longer live: lapsed, or its case or incident
        moved on. Read without a lock; `end_stale` under the journey's lock decides."""
        rows = await self._conn.fetch(
            f"""SELECT DISTINCT c.journey_id FROM claims c JOIN journeys j USING (journey_id)
                 WHERE c.ended_at IS NULL AND NOT ({_LIVE})
                 LIMIT $2""",
            lapse,
            limit,
        )
        return [str(r["journey_id"]) for r in rows]

    async def end_stale(self, *, journey_id: str, lapse: timedelta) -> list[EndedClaim]:
        """End the journey's open claims that are no longer live: a lapsed one at the moment
        it lapsed; one whose holder left their role (`holder_left`), or whose case or incident
        moved on (`settled`), now."""
        rows = await self._conn.fetch(
            f"""UPDATE claims c
                   SET ended_at = CASE WHEN c.active_at + $1::interval <= now()
                                       THEN c.active_at + $1::interval ELSE now() END,
                       end_reason = CASE WHEN c.active_at + $1::interval <= now() THEN 'lapsed'
                                         WHEN {holder_left()} THEN 'holder_left'
                                         ELSE 'settled' END
                  FROM journeys j
                 WHERE j.journey_id = c.journey_id AND c.journey_id = $2
                   AND c.ended_at IS NULL AND NOT ({_LIVE})
             RETURNING c.claim_id::text AS claim_id, c.kind, c.holder_id, c.holder_role,
                       c.end_reason AS reason, c.ended_at""",
            lapse,
            uuid.UUID(journey_id),
        )
        return [EndedClaim(**{**r, "kind": ClaimKind(r["kind"])}) for r in rows]

    async def held(self, *, journey_id: str, kind: ClaimKind, lapse: timedelta) -> HeldClaim | None:
        """The journey's live claim of `kind`, if anyone holds one."""
        row = await self._conn.fetchrow(
            f"""SELECT {_CLAIM} FROM claims c JOIN journeys j USING (journey_id) {_NAMES}
                 WHERE c.journey_id = $2 AND c.kind = $3 AND {_LIVE}""",
            lapse,
            uuid.UUID(journey_id),
            kind.value,
        )
        return _claim(row) if row is not None else None

    async def subject(self, *, journey_id: str) -> Subject | None:
        """The journey's stage and newest open incident; None for an unknown journey."""
        row = await self._conn.fetchrow(
            """SELECT j.stage, i.workflow, i.number
                 FROM journeys j
                 LEFT JOIN LATERAL (SELECT workflow, number FROM incidents
                                     WHERE journey_id = j.journey_id AND resolved_at IS NULL
                                     ORDER BY opened_at DESC LIMIT 1) i ON true
                WHERE j.journey_id = $1""",
            uuid.UUID(journey_id),
        )
        if row is None:
            return None
        incident = (row["workflow"], row["number"]) if row["number"] is not None else None
        return Subject(stage=Stage(row["stage"]), incident=incident)

    async def add(
        self,
        *,
        journey_id: str,
        kind: ClaimKind,
        holder: Actor,
        incident: tuple[str, int] | None,
        taken_over_from: str | None = None,
    ) -> str:
        """A new claim, live from now; its id."""
        claim_id = uuid.uuid4()
        workflow, number = incident if incident is not None else (None, None)
        await self._conn.execute(
            """INSERT INTO claims (claim_id, journey_id, kind, holder_id, holder_role,
                                   incident_workflow, incident_number, taken_over_from)
               VALUES ($1, $2, $3, $4, $5, $6, $7, $8)""",
            claim_id,
            uuid.UUID(journey_id),
            kind.value,
            holder.id,
            holder.role.value,
            workflow,
            number,
            taken_over_from,
        )
        return str(claim_id)

    async def keep(self, *, claim_id: str) -> None:
        """Its holder acted on the claim: the lapse counts from now."""
        await self._conn.execute(
            "UPDATE claims SET active_at = now() WHERE claim_id = $1 AND ended_at IS NULL",
            uuid.UUID(claim_id),
        )

    async def end(self, *, claim_id: str, reason: str, by: str) -> None:
        """End an open claim now, for `reason` (`released`, `taken_over`)."""
        await self._conn.execute(
            """UPDATE claims SET ended_at = now(), end_reason = $2, ended_by = $3
                WHERE claim_id = $1 AND ended_at IS NULL""",
            uuid.UUID(claim_id),
            reason,
            by,
        )

    async def end_for_step(self, *, journey_id: str, kind: ClaimKind, holder_id: str) -> str | None:
        """End `holder_id`'s open claim of `kind` on the journey, whose step they have just
        taken; its id, or None when they held none.

        Whether it is still live is not asked: the step may already have moved the journey's
        stage on, which would make it look settled by someone else.
        """
        claim_id: uuid.UUID | None = await self._conn.fetchval(
            """UPDATE claims SET ended_at = now(), end_reason = 'step_taken', ended_by = $3
                WHERE journey_id = $1 AND kind = $2 AND holder_id = $3 AND ended_at IS NULL
            RETURNING claim_id""",
            uuid.UUID(journey_id),
            kind.value,
            holder_id,
        )
        return str(claim_id) if claim_id is not None else None

    async def incident_of(self, *, claim_id: str) -> tuple[str, int] | None:
        """The incident a claim was made for (None for a review claim)."""
        row = await self._conn.fetchrow(
            "SELECT incident_workflow, incident_number FROM claims WHERE claim_id = $1",
            uuid.UUID(claim_id),
        )
        if row is None or row["incident_number"] is None:
            return None
        return row["incident_workflow"], row["incident_number"]
