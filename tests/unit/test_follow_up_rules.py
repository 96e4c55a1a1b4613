"""The follow-up year's calendar and validators (workflows/follow_up.py), from a discharge and
the policy alone: when each consult is due and offered, when it may be booked, moved, missed,
when its outcome and each week's check-in may be sent, and the refusals otherwise."""

from datetime import timedelta

import pytest

from domain.actors import Actor
from domain.errors import StepError
from domain.follow_up import ConsultPhase, FollowUpConsult, FollowUpInput
from domain.policy import JourneyPolicy
from domain.records import Booking, BookingKind, Slot
from domain.refusals import Refusal, RefusalCode
from domain.step_declarations import StepName
from domain.steps import (
    FollowUpBooking,
    FollowUpNoShow,
    FollowUpOutcome,
    FollowUpReschedule,
    RehabCheckin,
)
from tests.unit.states import NOW, PATIENT, SPECIALIST, record_id, refusal
from workflows.follow_up import (
    check_checkin,
    check_follow_up_booking,
    check_follow_up_no_show,
    check_follow_up_reschedule,
    check_outcome,
    consult_due,
    consult_expects,
    consult_offered,
    consult_opens,
    follow_up_calendar,
    week_opens,
)

DAY = timedelta(days=1)
POLICY = JourneyPolicy()
YEAR = FollowUpInput(journey_id="j-1", discharged_at=NOW, policy=POLICY)


def outcome(n: int) -> FollowUpOutcome:
    return FollowUpOutcome(actor=SPECIALIST, consult_no=n, outcome_id=record_id())


def checkin(week: int) -> RehabCheckin:
    return RehabCheckin(actor=PATIENT, week=week, checkin_id=record_id())


def test_the_consults_fall_at_two_and_six_weeks_and_three_six_and_twelve_months() -> None:
    due = [consult_due(NOW, POLICY, n) for n in range(1, 6)]
    assert [d - NOW for d in due] == [14 * DAY, 42 * DAY, 91 * DAY, 182 * DAY, 365 * DAY]
    assert consult_opens(NOW, POLICY, 1) == NOW + 11 * DAY


def test_the_calendar_reminds_before_each_consult_and_checks_after_its_grace() -> None:
    calendar = follow_up_calendar(NOW, POLICY)
    consults = {(e.number, e.what): e.at - NOW for e in calendar if e.kind == "consult"}
    days = (14, 42, 91, 182, 365)
    assert consults == {
        **{(n, "reminder"): (d - 3) * DAY for n, d in enumerate(days, 1)},
        **{(n, "overdue"): (d + 14) * DAY for n, d in enumerate(days, 1)},
    }


def test_the_calendar_holds_every_event_once_in_time_order() -> None:
    calendar = follow_up_calendar(NOW, POLICY)
    keys = [e.key for e in calendar]
    assert len(keys) == len(set(keys))
    assert [e.at for e in calendar] == sorted(e.at for e in calendar)
    advice = [e.at - NOW for e in calendar if e.kind == "advice"]
    assert advice == [timedelta(0), 30 * DAY]
    weeks = [e for e in calendar if e.kind == "checkin"]
    assert len(weeks) == 2 * POLICY.rehab_weeks
    assert {e.at - NOW for e in weeks if e.number == 26} == {26 * 7 * DAY, (26 * 7 + 2) * DAY}
    # Two events may fall at the same moment; their order is then their keys'.
    assert calendar[0].key == "advice-1-send"


def test_a_shorter_policy_makes_a_shorter_calendar() -> None:
    policy = POLICY.model_copy(update={"follow_up_offsets": (14 * DAY,), "rehab_weeks": 0})
    calendar = follow_up_calendar(NOW, policy)
    assert [(e.kind, e.number, e.what) for e in calendar if e.kind != "advice"] == [
        ("consult", 1, "reminder"),
        ("consult", 1, "overdue"),
    ]


def test_an_outcome_is_taken_from_its_reminder_on_once() -> None:
    opens = NOW + 11 * DAY
    check_outcome(YEAR, set(), outcome(1), opens)
    early = refusal(lambda: check_outcome(YEAR, set(), outcome(1), opens - timedelta(seconds=1)))
    assert early == Refusal.of(RefusalCode.FOLLOW_UP_NOT_DUE, consult_no=1, opens_at=opens)
    assert early.english == "follow-up consult 1 is not due until 12 Dec 2026"
    assert refusal(lambda: check_outcome(YEAR, {1}, outcome(1), opens)) == Refusal.of(
        RefusalCode.FOLLOW_UP_RECORDED, consult_no=1
    )


