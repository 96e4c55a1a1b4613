"""Claims: a member of staff says they have a piece of work on a journey (a case to review, an
incident to resolve), so that the others see who has it and since when, and leave it to them.

A claim is not workflow state: the journey never hears of it, and its timers (the review SLA
and its escalations) run from the inquiry whoever claims. The API and the console read the
claims before they send the step a claim covers, and refuse it to anyone but the holder while
the claim is live (api/claims.py). Claiming is never required: a case nobody has claimed is
reviewed by any reviewer who reaches it, as before.
"""

from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum

from pydantic import BaseModel, ConfigDict, Field

from domain.actors import Role
from domain.readers import CLAIMS_INCIDENTS, CLAIMS_REVIEWS, TAKES_OVER_REVIEWS
from domain.refusal_codes import RefusalCode
from domain.step_declarations import StepName


class ClaimKind(StrEnum):
    """What a claim is for."""

    # A case in VALIDATION, for its review.
    REVIEW = "review"
    # A journey's open incident (of the journey or its follow-up year), for its resolution.
    INCIDENT = "incident"


@dataclass(frozen=True)
class ClaimRule:
    """A kind of claim: the step it keeps for its holder, who may claim it, who may take it
    over from its holder, and the refusal of the step to anyone else while it is live."""

    kind: ClaimKind
    step: StepName
    claimed_by: frozenset[Role]
    taken_over_by: frozenset[Role]
    held: RefusalCode


CLAIM_RULES: dict[ClaimKind, ClaimRule] = {
    ClaimKind.REVIEW: ClaimRule(
        ClaimKind.REVIEW,
        StepName.REVIEW,
        CLAIMS_REVIEWS,
        TAKES_OVER_REVIEWS,
        RefusalCode.CASE_CLAIMED,
    ),
    # No one takes over a coordinator's claim: coordinators are peers, and the claim lapses.
    ClaimKind.INCIDENT: ClaimRule(
        ClaimKind.INCIDENT,
        StepName.RESOLVE_INCIDENT,
        CLAIMS_INCIDENTS,
        frozenset(),
        RefusalCode.INCIDENT_CLAIMED,
    ),
}
assert all(
    not (a.claimed_by & b.claimed_by)
    for a in CLAIM_RULES.values()
    for b in CLAIM_RULES.values()
    if a is not b
), "each role claims one kind of work, which its requests need not name"

CLAIMS = frozenset().union(*(rule.claimed_by for rule in CLAIM_RULES.values()))
TAKES_OVER = frozenset().union(*(rule.taken_over_by for rule in CLAIM_RULES.values()))


def claim_kind_for(role: Role) -> ClaimKind | None:
    """The kind of work `role` claims; None for a role that claims none."""
    return next((r.kind for r in CLAIM_RULES.values() if role in r.claimed_by), None)


def taken_over_kind_for(role: Role) -> ClaimKind | None:
    """The kind of claim `role` takes over from its holder; None for a role that takes none."""
    return next((r.kind for r in CLAIM_RULES.values() if role in r.taken_over_by), None)


def claim_kind_of(step: StepName) -> ClaimKind | None:
    """The kind of claim that keeps `step` for its holder; None for a step no claim keeps."""
    return next((r.kind for r in CLAIM_RULES.values() if r.step is step), None)


class Claim(BaseModel):
    """A live claim, as the worklist, the case page and the API show it."""

    model_config = ConfigDict(frozen=True)

    kind: ClaimKind
    holder_id: str = Field(description="the staff id of who holds the claim")
    holder_role: Role
    holder_name: str = Field(description="the staff directory's name, else the staff id")
    claimed_at: datetime = Field(description="since when they hold it")
    lapses_at: datetime = Field(description="when it lapses unless its holder acts on it")
    taken_over_from: str | None = Field(
        default=None, description="the staff id whose claim this one took over"
    )
    taken_over_from_name: str | None = None
