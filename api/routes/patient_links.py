"""A coordinator revokes a journey's patient links and emails the patient a new one."""

import uuid

from fastapi import APIRouter, Request
from pydantic import BaseModel, Field

from api.auth import PrincipalDep
from api.authorization import authorize_step
from api.deps import PoolDep
from api.journey_access import gone
from api.link_mailer import LinkMailer
from api.problems import problems
from db.erasure import Erased, ErasureRepository
from db.patient_links import PatientLinkRepository
from domain.step_declarations import StepName

router = APIRouter(prefix="/journeys/{journey_id}", tags=["patient links"])

ERRORS = problems(
    {
        401: "Missing or invalid token",
        403: "Not a coordinator",
        404: "No such journey",
        410: "The patient's data was erased: no link is sent",
        502: "Links revoked; the relay refused the address",
        503: "Links revoked; the email could not be sent now",
    }
)


class PatientLinkRenewed(BaseModel):
    journey_id: str
    generation: int = Field(description="links of earlier generations are refused from now on")
    message_id: str = Field(description="the Message-ID of the email carrying the new link")


@router.post(
    "/patient-link",
    summary="Revoke every patient link of the journey and email the patient a new one "
    "(coordinator)",
    responses=ERRORS,
)
async def renew_patient_link(
    journey_id: uuid.UUID, principal: PrincipalDep, pool: PoolDep, request: Request
) -> PatientLinkRenewed:
    """Every link sent so far stops working at once, its page saying how to get a new one.
    If the email cannot be sent the revocation stands; sending the request again revokes the
    link that never arrived as well and sends a newer one."""
    jid = str(journey_id)
    await authorize_step(pool, principal, jid, StepName.RENEW_PATIENT_LINK)
    try:
        async with pool.acquire() as conn, conn.transaction():
            await ErasureRepository(conn).hold_off(journey_id=jid)
            generation = await PatientLinkRepository(conn).revoke(
                journey_id=jid, revoked_by=principal.actor.id
            )
    except Erased as erased:
        # The erasure revoked every link already; a new one would open nothing, and the
        # address it would go to is gone (or put back by mistake).
        raise gone(erased) from None
    mailer: LinkMailer = request.app.state.link_mailer
    message_id = await mailer.send(journey_id=jid, generation=generation)
    return PatientLinkRenewed(journey_id=jid, generation=generation, message_id=message_id)
