"""A patient's rehabilitation that falls behind reaches their case manager: the follow-up year
judges each week's check-in against the rule of six, and two short weeks in a row, or a check-in
still missing after its reminder, put the journey before the case manager (worklist,
`WaitingOn`, an email in the language they work in) until they record what was agreed.

In the time-skipping environment, with the real worker, PostgreSQL and SMTP.
"""

import uuid
from datetime import timedelta
from email.message import EmailMessage
from pathlib import Path

import asyncpg
import pytest
from temporalio.client import WorkflowUpdateFailedError
from temporalio.testing import WorkflowEnvironment

from db.clinical import ClinicalRepository
from domain.actors import Actor, Role
from domain.follow_up import FollowUpStatus
from domain.journey import JourneyStatus
from domain.names import WAITING_ON
from domain.refusals import RefusalCode
from domain.rehab import RehabOutcome, RehabReason, WeekResult
from domain.stages import Stage, Task, WaitingOn
from domain.step_declarations import StepName
from domain.steps import RehabFollowUpRecorded
from settings import Settings
from tests.helpers import eventually, read_mailbox, refusal_of, text_of
from tests.journeys import JourneyDriver, assert_no_needles, seed_staff
from workflows.follow_up import FollowUp

pytestmark = pytest.mark.usefixtures("worker")

# The case manager a Spanish-speaking patient is given (tests/journeys.py), who works in Spanish.
LUCIA = Actor(id="cm-es", role=Role.CASE_MANAGER)
AGREED = "Agreed with Ana: morning sessions at the community pool, her brother drives her."
CHECKIN_NOTE = "My knee hurt after Tuesday, so I rested."


@pytest.fixture
async def in_follow_up(
    temporal_env: WorkflowEnvironment, pool: asyncpg.Pool, settings: Settings, mail_dir: Path
) -> JourneyDriver:
    """A journey discharged from the clinic, its follow-up year just begun."""
    await seed_staff(pool)
    j = await JourneyDriver(temporal_env, pool, settings.task_queue, mail_dir).start()
    await j.book_the_trip()
    await j.sleep(timedelta(days=31))
    await j.treat()
    return j


async def _emails_of(j: JourneyDriver, step: str) -> list[EmailMessage]:
    """The journey's emails of `step` (its Message-ID says the step)."""
    return [
        m
        for m in read_mailbox(j.mail_dir)
        if m["Message-ID"].strip().strip("<>").startswith(f"{j.journey_id}.{step}@")
    ]


async def _waiting_on_case_manager(j: JourneyDriver) -> JourneyStatus:
    return await eventually(
        j.status,
        until=lambda s: s.waiting_on is WaitingOn.CASE_MANAGER,
        what="the journey waiting on the case manager",
    )


async def _year(j: JourneyDriver) -> FollowUpStatus:
    status: FollowUpStatus = await j.follow_up.query(FollowUp.status)
    return status


async def _record(j: JourneyDriver, number: int, outcome: RehabOutcome) -> FollowUpStatus:
    """The case manager's record, stored then sent as the API does."""
    async with j.pool.acquire() as conn:
        record_id = await ClinicalRepository(conn).add_rehab_follow_up_note(
            journey_id=j.journey_id,
            follow_up_no=number,
            outcome=outcome.value,
            note=AGREED,
            recorded_by=LUCIA.id,
        )
    status: FollowUpStatus = await j.follow_up.execute_update(
        FollowUp.rehab_follow_up,
        RehabFollowUpRecorded(actor=LUCIA, follow_up_no=number, record_id=record_id),
    )
    return status


