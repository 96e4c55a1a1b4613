"""Finding a journey for a request, and showing it to whoever asks."""

from typing import Any

import asyncpg
from fastapi import Response
from temporalio.client import Client, WorkflowHandle
from temporalio.service import RPCError, RPCStatusCode

from api.problems import ProblemError
from api.schemas import PatientView
from api.tokens import Principal
from db.erasure import Erased
from db.journey_queries import JourneyQueries
from domain.follow_up import FollowUpStatus
from domain.journey import JourneyOutcome, JourneyStatus
from domain.names import follow_up_workflow_id, journey_workflow_id
from domain.records import BookingKind
from domain.stages import Stage, WaitingOn
from i18n import N_, SOURCE_LANGUAGE, translations
from workflows.follow_up import FollowUp
from workflows.journey import PatientJourney

# What the patient reads at each stage, by whom the journey takes steps from, and whether it
# asks the patient for something. Marked for the catalogues, translated where they are read.
_MESSAGES: dict[tuple[Stage, WaitingOn | None], tuple[str, bool]] = {
    (Stage.INQUIRY, None): (N_("We have received your inquiry."), False),
    (Stage.VALIDATION, WaitingOn.REVIEWER): (N_("A medical reviewer is reading your case."), False),
    (Stage.VALIDATION, WaitingOn.PATIENT): (N_("Please send the documents we asked for."), True),
    (Stage.CASE_MANAGER, None): (N_("We are assigning your dedicated case manager."), False),
    (Stage.TELECONSULT, WaitingOn.PATIENT): (
        N_("Please choose a time for your video consultation with the specialist."),
        True,
    ),
    (Stage.TELECONSULT, WaitingOn.SPECIALIST): (
        N_("Your video consultation is booked; the specialist will see you then."),
        False,
    ),
    (Stage.TELECONSULT, None): (N_("We are finding times for your video consultation."), False),
    (Stage.PLAN, None): (
        N_("Your treatment plan and quote are ready: please accept or decline them."),
        True,
    ),
    (Stage.TRAVEL, WaitingOn.CLINIC): (
        N_("We are reserving your clinic visit, hotel and airport transfer."),
        False,
    ),
    (Stage.TRAVEL, WaitingOn.COORDINATOR): (
        N_("We are confirming your visit dates with the clinic."),
        False,
    ),
    (Stage.TREATMENT, None): (
        N_("You are with the clinic for your two-day treatment visit."),
        False,
    ),
    (Stage.FOLLOW_UP, None): (
        N_("Your follow-up year has started: please send your weekly rehabilitation check-in."),
        True,
    ),
    (Stage.COMPLETED, None): (N_("Your follow-up year is complete. Thank you."), False),
    (Stage.NOT_ELIGIBLE, None): (
        N_("After medical review the treatment is not suitable for you at this time."),
        False,
    ),
    (Stage.WITHDRAWN, None): (N_("Your journey was closed and any bookings cancelled."), False),
    (Stage.LOST_CONTACT, None): (
        N_("We closed your case as we had not heard from you; reply to any email to reopen it."),
        False,
    ),
}
_VISIT_BOOKED = N_("Your visit is booked; we look forward to welcoming you.")
_SEND_TRAVEL = N_("Please send your travel dates and flight details.")


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


def steps_from(status: JourneyStatus) -> WaitingOn:
    """Whose steps the journey takes: while an incident is open it shows a coordinator as the
    one it waits on, yet still takes the steps of whom it waited on before."""
    return status.takes_steps_from if status.incident is not None else status.waiting_on


def patient_view(status: JourneyStatus, language: str = SOURCE_LANGUAGE) -> PatientView:
    """The status in plain words in `language` (English where a catalogue lacks it)."""
    waits_on = steps_from(status)
    visit_booked = any(
        b.kind is BookingKind.CLINIC_VISIT and not b.cancelled for b in status.bookings
    )
    if status.stage is Stage.TRAVEL and waits_on is WaitingOn.PATIENT:
        message, action = (_VISIT_BOOKED, False) if visit_booked else (_SEND_TRAVEL, True)
    else:
        message, action = _MESSAGES.get(
            (status.stage, waits_on), _MESSAGES.get((status.stage, None), ("", False))
        )
    return PatientView(
        journey_id=status.journey_id,
        stage=status.stage,
        message=translations(language).gettext(message) if message else "",
        action_needed=action,
        deadline=status.deadline if action else None,
        waiting_on=status.waiting_on,
        waiting_until=status.deadline,
        incident_open=status.incident is not None,
        documents_requested=status.documents_requested,
        offered_slots=status.offered_slots,
        bookings=[b for b in status.bookings if not b.cancelled],
    )


def view_for(
    principal: Principal, status: JourneyStatus, language: str = SOURCE_LANGUAGE
) -> JourneyStatus | PatientView:
    return patient_view(status, language) if principal.is_patient else status


def versioned_view(
    principal: Principal,
    status: JourneyStatus,
    response: Response,
    language: str = SOURCE_LANGUAGE,
) -> JourneyStatus | PatientView:
    """The status as this principal sees it, its `Journey-Version` on the answer."""
    response.headers[VERSION_HEADER] = str(len(status.transitions))
    return view_for(principal, status, language)


async def follow_up_status(client: Client, journey_id: str) -> FollowUpStatus | None:
    """The journey's follow-up year as it answers now; None before it has started (it starts
    a moment after the stage does) or after it has ended."""
    handle = client.get_workflow_handle_for(FollowUp.run, follow_up_workflow_id(journey_id))
    try:
        status: FollowUpStatus = await handle.query(FollowUp.status)
    except RPCError as err:
        if err.status in (RPCStatusCode.NOT_FOUND, RPCStatusCode.FAILED_PRECONDITION):
            return None
        raise
    return status


def journey_handle(client: Client, journey_id: str) -> WorkflowHandle[Any, JourneyOutcome]:
    return client.get_workflow_handle_for(PatientJourney.run, journey_workflow_id(journey_id))


async def ensure_journey(pool: asyncpg.Pool, journey_id: str) -> None:
    async with pool.acquire() as conn:
        if not await JourneyQueries(conn).exists(journey_id=journey_id):
            raise ProblemError(404, "Not found", "no such journey")


def gone(erased: Erased) -> ProblemError:
    """The answer to a change about an erased journey's patient (their contact, language or
    link): 410 Gone, as a read of their data is answered."""
    return ProblemError(
        410, "Gone", f"the patient's data was erased on {erased.erased_at:%Y-%m-%d}"
    )
