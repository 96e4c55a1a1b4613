"""The follow-up year's calendar and validators (workflows/follow_up.py), from a discharge and
the policy alone: when each consult is due, when its outcome and each week's check-in may be
sent, and the refusals otherwise."""

from datetime import timedelta

import pytest

from domain.errors import StepError
from domain.follow_up import FollowUpInput
from domain.policy import JourneyPolicy
from domain.refusals import Refusal, RefusalCode
from domain.steps import FollowUpOutcome, RehabCheckin
from tests.unit.states import NOW, PATIENT, SPECIALIST, record_id, refusal
from workflows.follow_up import (
    check_checkin,
    check_outcome,
    consult_due,
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