async def test_two_short_weeks_in_a_row_put_the_journey_before_its_case_manager(
    in_follow_up: JourneyDriver,
) -> None:
    j = in_follow_up
    every = j.policy.rehab_checkin_every
    await j.sleep(every - timedelta(days=1))
    await j.check_in(1, hours="4.5", days=6, notes=CHECKIN_NOTE)
    # One short week is the patient's own to make up: nobody is asked yet.
    await eventually(
        lambda: _year(j), until=lambda y: y.weeks == {1: WeekResult.SHORT}, what="week 1"
    )
    assert (await j.status()).waiting_on is WaitingOn.PATIENT
    await j.sleep(every)
    await j.check_in(2, hours="6", days=4)

    status = await _waiting_on_case_manager(j)
    opened_at = await j.now()
    assert status.stage is Stage.FOLLOW_UP and status.task is Task.FOLLOW_UP_REHABILITATION
    follow_up = status.rehab_follow_up
    assert follow_up is not None
    assert (follow_up.number, follow_up.reason, follow_up.weeks) == (
        1,
        RehabReason.SHORT_WEEKS,
        (1, 2),
    )
    assert status.deadline == follow_up.due
    assert follow_up.due - opened_at <= j.policy.rehab_follow_up_within
    assert StepName.REHAB_FOLLOW_UP in status.expects
    assert StepName.REHAB_CHECKIN in status.expects, "the patient still checks in"
    year = await _year(j)
    assert year.weeks == {1: WeekResult.SHORT, 2: WeekResult.SHORT}
    assert year.rehab_follow_up == follow_up

    # Where case managers look: the worklist's projection, the Temporal UI, their mailbox.
    row = await j.pool.fetchrow(
        "SELECT waiting_on, next_deadline FROM journeys WHERE journey_id = $1",
        uuid.UUID(j.journey_id),
    )
    assert (row["waiting_on"], row["next_deadline"]) == ("case_manager", follow_up.due)
    attributes = (await j.handle.describe()).typed_search_attributes
    assert attributes.get(WAITING_ON) == "case_manager"
    [email] = await eventually(lambda: _emails_of(j, "follow-up-rehab-1"), until=bool)
    assert email["To"] == "lucia@clinic.test"
    assert email["Content-Language"] == "es", "in the language the case manager works in"
    assert "regla del seis" in text_of(email) and "1, 2" in text_of(email)
    assert "Ana" not in text_of(email), "no patient details in staff mail"
    opened = await j.pool.fetchrow(
        "SELECT reason, weeks, closed_at FROM rehab_follow_ups WHERE journey_id = $1",
        uuid.UUID(j.journey_id),
    )
    assert (opened["reason"], opened["weeks"], opened["closed_at"]) == (
        "short_weeks",
        [1, 2],
        None,
    )

    # A record for a follow-up that is not the open one changes nothing.
    with pytest.raises(WorkflowUpdateFailedError) as stale:
        await _record(j, 2, RehabOutcome.PLAN_ADJUSTED)
    refused = refusal_of(stale.value)
    assert refused.code is RefusalCode.REHAB_FOLLOW_UP_SUPERSEDED
    assert (await j.status()).waiting_on is WaitingOn.CASE_MANAGER

    closed = await _record(j, 1, RehabOutcome.PLAN_ADJUSTED)
    assert closed.rehab_follow_up is None
    back = await eventually(
        j.status, until=lambda s: s.waiting_on is WaitingOn.PATIENT, what="back to the patient"
    )
    assert back.task is Task.FOLLOW_UP_YEAR and back.deadline is None
    assert back.rehab_follow_up is None
    assert back.transitions[-1].actor_id == LUCIA.id, "the case manager moved the journey on"
    row = await j.pool.fetchrow(
        """SELECT f.closed_by, n.outcome, n.note FROM rehab_follow_ups f
             JOIN rehab_follow_up_notes n USING (record_id) WHERE f.journey_id = $1""",
        uuid.UUID(j.journey_id),
    )
    assert (row["closed_by"], row["outcome"], row["note"]) == ("cm-es", "plan_adjusted", AGREED)
    with pytest.raises(WorkflowUpdateFailedError) as again:
        await _record(j, 1, RehabOutcome.PLAN_ADJUSTED)
    assert refusal_of(again.value).code is RefusalCode.NO_REHAB_FOLLOW_UP

    # The weeks the case manager answered for bring no second follow-up; two more short ones do.
    await j.sleep(every)
    await j.check_in(3, hours="6", days=5)
    await eventually(lambda: _year(j), until=lambda y: 3 in y.weeks, what="week 3 judged")
    assert (await j.status()).waiting_on is WaitingOn.PATIENT
    await j.sleep(every)
    await j.check_in(4, hours="2", days=6)
    second = await _waiting_on_case_manager(j)
    assert second.rehab_follow_up is not None
    assert (second.rehab_follow_up.number, second.rehab_follow_up.weeks) == (2, (3, 4))
    # What the patient and the case manager wrote is in PostgreSQL only.
    await assert_no_needles(j.client, j.journey_id, [AGREED, CHECKIN_NOTE])


async def test_a_check_in_missing_after_its_reminder_reaches_the_case_manager(
    in_follow_up: JourneyDriver,
) -> None:
    j = in_follow_up
    policy = j.policy
    every, grace = policy.rehab_checkin_every, policy.rehab_checkin_grace
    await j.sleep(every - timedelta(days=1))
    await j.check_in(1)
    # Week 2 never comes: its reminder at the week's end, then its check after the grace.
    await j.sleep(every + timedelta(days=1, hours=1))
    await eventually(
        lambda: _emails_of(j, "follow-up-checkin-2-reminder"), until=bool, what="reminder"
    )
    assert (await j.status()).waiting_on is WaitingOn.PATIENT, "still the patient's to send"
    await j.sleep(grace)

    status = await _waiting_on_case_manager(j)
    follow_up = status.rehab_follow_up
    assert follow_up is not None
    assert (follow_up.reason, follow_up.weeks) == (RehabReason.MISSED_CHECKIN, (2,))
    year = await _year(j)
    assert year.weeks == {1: WeekResult.MET, 2: WeekResult.MISSING}
    [email] = await eventually(lambda: _emails_of(j, "follow-up-rehab-1"), until=bool)
    assert "semana 2" in text_of(email)
    # The follow-up is the case manager's word on week 2; its missed-check-in email is not sent.
    assert not await _emails_of(j, "follow-up-checkin-2-check")

    # Another week missed while the follow-up is open: the case manager is told of it too.
    await j.sleep(every)
    await eventually(lambda: _emails_of(j, "follow-up-checkin-3-check"), until=bool, what="week 3")
    assert (await _year(j)).rehab_follow_up == follow_up, "one follow-up open at a time"
    assert (await j.status()).rehab_follow_up == follow_up

    # The late check-in of week 2 is still taken, and judged.
    await j.check_in(2, hours="6", days=6)
    await eventually(
        lambda: _year(j),
        until=lambda y: y.weeks.get(2) is WeekResult.MET,
        what="week 2 judged late",
    )
    await _record(j, 1, RehabOutcome.NOT_REACHED)
    await eventually(j.status, until=lambda s: s.waiting_on is WaitingOn.PATIENT)
