"""The rule of six and when a patient's rehabilitation goes before their case manager
(domain/rehab.py), and the follow-up year's check of a case manager's record
(workflows/follow_up.py): pure rules, from week results alone."""

from datetime import timedelta
from decimal import Decimal

import pytest

from domain.actors import Actor, Role
from domain.policy import JourneyPolicy
from domain.refusals import RefusalCode
from domain.rehab import (
    RehabFollowUp,
    RehabNotice,
    RehabReason,
    RehabState,
    WeekResult,
    covered_through,
    judge_week,
    rehab_concern,
    week_results,
)
from domain.steps import RehabFollowUpRecorded
from tests.unit.states import NOW, record_id, refusal
from workflows.follow_up import check_rehab_follow_up

MET, SHORT, MISSING = WeekResult.MET, WeekResult.SHORT, WeekResult.MISSING
CASE_MANAGER = Actor(id="cm-es", role=Role.CASE_MANAGER)


@pytest.mark.parametrize(
    ("hours", "days", "result"),
    [("6", 6, MET), ("7.5", 7, MET), ("5.9", 7, SHORT), ("8", 5, SHORT), ("0", 0, SHORT)],
)
def test_a_week_meets_the_rule_with_six_hours_a_day_on_six_days(
    hours: str, days: int, result: WeekResult
) -> None:
    assert judge_week(Decimal(hours), days) is result


def test_two_short_weeks_in_a_row_are_a_concern_and_one_is_not() -> None:
    assert rehab_concern({1: SHORT, 2: MET, 3: SHORT}) is None
    concern = rehab_concern({1: MET, 2: SHORT, 3: SHORT, 4: SHORT})
    assert concern is not None
    assert (concern.reason, concern.weeks) == (RehabReason.SHORT_WEEKS, (2, 3))


def test_a_week_not_judged_yet_breaks_a_run_of_short_weeks() -> None:
    assert rehab_concern({1: SHORT, 3: SHORT}) is None


def test_a_missing_week_is_a_concern_at_once() -> None:
    concern = rehab_concern({1: MET, 2: MISSING})
    assert concern is not None
    assert (concern.reason, concern.weeks) == (RehabReason.MISSED_CHECKIN, (2,))


def test_a_closed_follow_up_answers_for_the_weeks_judged_when_it_closed() -> None:
    weeks = {1: SHORT, 2: SHORT, 3: SHORT}
    through = covered_through(weeks, (1, 2))
    assert through == 3
    assert rehab_concern(weeks, after_week=through) is None
    weeks |= {4: SHORT, 5: SHORT}
    later = rehab_concern(weeks, after_week=through)
    assert later is not None and later.weeks == (4, 5)


def test_no_new_follow_up_opens_while_one_is_open() -> None:
    follow_up = RehabFollowUp(
        number=1,
        reason=RehabReason.MISSED_CHECKIN,
        weeks=(2,),
        since=NOW,
        due=NOW + timedelta(days=3),
    )
    state = RehabState(weeks={1: SHORT, 2: MISSING, 3: SHORT, 4: SHORT}, open=follow_up)
    assert state.due() is None
    state.open = None
    assert state.due() is not None


def test_a_later_notice_sorts_after_an_earlier_one() -> None:
    def notice(number: int, closed: bool) -> RehabNotice:
        follow_up = RehabFollowUp(
            number=number, reason=RehabReason.SHORT_WEEKS, weeks=(1, 2), since=NOW, due=NOW
        )
        return RehabNotice(follow_up=follow_up, closed=closed)

    assert notice(1, False).order < notice(1, True).order < notice(2, False).order


def test_the_pages_judge_the_weeks_as_the_year_does() -> None:
    policy = JourneyPolicy()
    received = {1: (Decimal("6"), 6), 2: (Decimal("4"), 6)}
    now = NOW + 4 * policy.rehab_checkin_every + policy.rehab_checkin_grace
    results = week_results(
        received,
        discharged_at=NOW,
        now=now,
        policy=policy,
    )
    # Weeks 3 and 4 are past their check; week 5 is under way.
    assert results == {1: MET, 2: SHORT, 3: MISSING, 4: MISSING}


def test_a_case_managers_record_closes_the_open_follow_up_only() -> None:
    def record(number: int) -> RehabFollowUpRecorded:
        return RehabFollowUpRecorded(actor=CASE_MANAGER, follow_up_no=number, record_id=record_id())

    none_open = RehabState()
    assert refusal(lambda: check_rehab_follow_up(none_open, record(1))).code is (
        RefusalCode.NO_REHAB_FOLLOW_UP
    )
    follow_up = RehabFollowUp(
        number=2, reason=RehabReason.SHORT_WEEKS, weeks=(3, 4), since=NOW, due=NOW
    )
    opened = RehabState(opened=2, open=follow_up)
    refused = refusal(lambda: check_rehab_follow_up(opened, record(1)))
    assert refused.code is RefusalCode.REHAB_FOLLOW_UP_SUPERSEDED
    assert (refused.params.follow_up_no, refused.params.open_follow_up) == (1, 2)
    check_rehab_follow_up(opened, record(2))
