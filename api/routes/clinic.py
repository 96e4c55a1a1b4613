"""A coordinator records the clinic's events, for clinics that report by email or phone."""

from typing import Annotated

from fastapi import APIRouter

from api.clinic_events import ClinicEventKind, record_clinic_event
from api.journey_access import versioned_view
from api.routes.steps import VERSIONED_STEP
from api.schemas import ClinicAdverseEvent, ClinicProcedure
from api.step_access import Answer, JourneyStep, JourneyStepDep
from domain.step_roles import StepName

router = APIRouter(prefix="/journeys/{journey_id}/clinic", tags=["clinic"])


async def _record(
    step: JourneyStep,
    kind: ClinicEventKind,
    procedure: ClinicProcedure | None = None,
    adverse_event: ClinicAdverseEvent | None = None,
) -> Answer:
    status = await record_clinic_event(
        pool=step.pool,
        client=step.client,
        journey_id=step.journey_id,
        actor=step.principal.actor,
        kind=kind,
        procedure=procedure,
        adverse_event=adverse_event,
        within=step.answer_within,
        metrics=step.metrics,
    )
    return versioned_view(step.principal, status, step.response)


@router.post(
    "/admission", summary="Record the clinic's admission (coordinator)", responses=VERSIONED_STEP
)
async def admission(step: Annotated[JourneyStep, JourneyStepDep(StepName.ADMISSION)]) -> Answer:
    return await _record(step, "admission")


@router.post(
    "/procedure",
    summary="Record the procedure: cells, route, minutes, lot (coordinator)",
    responses=VERSIONED_STEP,
)
async def procedure(
    body: ClinicProcedure, step: Annotated[JourneyStep, JourneyStepDep(StepName.PROCEDURE)]
) -> Answer:
    return await _record(step, "procedure", procedure=body)


@router.post(
    "/discharge", summary="Record the clinic's discharge (coordinator)", responses=VERSIONED_STEP
)
async def discharge(step: Annotated[JourneyStep, JourneyStepDep(StepName.DISCHARGE)]) -> Answer:
    return await _record(step, "discharge")


@router.post(
    "/adverse-events",
    summary="Report an adverse event (coordinator, specialist, case manager)",
    responses=VERSIONED_STEP,
)
async def adverse_event(
    body: ClinicAdverseEvent,
    step: Annotated[JourneyStep, JourneyStepDep(StepName.ADVERSE_EVENT)],
) -> Answer:
    return await _record(step, "adverse_event", adverse_event=body)
