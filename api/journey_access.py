"""Finding a journey for a request, and showing it to whoever asks."""

from typing import Any

import asyncpg
from fastapi import Response
from temporalio.client import Client, WorkflowHandle

from api.problems import ProblemError
from api.schemas import PatientView
from api.tokens import Principal
from db.journey_queries import JourneyQueries
from domain.journey import JourneyOutcome, JourneyStatus
from domain.names import journey_workflow_id
from domain.records import BookingKind
from domain.stages import Stage, WaitingOn
from workflows.journey import PatientJourney

_MESSAGES: dict[tuple[Stage, WaitingOn | None], tuple[str, bool]] = {
    (Stage.INQUIRY, None): ("We have received your inquiry.", False),
    (Stage.VALIDATION, WaitingOn.REVIEWER): ("A medical reviewer is reading your case.", False),
    (Stage.VALIDATION, WaitingOn.PATIENT): ("Please send the documents we asked for.", True),
    (Stage.CASE_MANAGER, None): ("We are assigning your dedicated case manager.", False),
    (Stage.TELECONSULT, WaitingOn.PATIENT): (
        "Please choose a time for your video consultation with the specialist.",
        True,
    ),
    (Stage.TELECONSULT, WaitingOn.SPECIALIST): (
        "Your video consultation is booked; the specialist will see you then.",
        False,
    ),
    (Stage.PLAN, None): (
        "Your treatment plan and quote are ready: please accept or decline them.",
        True,
    ),
    (Stage.TRAVEL, WaitingOn.CLINIC): (
        "We are reserving your clinic visit, hotel and airport transfer.",
        False,
    ),
    (Stage.TREATMENT, None): ("You are with the clinic for your two-day treatment visit.", False),
    (Stage.FOLLOW_UP, None): (
        "Your follow-up year has started: please send your weekly rehabilitation check-in.",
        True,
    ),
    (Stage.COMPLETED, None): ("Your follow-up year is complete. Thank you.", False),
    (Stage.NOT_ELIGIBLE, None): (
        "After medical review the treatment is not suitable for you at this time.",
        False,
    ),
    (Stage.WITHDRAWN, None): ("Your journey was closed and any bookings cancelled.", False),
    (Stage.LOST_CONTACT, None): (
        "We closed your case as we had not heard from you; reply to any email to reopen it.",
        False,
    ),
}


# A status answer's count of stage changes, which a client sends back as `after` to wait for
# the journey's next move (`GET /journeys/{id}?after=&wait=`).
VERSION_HEADER = "Journey-Version"
# How the answer's header reads in the OpenAPI document.
VERSIONED: dict[int | str, dict[str, Any]] = {
    200: {
        "headers": {
            VERSION_HEADER: {
                "description": "The journey's stage changes so far; send it back as `after` "
                "with `wait` to be answered at its next move",
                "schema": {"type": "integer", "minimum": 0},
            }
        }
    }
}


def patient_view(status: JourneyStatus) -> PatientView:
    visit_booked = any(b.kind is BookingKind.CLINIC_VISIT for b in status.bookings)
    if status.stage is Stage.TRAVEL and status.waiting_on is WaitingOn.PATIENT:
        message, action = (
            ("Your visit is booked; we look forward to welcoming you.", False)
            if visit_booked
            else ("Please send your travel dates and flight details.", True)
        )
    else:
        message, action = _MESSAGES.get(
            (status.stage, status.waiting_on), _MESSAGES.get((status.stage, None), ("", False))
        )
    return PatientView(
        journey_id=status.journey_id,
        stage=status.stage,
        message=message,
        action_needed=action,
        deadline=status.deadline if action else None,
        offered_slots=status.offered_slots,
        bookings=[b for b in status.bookings if not b.cancelled],
    )


def view_for(principal: Principal, status: JourneyStatus) -> JourneyStatus | PatientView:
    return patient_view(status) if principal.is_patient else status


def versioned_view(
    principal: Principal, status: JourneyStatus, response: Response
) -> JourneyStatus | PatientView:
    """The status as this principal sees it, its `Journey-Version` on the answer."""
    response.headers[VERSION_HEADER] = str(len(status.transitions))
    return view_for(principal, status)


def journey_handle(client: Client, journey_id: str) -> WorkflowHandle[Any, JourneyOutcome]:
    return client.get_workflow_handle_for(PatientJourney.run, journey_workflow_id(journey_id))


async def ensure_journey(pool: asyncpg.Pool, journey_id: str) -> None:
    async with pool.acquire() as conn:
        if not await JourneyQueries(conn).exists(journey_id=journey_id):
            raise ProblemError(404, "Not found", "no such journey")
