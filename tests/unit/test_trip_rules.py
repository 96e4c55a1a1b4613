"""A booked trip's rules (domain/travel_rules.py) and the checks of its two steps, a change of
dates and a partner's confirmation (workflows/checks.py), against journeys built by hand."""

from datetime import UTC, date, datetime, timedelta

import pytest
from pydantic import ValidationError

from domain.journey import JourneyInput
from domain.policy import JourneyPolicy
from domain.records import Booking, BookingKind
from domain.refusals import Refusal, RefusalCode
from domain.stages import Stage, WaitingOn
from domain.step_declarations import StepName
from domain.steps import PartnerConfirmation, TravelChange
from domain.travel_rules import (
    change_cutoff,
    earliest_arrival,
    new_visit_day1,
    partner_due,
    partner_reminders,
    stay,
)
from tests.unit.states import COORDINATOR, NOW, PATIENT, journey, record_id, refusal
from workflows import checks
from workflows.journey_state import JourneyState

POLICY = JourneyPolicy()
ARRIVAL = date(2026, 12, 20)
DAY = timedelta(days=1)


def booked_trip(
    arrival: date = ARRIVAL, *, changeable: bool = True, policy: JourneyPolicy = POLICY
) -> JourneyState:
    """A trip booked for `arrival` (four nights), waiting on the patient to travel."""
    state = journey(Stage.TRAVEL, WaitingOn.PATIENT)
    state.journey = JourneyInput(
        journey_id="j-1", patient_id="p-1", inquiry_id="i-1", policy=policy
    )
    travel = state.travel
    travel.changeable = changeable
    travel.arrival, travel.departure = arrival, arrival + 4 * DAY
    travel.visit_day1 = new_visit_day1(arrival, policy)
    start, end = stay(arrival, arrival + 4 * DAY)
    state.bookings = [
        Booking(
            booking_id="j-1:clinic-visit",
            kind=BookingKind.CLINIC_VISIT,
            starts_at=travel.visit_day1,
            ends_at=travel.visit_day1 + DAY,
        ),
        Booking(booking_id="j-1:hotel", kind=BookingKind.HOTEL, starts_at=start, ends_at=end),
        Booking(booking_id="j-1:transfer", kind=BookingKind.TRANSFER, starts_at=start, ends_at=end),
    ]
    return state


def change(arrival: date, nights: int = 4) -> TravelChange:
    return TravelChange(
        actor=PATIENT,
        arrival_date=arrival,
        departure_date=arrival + nights * DAY,
        travel_record_id=record_id(),
    )


def test_the_cutoff_is_the_policys_time_before_visit_day_one_on_the_clinics_clock() -> None:
    day1 = new_visit_day1(ARRIVAL, POLICY)
    # The day after arrival, at the clinic's opening hour in Madrid (UTC+1 in December).
    assert day1 == datetime(2026, 12, 21, 7, 0, tzinfo=UTC)
    assert change_cutoff(day1, POLICY) == datetime(2026, 12, 14, 7, 0, tzinfo=UTC)
    later = JourneyPolicy(travel_change_cutoff=3 * DAY)
    assert change_cutoff(day1, later) == datetime(2026, 12, 18, 7, 0, tzinfo=UTC)


def test_the_earliest_new_arrival_is_still_open_to_changes() -> None:
    earliest = earliest_arrival(NOW, POLICY)
    assert change_cutoff(new_visit_day1(earliest, POLICY), POLICY) > NOW
    before = earliest - DAY
    assert change_cutoff(new_visit_day1(before, POLICY), POLICY) <= NOW


def test_partners_are_reminded_then_due_before_the_arrival() -> None:
    arrival = datetime(2026, 12, 30, 12, 0, tzinfo=UTC)
    due = partner_due(NOW, arrival, POLICY)
    assert due == arrival - POLICY.partner_confirmation_before
    assert partner_reminders(NOW, due, POLICY) == [NOW + 2 * DAY, NOW + 4 * DAY]


def test_a_request_sent_late_gets_the_grace_but_never_past_the_arrival() -> None:
    soon = NOW + 3 * DAY
    due = partner_due(NOW, soon, POLICY)
    assert due == NOW + POLICY.partner_confirmation_grace
    assert partner_reminders(NOW, due, POLICY) == []
    tomorrow_morning = NOW + timedelta(hours=5)
    assert partner_due(NOW, tomorrow_morning, POLICY) == tomorrow_morning


