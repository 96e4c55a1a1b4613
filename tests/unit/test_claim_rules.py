"""Who claims what (domain/claims.py) and what the console offers of it (api/console/
claim_panel.py): pure rules, no servers. tests/test_claims.py holds the API to them."""

from datetime import UTC, datetime, timedelta

import pytest

from api.console.claim_panel import claim_panel, may_claim_row
from domain.actors import Actor, Role
from domain.claims import (
    CLAIM_RULES,
    CLAIMS,
    TAKES_OVER,
    Claim,
    ClaimKind,
    claim_kind_for,
    claim_kind_of,
    taken_over_kind_for,
)
from domain.readers import STAFF_ROLES
from domain.stages import Stage
from domain.step_declarations import STEPS, StepName

SINCE = datetime(2026, 12, 1, 8, 0, tzinfo=UTC)


def _claim(kind: ClaimKind, holder: str, role: Role) -> Claim:
    return Claim(
        kind=kind,
        holder_id=holder,
        holder_role=role,
        holder_name=holder.title(),
        claimed_at=SINCE,
        lapses_at=SINCE + timedelta(hours=2),
    )


def _actor(staff_id: str, role: Role) -> Actor:
    return Actor(id=staff_id, role=role)


def test_a_claim_keeps_a_step_its_claimers_may_take() -> None:
    for rule in CLAIM_RULES.values():
        assert claim_kind_of(rule.step) is rule.kind
        # Whoever may claim the work may take its step, and so may whoever takes a claim over.
        assert rule.claimed_by <= STEPS[rule.step].roles, rule.kind
        assert rule.taken_over_by <= STEPS[rule.step].roles, rule.kind
    assert claim_kind_of(StepName.TRAVEL) is None


@pytest.mark.parametrize("role", sorted(STAFF_ROLES))
def test_each_role_claims_at_most_one_kind_and_takes_over_only_the_medical_leads(
    role: Role,
) -> None:
    kind = claim_kind_for(role)
    assert (kind is not None) == (role in CLAIMS)
    expected = {
        Role.REVIEWER: ClaimKind.REVIEW,
        Role.MEDICAL_LEAD: ClaimKind.REVIEW,
        Role.COORDINATOR: ClaimKind.INCIDENT,
    }
    assert kind is expected.get(role)
    assert taken_over_kind_for(role) is (ClaimKind.REVIEW if role is Role.MEDICAL_LEAD else None)
    assert (role in TAKES_OVER) == (role is Role.MEDICAL_LEAD)


def test_the_holder_may_keep_their_claim_and_the_others_see_the_step_held() -> None:
    held = [_claim(ClaimKind.REVIEW, "rev-1", Role.REVIEWER)]
    mine = claim_panel(
        _actor("rev-1", Role.REVIEWER), held, stage=Stage.VALIDATION, incident_open=False
    )
    assert (mine.mine, mine.may_claim, mine.may_take_over, mine.held) == (
        held[0],
        None,
        None,
        {},
    )
    theirs = claim_panel(
        _actor("rev-2", Role.REVIEWER), held, stage=Stage.VALIDATION, incident_open=False
    )
    assert (theirs.mine, theirs.may_claim, theirs.may_take_over) == (None, None, None)
    assert theirs.held == {StepName.REVIEW: held[0]}
    lead = claim_panel(
        _actor("lead-1", Role.MEDICAL_LEAD), held, stage=Stage.VALIDATION, incident_open=False
    )
    assert lead.may_take_over == held[0]


def test_only_open_unclaimed_work_of_ones_own_kind_is_offered() -> None:
    reviewer = _actor("rev-2", Role.REVIEWER)
    coordinator = _actor("coord-1", Role.COORDINATOR)
    assert claim_panel(reviewer, [], stage=Stage.VALIDATION, incident_open=False).may_claim is (
        ClaimKind.REVIEW
    )
    assert claim_panel(reviewer, [], stage=Stage.TRAVEL, incident_open=True).may_claim is None
    assert not claim_panel(reviewer, [], stage=Stage.TRAVEL, incident_open=True).shown
    assert (
        claim_panel(coordinator, [], stage=Stage.TRAVEL, incident_open=True).may_claim
        is ClaimKind.INCIDENT
    )
    assert claim_panel(coordinator, [], stage=Stage.VALIDATION, incident_open=False).may_claim is (
        None
    )
    # A journey in validation with an incident: the coordinator's claim leaves the review open.
    incident = [_claim(ClaimKind.INCIDENT, "coord-1", Role.COORDINATOR)]
    both = claim_panel(reviewer, incident, stage=Stage.VALIDATION, incident_open=True)
    assert both.may_claim is ClaimKind.REVIEW
    assert list(both.held) == [StepName.RESOLVE_INCIDENT]

    actor = Actor(id="rev-2", role=Role.REVIEWER)
    assert may_claim_row(actor, Stage.VALIDATION, False, [])
    assert may_claim_row(actor, Stage.VALIDATION, True, incident)
    assert not may_claim_row(
        actor, Stage.VALIDATION, False, [_claim(ClaimKind.REVIEW, "rev-1", Role.REVIEWER)]
    )
    assert not may_claim_row(actor, Stage.PLAN, False, [])
    assert not may_claim_row(Actor(id="aud", role=Role.AUDITOR), Stage.VALIDATION, False, [])