def test_an_outcome_past_the_policys_consults_is_invalid() -> None:
    refused = refusal(lambda: check_outcome(YEAR, set(), outcome(6), NOW + 400 * DAY))
    assert refused == Refusal.of(RefusalCode.NO_SUCH_FOLLOW_UP, consults=5)
    assert refused.kind is StepError.INVALID


def test_a_weeks_check_in_is_taken_from_the_week_on_once() -> None:
    assert week_opens(NOW, POLICY, 1) == NOW
    assert week_opens(NOW, POLICY, 3) == NOW + 14 * DAY
    check_checkin(YEAR, set(), checkin(1), NOW)
    assert refusal(lambda: check_checkin(YEAR, set(), checkin(3), NOW + 13 * DAY)) == (
        Refusal.of(RefusalCode.REHAB_WEEK_NOT_STARTED, week=3)
    )
    check_checkin(YEAR, set(), checkin(3), NOW + 14 * DAY)
    assert refusal(lambda: check_checkin(YEAR, {3}, checkin(3), NOW + 14 * DAY)) == Refusal.of(
        RefusalCode.CHECKIN_RECEIVED, week=3
    )


@pytest.mark.parametrize("weeks", [0, 26])
def test_a_check_in_past_the_policys_weeks_is_invalid(weeks: int) -> None:
    year = YEAR.model_copy(update={"policy": POLICY.model_copy(update={"rehab_weeks": weeks})})
    refused = refusal(lambda: check_checkin(year, set(), checkin(weeks + 1), NOW + 400 * DAY))
    assert refused == Refusal.of(RefusalCode.NO_SUCH_REHAB_WEEK, weeks=weeks)
    assert refused.kind is StepError.INVALID


# -- booking the follow-up consults ---------------------------------------------------------


def booking(slot_id: str, n: int = 1, actor: Actor = PATIENT) -> FollowUpBooking:
    return FollowUpBooking(actor=actor, consult_no=n, slot_id=slot_id)


def offered(n: int = 1) -> FollowUpConsult:
    """Follow-up consult `n` with two times offered, at its reminder's time and a day later."""
    opens = consult_opens(NOW, POLICY, n)
    return FollowUpConsult(
        number=n,
        phase=ConsultPhase.CHOOSING,
        offered=[
            Slot(
                slot_id=f"s-{i}",
                starts_at=at,
                ends_at=at + timedelta(minutes=30),
                specialist_id="spec-1",
            )
            for i, at in enumerate((opens, opens + DAY))
        ],
        offered_at=consult_offered(NOW, POLICY, n),
        choose_by=consult_offered(NOW, POLICY, n) + POLICY.follow_up_choice_timeout,
    )


def booked(n: int = 1) -> FollowUpConsult:
    consult = offered(n)
    slot = consult.offered[1]
    return consult.model_copy(
        update={
            "phase": ConsultPhase.BOOKED,
            "choice": booking(slot.slot_id, n),
            "booking": Booking(
                booking_id=f"j-1:follow-up-{n}-1",
                kind=BookingKind.CONSULT,
                starts_at=slot.starts_at,
                ends_at=slot.ends_at,
            ),
        }
    )


def test_the_consults_are_offered_instead_of_reminded_unless_reminded_already() -> None:
    calendar = follow_up_calendar(NOW, POLICY, booked=True, done={"consult-1-reminder"})
    consults = {(e.number, e.what): e.at - NOW for e in calendar if e.kind == "consult"}
    days = (14, 42, 91, 182, 365)
    assert consults == {
        (1, "reminder"): 11 * DAY,
        **{(n, "offer"): (d - 10) * DAY for n, d in enumerate(days, 1) if n > 1},
        **{(n, "overdue"): (d + 14) * DAY for n, d in enumerate(days, 1)},
    }


def test_a_consult_is_booked_from_its_offer_once_among_its_times() -> None:
    consult = offered()
    later = consult.offered[1]
    check_follow_up_booking(YEAR, {1: consult}, set(), booking(later.slot_id), NOW)
    refused = refusal(lambda: check_follow_up_booking(YEAR, {1: consult}, set(), booking("x"), NOW))
    assert refused == Refusal.of(RefusalCode.SLOT_NOT_OFFERED)
    assert refused.kind is StepError.INVALID
    passed = refusal(
        lambda: check_follow_up_booking(
            YEAR, {1: consult}, set(), booking("s-0"), consult.offered[0].starts_at
        )
    )
    assert passed == Refusal.of(RefusalCode.SLOT_PASSED)
    taken = booked()
    assert refusal(
        lambda: check_follow_up_booking(YEAR, {1: taken}, set(), booking("s-1"), NOW)
    ) == Refusal.of(RefusalCode.SLOT_TAKEN)


