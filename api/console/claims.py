"""Claims in the console: the forms that claim (or keep), release and take over a claim, from
the worklist's rows and the case page.

Each form posts to `/staff/journeys/{journey_id}/claim`, `…/claim/release` or
`…/claim/takeover` with the form token (checked by the console's gate) and, from the worklist,
the page to go back to. The claim is made as the JSON API makes it (api/claims.py), for the
kind of work the viewer's role claims (domain/claims.py). A refused one shows the case page
again saying why, having changed nothing.
"""

import dataclasses
import uuid
from collections.abc import Awaitable, Callable, Set

from fastapi import APIRouter, Depends
from fastapi.responses import RedirectResponse, Response

from api.audit_trail import note_refusal
from api.authorization import authorize
from api.claims import ClaimDesk, ClaimRefused
from api.console.actions import ActionOutcome
from api.console.case_page import CaseDep, CaseRequest, read_refusal
from api.console.guards import ConsoleRefusal, console_gate
from api.console.preferences import back_to
from api.console.wording import Wording
from api.reads.errors import ReadRefused
from domain.actors import Actor, Role
from domain.claims import CLAIMS, TAKES_OVER, ClaimKind, claim_kind_for, taken_over_kind_for

router = APIRouter(prefix="/staff", dependencies=[Depends(console_gate)], include_in_schema=False)

ClaimAction = Callable[[ClaimDesk, Actor, str, ClaimKind], Awaitable[object]]


async def _act(
    case: CaseRequest,
    roles: Set[Role],
    kind_for: Callable[[Role], ClaimKind | None],
    action: ClaimAction,
) -> Response:
    """Authorize the viewer on the journey, then act on its claim, of the kind `kind_for` the
    viewer's role: back where the form came from, or the case page saying why the claim was
    refused."""
    request, viewer = case.request, case.viewer
    try:
        jid = str(uuid.UUID(case.journey_id))
    except ValueError:
        raise ConsoleRefusal(404, "no_journey", None) from None
    try:
        await authorize(case.pool, viewer.principal, jid, roles)
    except ReadRefused as refused:
        raise read_refusal(request, refused) from None
    kind = kind_for(viewer.principal.actor.role)
    assert kind is not None, "every role allowed here has a kind of claim"
    try:
        await action(ClaimDesk.of(request.app), viewer.principal.actor, jid, kind)
    except ClaimRefused as refused:
        assert refused.refusal is not None
        note_refusal(request, refused.refusal.code)
        message = Wording(viewer.language).refusal(refused.refusal, viewer.time_zone, refused.names)
        return await dataclasses.replace(case, journey_id=jid).page(
            outcome=ActionOutcome(), claim_refusal=message, status_code=refused.status
        )
    form = await request.form()
    return RedirectResponse(back_to(form.get("next") or f"/staff/journeys/{jid}#claims"), 303)


@router.post("/journeys/{journey_id}/claim")
async def claim(case: CaseDep) -> Response:
    """Claim the case's review or its incident, as the viewer's role does; their own claim
    is kept (its lapse counts again from now)."""
    return await _act(case, CLAIMS, claim_kind_for, ClaimDesk.claim)


@router.post("/journeys/{journey_id}/claim/release")
async def release(case: CaseDep) -> Response:
    return await _act(case, CLAIMS, claim_kind_for, ClaimDesk.release)


@router.post("/journeys/{journey_id}/claim/takeover")
async def take_over(case: CaseDep) -> Response:
    return await _act(case, TAKES_OVER, taken_over_kind_for, ClaimDesk.take_over)
