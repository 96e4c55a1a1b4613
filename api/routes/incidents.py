"""A coordinator resolves a journey's incident, and corrects the patient's contact details
that caused it (a mistyped email address, say) before retrying."""

from typing import Annotated, Any

from fastapi import APIRouter
from temporalio.service import RPCError, RPCStatusCode

from api.journey_access import versioned_view
from api.problems import ProblemError
from api.routes.steps import STEP_ERRORS, VERSIONED_STEP
from api.schemas import ContactBody, ContactDetails, IncidentResolutionBody
from api.step_access import Answer, JourneyStep, JourneyStepDep
from db.patients import PatientRepository
from domain.follow_up import FollowUpStatus
from domain.names import follow_up_workflow_id
from domain.step_roles import StepName
from domain.steps import IncidentResolution
from workflows.follow_up import FollowUp
from workflows.journey import PatientJourney

router = APIRouter(prefix="/journeys/{journey_id}", tags=["incidents"])


@router.post(
    "/incident/resolution",
    summary="Resolve the journey's open incident: retry, skip or withdraw (coordinator)",
    responses=VERSIONED_STEP,
)
async def resolve_incident(
    body: IncidentResolutionBody,
    step: Annotated[JourneyStep, JourneyStepDep(StepName.RESOLVE_INCIDENT)],
) -> Answer:
    resolution = IncidentResolution(
        actor=step.principal.actor, action=body.action, incident_number=body.incident_number
    )
    status = await step.handle.query(PatientJourney.status)
    if status.incident is None and await _follow_up_incident(step):
        # The follow-up year's own incident: resolved on it, answered with the journey.
        follow_up = step.client.get_workflow_handle_for(
            FollowUp.run, follow_up_workflow_id(step.journey_id)
        )
        await step.send_to(follow_up, FollowUp.resolve_incident, resolution)
        status = await step.handle.query(PatientJourney.status)
        return versioned_view(step.principal, status, step.response)
    return await step.send(PatientJourney.resolve_incident, resolution)


async def _follow_up_incident(step: JourneyStep) -> bool:
    handle = step.client.get_workflow_handle_for(
        FollowUp.run, follow_up_workflow_id(step.journey_id)
    )
    try:
        follow_up: FollowUpStatus = await handle.query(FollowUp.status)
    except RPCError as err:
        if err.status == RPCStatusCode.NOT_FOUND:
            return False
        raise
    return follow_up.incident is not None


CONTACT_ERRORS: dict[int | str, dict[str, Any]] = {
    k: v for k, v in STEP_ERRORS.items() if k not in (409, 503, 504)
}


@router.post(
    "/contact",
    summary="Correct the patient's email or phone (coordinator)",
    responses=CONTACT_ERRORS,
)
async def correct_contact(
    body: ContactBody,
    step: Annotated[JourneyStep, JourneyStepDep(StepName.CORRECT_CONTACT)],
) -> ContactDetails:
    """Stored in PostgreSQL only; the request's audit row says who changed it and when. The
    next email (a retried incident's, say) goes to the corrected address."""
    async with step.pool.acquire() as conn:
        updated = await PatientRepository(conn).correct_contact(
            journey_id=step.journey_id, email=body.email, phone=body.phone
        )
    if updated is None:
        raise ProblemError(404, "Not found", "no such journey")
    return ContactDetails(email=updated.email, phone=updated.phone)
