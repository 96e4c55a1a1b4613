"""Claims on a journey (api/claims.py): who has its review or its incident, claiming and
releasing one, and the medical lead taking a reviewer's over. Not steps of the journey: the
journey never hears of them. What a caller claims follows from their role (domain/claims.py):
a reviewer or the medical lead the case in validation, a coordinator the open incident."""

import uuid
from collections.abc import Awaitable, Callable, Set
from typing import Any

import asyncpg
from fastapi import APIRouter, Request, Response

from api.audit_trail import note_refusal
from api.auth import PrincipalDep
from api.authorization import authorize
from api.claims import ClaimDesk, ClaimRefused
from api.deps import PoolDep
from api.problems import problems
from api.tokens import Principal
from domain.actors import Actor, Role
from domain.claims import (
    CLAIMS,
    TAKES_OVER,
    Claim,
    ClaimKind,
    claim_kind_for,
    taken_over_kind_for,
)
from domain.readers import STAFF

router = APIRouter(prefix="/journeys/{journey_id}", tags=["claims"])


async def _act(
    journey_id: uuid.UUID,
    principal: Principal,
    pool: asyncpg.Pool,
    request: Request,
    roles: Set[Role],
    kind_for: Callable[[Role], ClaimKind | None],
    action: Callable[[ClaimDesk, Actor, str, ClaimKind], Awaitable[Any]],
) -> Any:
    """Authorize the caller on the journey, then act on its claim of the kind `kind_for` their
    role; a refusal's code goes in the request's row of the audit log."""
    jid = str(journey_id)
    await authorize(pool, principal, jid, roles)
    kind = kind_for(principal.actor.role)
    assert kind is not None, "every role allowed here has a kind of claim"
    try:
        return await action(ClaimDesk.of(request.app), principal.actor, jid, kind)
    except ClaimRefused as refused:
        if refused.refusal is not None:
            note_refusal(request, refused.refusal.code)
        raise


ERRORS = problems(
    {
        401: "Missing or invalid token",
        403: "Wrong role, or a journey not assigned to you",
        404: "No such journey",
    }
)
CHANGE_ERRORS = ERRORS | problems(
    {
        409: "Refused, nothing changed: someone else holds the claim "
        "(`case_claimed`, `incident_claimed`, naming who and since when), you hold none "
        "(`not_your_claim`), nobody holds one (`not_claimed`), or there is nothing to claim "
        "(`wrong_stage`, `no_open_incident`)",
    }
)


@router.get(
    "/claims",
    summary="Who holds a claim on the journey's review or incident, since when, until when (staff)",
    responses=ERRORS,
)
async def read_claims(
    journey_id: uuid.UUID, principal: PrincipalDep, pool: PoolDep, request: Request
) -> list[Claim]:
    """The live claims only: one that has lapsed, or whose case or incident has moved on, is
    left out (and its end is audited by the API's sweep)."""
    jid = str(journey_id)
    await authorize(pool, principal, jid, STAFF)
    return (await ClaimDesk.of(request.app).live([jid])).get(jid, [])


@router.post(
    "/claim",
    summary="Claim the case in validation (reviewer, medical lead) or the open incident "
    "(coordinator); claiming your own again keeps it",
    responses=CHANGE_ERRORS,
)
async def make_claim(
    journey_id: uuid.UUID, principal: PrincipalDep, pool: PoolDep, request: Request
) -> Claim:
    """While the claim is live the others see who has it, and the step it covers (the review,
    the incident's resolution) is refused to them with a 409 naming its holder. It lapses
    `JOURNEYS_CLAIM_LAPSE_MINUTES` after its last action; the review's deadlines and
    escalations run from the inquiry whoever claims."""
    claim: Claim = await _act(
        journey_id, principal, pool, request, CLAIMS, claim_kind_for, ClaimDesk.claim
    )
    return claim


@router.delete(
    "/claim",
    summary="Release your claim (reviewer, medical lead, coordinator)",
    status_code=204,
    response_class=Response,
    responses=CHANGE_ERRORS,
)
async def release_claim(
    journey_id: uuid.UUID, principal: PrincipalDep, pool: PoolDep, request: Request
) -> Response:
    await _act(journey_id, principal, pool, request, CLAIMS, claim_kind_for, ClaimDesk.release)
    return Response(status_code=204)


@router.post(
    "/claim/takeover",
    summary="Take over a reviewer's claim on the case (medical lead)",
    responses=CHANGE_ERRORS,
)
async def take_over_claim(
    journey_id: uuid.UUID, principal: PrincipalDep, pool: PoolDep, request: Request
) -> Claim:
    """The claim passes to the medical lead from now, audited; its former holder sees on the
    worklist and the case page that it was taken over from them."""
    claim: Claim = await _act(
        journey_id, principal, pool, request, TAKES_OVER, taken_over_kind_for, ClaimDesk.take_over
    )
    return claim
