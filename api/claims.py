"""Claims on journeys (domain/claims.py): making, keeping, releasing and taking them over, and
the check before a step a claim keeps for its holder. The JSON API's routes
(api/routes/claims.py), the console's forms (api/console/claims.py) and the taking of steps
(api/step_access.py) all come here.

Every change is one transaction that writes the claim and its row in the audit log together
(`claim.claimed`, `claim.kept`, `claim.released`, `claim.taken_over`, `claim.step_taken`),
with who acted and, for a takeover, whose claim it was. A claim that ends by no one's action
(`claim.lapsed`; `claim.holder_left`: the staff directory made its holder inactive or gave
them another role; `claim.settled`: its case or incident moved on without its holder's step) is
audited as the system's, naming its holder. A lapse is decided on the database's clock as the
claims are read, so it takes effect on time; its row is ended and audited by the next request
that works with the journey's claims, or by the API's sweep (`ClaimDesk.sweep`),
whichever comes first. A refusal is a `ClaimRefused`: a 409 problem with its code, having
changed nothing.
"""

import logging
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

import asyncpg
from fastapi import FastAPI

from api.problems import ProblemError
from audit.log import AuditEntry, AuditLog, draft_entry
from db.claims import ClaimRepository, EndedClaim, HeldClaim
from domain.actors import SYSTEM, Actor
from domain.claims import CLAIM_RULES, Claim, ClaimKind
from domain.refusals import Refusal, RefusalCode
from domain.stages import Stage

log = logging.getLogger(__name__)

HELD_TYPE = "/problems/claimed"
REFUSED_TYPE = "/problems/claim-refused"


class ClaimRefused(ProblemError):
    """A claim, or a step a claim keeps, refused (409); `names` gives the name of each member
    of staff the refusal names by id, for pages to word it with."""

    def __init__(self, refusal: Refusal, names: Mapping[str, str] | None = None) -> None:
        held = refusal.code in (RefusalCode.CASE_CLAIMED, RefusalCode.INCIDENT_CLAIMED)
        super().__init__(
            409,
            "Claimed by someone else" if held else "The claim was refused",
            refusal.english,
            type_=HELD_TYPE if held else REFUSED_TYPE,
            refusal=refusal,
        )
        self.names = dict(names or {})


def held_refusal(claim: Claim) -> ClaimRefused:
    """The refusal of the work `claim` keeps, to anyone but its holder."""
    refusal = Refusal.of(
        CLAIM_RULES[claim.kind].held,
        claimed_by=claim.holder_id,
        claimed_at=claim.claimed_at,
        lapses_at=claim.lapses_at,
    )
    return ClaimRefused(refusal, {claim.holder_id: claim.holder_name})