def test_a_booked_trip_takes_a_change_of_dates_until_the_cutoff() -> None:
    state = booked_trip()
    assert StepName.CHANGE_TRAVEL in checks.expected_steps(state)
    assert checks.change_travel_until(state) == datetime(2026, 12, 14, 7, 0, tzinfo=UTC)
    checks.change_travel(state, change(date(2026, 12, 27)), NOW)
    cutoff = checks.change_travel_until(state)
    assert cutoff is not None
    late = refusal(lambda: checks.change_travel(state, change(date(2026, 12, 27)), cutoff))
    assert late == Refusal.of(RefusalCode.TRAVEL_CHANGE_CLOSED, cutoff_at=cutoff)
    assert late.english == (
        "the dates could be changed until 2026-12-14 07:00 UTC; the case manager arranges a "
        "change now"
    )
    # Once the run has closed changes at the cutoff, the journey no longer expects one.
    state.travel.changes_closed = True
    assert StepName.CHANGE_TRAVEL not in checks.expected_steps(state)
    assert refusal(lambda: checks.change_travel_now(state)) == late


def test_a_change_to_dates_past_their_own_cutoff_names_the_earliest_arrival() -> None:
    state = booked_trip()
    earliest = earliest_arrival(NOW, POLICY)
    refused = refusal(lambda: checks.change_travel(state, change(earliest - DAY), NOW))
    assert refused == Refusal.of(RefusalCode.ARRIVAL_TOO_SOON, earliest_arrival=earliest)
    checks.change_travel(state, change(earliest), NOW)


def test_a_change_to_the_same_dates_or_the_past_is_refused() -> None:
    state = booked_trip()
    same = refusal(lambda: checks.change_travel(state, change(ARRIVAL), NOW))
    assert same.code is RefusalCode.SAME_TRAVEL_DATES
    past = refusal(lambda: checks.change_travel(state, change(NOW.date()), NOW))
    assert past.code is RefusalCode.ARRIVAL_NOT_FUTURE


def test_a_departure_before_the_arrival_is_refused_by_the_step_itself() -> None:
    with pytest.raises(ValidationError) as raised:
        change(date(2026, 12, 27), nights=-2)
    assert raised.value.errors()[0]["type"] == RefusalCode.DEPARTURE_TOO_SOON.value


def test_one_change_at_a_time_and_only_of_a_booked_changeable_trip() -> None:
    state = booked_trip()
    state.travel.change = change(date(2026, 12, 27))
    under_way = refusal(lambda: checks.change_travel(state, change(date(2026, 12, 28)), NOW))
    assert under_way.code is RefusalCode.TRAVEL_CHANGE_UNDER_WAY
    assert StepName.CHANGE_TRAVEL not in checks.expected_steps(state)
    # A journey that booked its trip before changes existed keeps the trip it booked.
    older = booked_trip(changeable=False)
    assert checks.change_travel_until(older) is None
    refused = refusal(lambda: checks.change_travel(older, change(date(2026, 12, 27)), NOW))
    assert refused.code is RefusalCode.TRAVEL_NOT_BOOKED
    ahead = journey(Stage.TREATMENT, WaitingOn.CLINIC)
    assert refusal(lambda: checks.change_travel_now(ahead)).code is RefusalCode.WRONG_STAGE


def test_a_partner_confirms_each_of_its_requests_once() -> None:
    state = booked_trip()
    assert StepName.PARTNER_CONFIRMATION in checks.expected_steps(state)
    step = PartnerConfirmation(
        actor=COORDINATOR, booking_id="j-1:hotel", confirmation_id=record_id()
    )
    checks.partner_confirmation(state, step)
    state.bookings[1].confirmed = True
    again = refusal(lambda: checks.partner_confirmation(state, step))
    assert again.code is RefusalCode.PARTNER_CONFIRMED
    state.bookings[2].cancelled = True
    cancelled = step.model_copy(update={"booking_id": "j-1:transfer"})
    assert refusal(lambda: checks.partner_confirmation(state, cancelled)).code is (
        RefusalCode.NO_PARTNER_REQUEST
    )
    other = step.model_copy(update={"booking_id": "j-2:hotel"})
    assert refusal(lambda: checks.partner_confirmation(state, other)).code is (
        RefusalCode.NO_PARTNER_REQUEST
    )
    assert StepName.PARTNER_CONFIRMATION not in checks.expected_steps(state)
