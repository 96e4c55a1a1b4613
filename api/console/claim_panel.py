"""What the console shows of claims (api/claims.py): the case page's panel (who holds the
case's review or its incident, since when, until when, and what the viewer may do about it)
and the worklist's column. The forms post to api/console/claims.py."""

from dataclasses import dataclass, field

from domain.actors import Actor
from domain.claims import CLAIM_RULES, Claim, ClaimKind, claim_kind_for, taken_over_kind_for
from domain.stages import Stage
from domain.step_declarations import StepName


def open_kinds(stage: Stage, incident_open: bool) -> frozenset[ClaimKind]:
    """The kinds of work a journey has to claim now: its review while in VALIDATION, its
    incident while one is open."""
    kinds = set()
    if stage is Stage.VALIDATION:
        kinds.add(ClaimKind.REVIEW)
    if incident_open:
        kinds.add(ClaimKind.INCIDENT)
    return frozenset(kinds)


@dataclass(frozen=True)
class ClaimPanel:
    """What one person sees of a journey's claims on its case page, and may do with them."""

    claims: list[Claim] = field(default_factory=list)
    # The viewer's own live claim, which they may keep or release.
    mine: Claim | None = None
    # The kind of work the viewer may claim here now: open, and nobody holds it.
    may_claim: ClaimKind | None = None
    # Someone else's claim the viewer may take over.
    may_take_over: Claim | None = None
    # Each step someone else's live claim keeps from the viewer, with that claim.
    held: dict[StepName, Claim] = field(default_factory=dict)
    # Why the claim form the viewer just sent was refused.
    refusal: str | None = None

    @property
    def shown(self) -> bool:
        return bool(self.claims or self.may_claim or self.refusal)


def claim_panel(
    actor: Actor,
    claims: list[Claim],
    *,
    stage: Stage,
    incident_open: bool,
    refusal: str | None = None,
) -> ClaimPanel:
    held = {c.kind for c in claims}
    others = [c for c in claims if c.holder_id != actor.id]
    mine = claim_kind_for(actor.role)
    takes_over = taken_over_kind_for(actor.role)
    return ClaimPanel(
        claims=claims,
        mine=next((c for c in claims if c.holder_id == actor.id), None),
        may_claim=mine
        if mine is not None and mine not in held and mine in open_kinds(stage, incident_open)
        else None,
        may_take_over=next((c for c in others if c.kind is takes_over), None),
        held={CLAIM_RULES[c.kind].step: c for c in others},
        refusal=refusal,
    )


def may_claim_row(actor: Actor, stage: Stage, incident_open: bool, claims: list[Claim]) -> bool:
    """Whether a worklist row offers the viewer its claim button: work of the kind their role
    claims is open there, and nobody holds it."""
    kind = claim_kind_for(actor.role)
    return (
        kind is not None
        and kind in open_kinds(stage, incident_open)
        and all(c.kind is not kind for c in claims)
    )
