"""Journeys built by hand for the unit tests: a state at a stage, and the refusal a check raises."""

import uuid
from collections.abc import Callable
from datetime import UTC, datetime, timedelta

import pytest
from temporalio.exceptions import ApplicationError

from domain.actors import Actor, Role
from domain.journey import JourneyInput
from domain.records import Booking, BookingKind, Slot
from domain.refusals import Refusal, refusal_from_details
from domain.stages import Stage, WaitingOn
from workflows.journey_state import JourneyState

NOW = datetime(2026, 12, 1, 9, 0, tzinfo=UTC)
PATIENT = Actor(id="patient-1", role=Role.PATIENT)
COORDINATOR = Actor(id="coord-1", role=Role.COORDINATOR)
REVIEWER = Actor(id="rev-1", role=Role.REVIEWER)
SPECIALIST = Actor(id="spec-1", role=Role.SPECIALIST)
CLINIC = Actor(id="clinic", role=Role.CLINIC)


def record_id() -> str:
    return str(uuid.uuid4())


def journey(stage: Stage, waiting_on: WaitingOn = WaitingOn.NONE) -> JourneyState:
    """A journey at `stage`, waiting on `waiting_on`, with nothing sent in it yet."""
    return JourneyState(
        journey=JourneyInput(journey_id="j-1", patient_id="p-1", inquiry_id="i-1"),
        stage=stage,
        waiting_on=waiting_on,
    )


def slot(slot_id: str = "s-1", starts_in: timedelta = timedelta(days=2)) -> Slot:
    return Slot(
        slot_id=slot_id,
        starts_at=NOW + starts_in,
        ends_at=NOW + starts_in + timedelta(minutes=30),
        specialist_id="spec-1",
    )


def booked_consult(starts_in: timedelta = timedelta(hours=2)) -> JourneyState:
    """A teleconsultation booked to start `starts_in` from NOW, waiting on the specialist."""
    state = journey(Stage.TELECONSULT, WaitingOn.SPECIALIST)
    state.teleconsult.consult = Booking(
        booking_id="j-1:consult-1",
        kind=BookingKind.CONSULT,
        starts_at=NOW + starts_in,
        ends_at=NOW + starts_in + timedelta(minutes=30),
    )
    return state


def refusal(check: Callable[[], object]) -> Refusal:
    """The coded refusal `check` raises; its message and type are the refusal's own."""
    with pytest.raises(ApplicationError) as raised:
        check()
    found = refusal_from_details(list(raised.value.details))
    assert found is not None, f"refused without a code: {raised.value}"
    assert raised.value.message == found.english
    assert raised.value.type == found.kind
    return found