def test_a_consult_not_offered_yet_or_no_longer_is_not_booked() -> None:
    opens = consult_offered(NOW, POLICY, 2)
    early = refusal(lambda: check_follow_up_booking(YEAR, {}, set(), booking("s-0", 2), NOW))
    assert early == Refusal.of(RefusalCode.FOLLOW_UP_NOT_OFFERED, consult_no=2, opens_at=opens)
    assert early.english == "times for follow-up consult 2 are offered from 02 Jan 2027"
    # A year begun before bookings reminded of it instead.
    assert refusal(
        lambda: check_follow_up_booking(YEAR, {}, set(), booking("s-0", 2), opens)
    ) == Refusal.of(RefusalCode.FOLLOW_UP_BOOKING_CLOSED, consult_no=2)
    closed = offered().model_copy(update={"phase": ConsultPhase.CLOSED})
    assert refusal(
        lambda: check_follow_up_booking(YEAR, {1: closed}, set(), booking("s-0"), NOW)
    ) == Refusal.of(RefusalCode.FOLLOW_UP_BOOKING_CLOSED, consult_no=1)
    assert refusal(
        lambda: check_follow_up_booking(YEAR, {1: offered()}, {1}, booking("s-0"), NOW)
    ) == Refusal.of(RefusalCode.FOLLOW_UP_RECORDED, consult_no=1)
    assert refusal(
        lambda: check_follow_up_booking(YEAR, {}, set(), booking("s-0", 6), NOW)
    ) == Refusal.of(RefusalCode.NO_SUCH_FOLLOW_UP, consults=5)


def test_other_times_are_asked_for_instead_of_the_offered_or_before_the_booked_one() -> None:
    move = FollowUpReschedule(actor=PATIENT, consult_no=1)
    check_follow_up_reschedule(YEAR, {1: offered()}, set(), move, NOW)
    consult = booked()
    assert consult.booking is not None
    starts = consult.booking.starts_at
    check_follow_up_reschedule(YEAR, {1: consult}, set(), move, starts - timedelta(minutes=1))
    assert refusal(
        lambda: check_follow_up_reschedule(YEAR, {1: consult}, set(), move, starts)
    ) == Refusal.of(RefusalCode.CONSULT_STARTED)
    asked = offered().model_copy(update={"other_times": move})
    assert refusal(
        lambda: check_follow_up_reschedule(YEAR, {1: asked}, set(), move, NOW)
    ) == Refusal.of(RefusalCode.NO_BOOKED_CONSULT, step=StepName.RESCHEDULE_FOLLOW_UP)


def test_a_no_show_and_an_outcome_wait_for_the_booked_consult_to_start() -> None:
    consult = booked()
    assert consult.booking is not None
    starts = consult.booking.starts_at
    missed = FollowUpNoShow(actor=SPECIALIST, consult_no=1)
    assert refusal(
        lambda: check_follow_up_no_show(YEAR, {1: consult}, set(), missed, starts - DAY)
    ) == Refusal.of(
        RefusalCode.CONSULT_NOT_STARTED, step=StepName.FOLLOW_UP_NO_SHOW, starts_at=starts
    )
    check_follow_up_no_show(YEAR, {1: consult}, set(), missed, starts)
    assert refusal(
        lambda: check_outcome(YEAR, set(), outcome(1), starts - timedelta(minutes=1), {1: consult})
    ) == Refusal.of(
        RefusalCode.CONSULT_NOT_STARTED, step=StepName.FOLLOW_UP_OUTCOME, starts_at=starts
    )
    check_outcome(YEAR, set(), outcome(1), starts, {1: consult})
    # Not booked, the outcome of a consult held by other means is taken as before.
    check_outcome(YEAR, set(), outcome(1), consult_opens(NOW, POLICY, 1), {1: offered()})
    assert refusal(
        lambda: check_follow_up_no_show(YEAR, {1: offered()}, set(), missed, starts)
    ) == Refusal.of(RefusalCode.NO_BOOKED_CONSULT, step=StepName.FOLLOW_UP_NO_SHOW)
    settled = consult.model_copy(update={"no_show": missed})
    assert refusal(
        lambda: check_follow_up_no_show(YEAR, {1: settled}, set(), missed, starts)
    ) == Refusal.of(RefusalCode.CONSULT_SETTLED)


def test_a_consult_expects_its_steps_by_where_its_booking_is() -> None:
    assert consult_expects(offered()) == [StepName.BOOK_FOLLOW_UP, StepName.RESCHEDULE_FOLLOW_UP]
    assert consult_expects(booked()) == [
        StepName.RESCHEDULE_FOLLOW_UP,
        StepName.FOLLOW_UP_NO_SHOW,
    ]
    assert consult_expects(FollowUpConsult(number=1)) == []