@dataclass(frozen=True)
class ClaimDesk:
    """Claims for one app: its pool, the audit log's key and the lapse
    (JOURNEYS_CLAIM_LAPSE_MINUTES)."""

    pool: asyncpg.Pool
    audit_key: bytes
    lapse: timedelta

    @classmethod
    def of(cls, app: FastAPI) -> "ClaimDesk":
        state = app.state
        return cls(state.pool, state.audit_key, state.settings.claim_lapse)

    async def live(self, journey_ids: list[str]) -> dict[str, list[Claim]]:
        """The live claims of these journeys, read only: a page or a list shows them, and the
        sweep ends and audits those that lapsed."""
        if not journey_ids:
            return {}
        async with self.pool.acquire() as conn:
            return await ClaimRepository(conn).live(journey_ids=journey_ids, lapse=self.lapse)

    async def claim(self, actor: Actor, journey_id: str, kind: ClaimKind) -> Claim:
        """Claim the journey's work of `kind` for `actor`, or keep their own claim on it;
        refused while someone else holds it, or when there is nothing of that kind to claim
        (a case past validation, a journey without an open incident)."""

        async def work(repo: ClaimRepository, rows: list[AuditEntry]) -> Claim:
            held = await repo.held(journey_id=journey_id, kind=kind, lapse=self.lapse)
            if held is not None and held.claim.holder_id != actor.id:
                raise held_refusal(held.claim)
            if held is not None:
                await repo.keep(claim_id=held.claim_id)
                rows.append(_row(actor, "claim.kept", journey_id, held.claim_id, kind))
            else:
                subject = await repo.subject(journey_id=journey_id)
                assert subject is not None, "the caller was authorized on an existing journey"
                incident = _open_subject(subject.stage, subject.incident, kind)
                claim_id = await repo.add(
                    journey_id=journey_id, kind=kind, holder=actor, incident=incident
                )
                rows.append(_row(actor, "claim.claimed", journey_id, claim_id, kind))
            return await _now_held(repo, journey_id, kind, self.lapse)

        return await self._change(journey_id, work)

    async def release(self, actor: Actor, journey_id: str, kind: ClaimKind) -> None:
        """End `actor`'s own claim; refused when they hold none."""

        async def work(repo: ClaimRepository, rows: list[AuditEntry]) -> None:
            held = await repo.held(journey_id=journey_id, kind=kind, lapse=self.lapse)
            if held is None or held.claim.holder_id != actor.id:
                raise ClaimRefused(Refusal.of(RefusalCode.NOT_YOUR_CLAIM))
            await repo.end(claim_id=held.claim_id, reason="released", by=actor.id)
            rows.append(_row(actor, "claim.released", journey_id, held.claim_id, kind))

        await self._change(journey_id, work)

    async def take_over(self, actor: Actor, journey_id: str, kind: ClaimKind) -> Claim:
        """End someone else's live claim and give it to `actor` (the medical lead), who then
        holds it from now; the new claim names whose it was, which its former holder sees.
        Refused when nobody holds one; their own is kept."""

        async def work(repo: ClaimRepository, rows: list[AuditEntry]) -> Claim:
            held = await repo.held(journey_id=journey_id, kind=kind, lapse=self.lapse)
            if held is None:
                raise ClaimRefused(Refusal.of(RefusalCode.NOT_CLAIMED))
            if held.claim.holder_id == actor.id:
                await repo.keep(claim_id=held.claim_id)
                rows.append(_row(actor, "claim.kept", journey_id, held.claim_id, kind))
                return held.claim
            former = held.claim.holder_id
            incident = await repo.incident_of(claim_id=held.claim_id)
            await repo.end(claim_id=held.claim_id, reason="taken_over", by=actor.id)
            claim_id = await repo.add(
                journey_id=journey_id,
                kind=kind,
                holder=actor,
                incident=incident,
                taken_over_from=former,
            )
            rows.append(
                _row(
                    actor,
                    "claim.taken_over",
                    journey_id,
                    claim_id,
                    kind,
                    {
                        "from": former,
                        "from_role": held.claim.holder_role.value,
                        "from_claim_id": held.claim_id,
                    },
                )
            )
            return await _now_held(repo, journey_id, kind, self.lapse)

        return await self._change(journey_id, work)

    async def guard(self, actor: Actor, journey_id: str, kind: ClaimKind) -> None:
        """Refuse the step a claim of `kind` keeps, to anyone but the holder of a live one."""

        async def work(repo: ClaimRepository, rows: list[AuditEntry]) -> None:
            held = await repo.held(journey_id=journey_id, kind=kind, lapse=self.lapse)
            if held is not None and held.claim.holder_id != actor.id:
                raise held_refusal(held.claim)

        await self._change(journey_id, work)

    async def step_taken(self, actor: Actor, journey_id: str, kind: ClaimKind) -> None:
        """`actor` took the step their claim kept: the claim has done its work. The step
        stands whatever happens here; a claim left open ends with its case or its lapse."""
        try:
            async with self.pool.acquire() as conn, conn.transaction():
                repo = ClaimRepository(conn)
                await repo.lock(journey_id=journey_id)
                claim_id = await repo.end_for_step(
                    journey_id=journey_id, kind=kind, holder_id=actor.id
                )
                if claim_id is not None:
                    row = _row(actor, "claim.step_taken", journey_id, claim_id, kind)
                    await AuditLog(conn, self.audit_key).append_drafts([row])
        except (asyncpg.PostgresError, OSError):
            log.warning("a claim stays open after its step", exc_info=True)

    async def end_stale(self, journey_id: str) -> int:
        """End and audit the journey's claims that are no longer live; how many."""

        async def nothing(repo: ClaimRepository, rows: list[AuditEntry]) -> None:
            return None

        return len(await self._change(journey_id, nothing, count=True))

    async def sweep(self, *, batch: int = 200) -> int:
        """End and audit every claim that is no longer live, a batch of journeys at a time;
        how many were ended. Safe on several API replicas at once: each journey's claims
        are ended under its lock, once."""
        ended = 0
        while True:
            async with self.pool.acquire() as conn:
                journeys = await ClaimRepository(conn).stale_journeys(lapse=self.lapse, limit=batch)
            for journey_id in journeys:
                ended += await self.end_stale(journey_id)
            if len(journeys) < batch:
                return ended

    async def _change(self, journey_id: str, work: Any, *, count: bool = False) -> Any:
        """Run `work(repo, rows)` in one transaction under the journey's claims lock, after
        ending its claims that are no longer live; the audit rows for both are appended last,
        so that they commit with the change or not at all. A refused `work` changes nothing,
        but the claims that had lapsed stay ended: that is no one's doing but the clock's.
        With `count`, the claims so ended are the answer instead of `work`'s."""
        refused: ClaimRefused | None = None
        async with self.pool.acquire() as conn, conn.transaction():
            repo = ClaimRepository(conn)
            await repo.lock(journey_id=journey_id)
            ended = await repo.end_stale(journey_id=journey_id, lapse=self.lapse)
            stale = [_ended_row(journey_id, e) for e in ended]
            rows = list(stale)
            result = None
            try:
                async with conn.transaction():
                    result = await work(repo, rows)
            except ClaimRefused as err:
                refused, rows = err, stale
            await AuditLog(conn, self.audit_key).append_drafts(rows)
        if refused is not None:
            raise refused
        return ended if count else result


