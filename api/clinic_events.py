"""The clinic's events (admission, procedure, discharge, adverse event), as the clinic's signed
webhook records them: the same steps a coordinator takes for a clinic that reports by email
(api/step_taking.py), with the journey's checks on both (a dose below the protocol minimum and
any adverse event are escalated by the journey)."""

from fastapi import Request, Response

from api.schemas import ClinicEvent
from api.step_access import open_step
from api.step_taking import take
from api.tokens import Principal
from domain.journey import JourneyStatus
from domain.step_declarations import StepName

# Each event type of the webhook, and the step it is.
EVENT_STEPS: dict[str, StepName] = {
    "admission": StepName.ADMISSION,
    "procedure": StepName.PROCEDURE,
    "discharge": StepName.DISCHARGE,
    "adverse_event": StepName.ADVERSE_EVENT,
}


async def record_clinic_event(
    request: Request, clinic: Principal, event: ClinicEvent
) -> JourneyStatus:
    """Store what the event reports, then send it to the journey; a refusal stores nothing."""
    name = EVENT_STEPS[event.type]
    step = await open_step(
        name, principal=clinic, journey_id=event.journey_id, request=request, response=Response()
    )
    body = event.procedure if name is StepName.PROCEDURE else event.adverse_event
    status: JourneyStatus = await take(name, step, body)
    return status