def _open_subject(
    stage: Stage, incident: tuple[str, int] | None, kind: ClaimKind
) -> tuple[str, int] | None:
    """The incident a new claim of `kind` is for (None for a review); refused when the journey
    has nothing of that kind to claim."""
    if kind is ClaimKind.REVIEW:
        if stage is not Stage.VALIDATION:
            raise ClaimRefused(
                Refusal.of(
                    RefusalCode.WRONG_STAGE,
                    step=CLAIM_RULES[kind].step,
                    expected_stage=Stage.VALIDATION,
                    stage=stage,
                )
            )
        return None
    if incident is None:
        raise ClaimRefused(Refusal.of(RefusalCode.NO_OPEN_INCIDENT))
    return incident


async def _now_held(
    repo: ClaimRepository, journey_id: str, kind: ClaimKind, lapse: timedelta
) -> Claim:
    held: HeldClaim | None = await repo.held(journey_id=journey_id, kind=kind, lapse=lapse)
    assert held is not None, "claimed in this transaction"
    return held.claim


def _row(
    actor: Actor,
    action: str,
    journey_id: str,
    claim_id: str,
    kind: ClaimKind,
    detail: dict[str, Any] | None = None,
) -> AuditEntry:
    return draft_entry(
        actor_id=actor.id,
        actor_role=actor.role.value,
        action=action,
        journey_id=journey_id,
        detail={"kind": kind.value, "claim_id": claim_id, **(detail or {})},
    )


def _ended_row(journey_id: str, ended: EndedClaim) -> AuditEntry:
    """A claim ended by the clock or by the journey moving on: the system's doing, naming
    whose claim it was and when it ended (a lapse: when it lapsed, perhaps before this row)."""
    return draft_entry(
        actor_id=SYSTEM.id,
        actor_role=SYSTEM.role.value,
        action=f"claim.{ended.reason}",
        journey_id=journey_id,
        detail={
            "kind": ended.kind.value,
            "claim_id": ended.claim_id,
            "holder": ended.holder_id,
            "holder_role": ended.holder_role,
            "ended_at": ended.ended_at.isoformat(),
        },
    )
