"""The overview's figures from PostgreSQL: journeys per stage, how long stages take, intake,
missed deadlines and incidents per week, and how journeys ended. Rows are written with known
dates and the figures checked as a coordinator would check them; one journey runs for real, so
the figures are shown to come from what journeys record."""

import asyncio
import uuid
from datetime import UTC, datetime, timedelta

import asyncpg
import pytest

from db.overview import OverviewRepository, week_starts
from domain.overview import BreachKind, Outcome, StageCount, StageDuration, WeekFigures
from domain.stages import Stage, WaitingOn
from domain.steps import RejectionReason
from tests.helpers import eventually
from tests.journey_rows import add_journey
from tests.journeys import JourneyDriver

# A Wednesday noon; its week began on Monday 23 November in Madrid and in UTC alike.
NOW = datetime(2026, 11, 25, 12, 0, tzinfo=UTC)
HOUR, DAY, MINUTE = timedelta(hours=1), timedelta(days=1), timedelta(minutes=1)
MADRID = "Europe/Madrid"


def _at(month: int, day: int, hour: int) -> datetime:
    return datetime(2026, month, day, hour, tzinfo=UTC)


async def _changes(
    pool: asyncpg.Pool, journey_id: str, *changes: tuple[str, str, datetime, str | None]
) -> None:
    """The journey's stage changes, numbered in order: (stage, waiting on, when, reason)."""
    await pool.executemany(
        """INSERT INTO stage_changes (journey_id, seq, stage, waiting_on, actor_id, actor_role,
                                      changed_at, reason)
           VALUES ($1, $2, $3, $4, 'system', 'system', $5, $6)""",
        [
            (journey_id, seq, stage, waiting, at, reason)
            for seq, (stage, waiting, at, reason) in enumerate(changes, start=1)
        ],
    )


async def _email(pool: asyncpg.Pool, kind: str, step: str, at: datetime) -> None:
    await pool.execute(
        """INSERT INTO outbox (journey_id, step, kind, audience, message_id, created_at)
           VALUES ($1, $2, $3, 'medical_lead', $4, $5)""",
        uuid.uuid4(),
        step,
        kind,
        f"<{uuid.uuid4()}@test>",
        at,
    )


async def _incident(pool: asyncpg.Pool, journey_id: str, number: int, at: datetime) -> None:
    await pool.execute(
        """INSERT INTO incidents (journey_id, workflow, number, kind, step, opened_at)
           VALUES ($1, 'journey', $2, 'email_refused', 'email:acknowledgement', $3)""",
        journey_id,
        number,
        at,
    )


@pytest.fixture
async def seeded(pool: asyncpg.Pool) -> None:
    """Journeys with known dates: five in CASE_MANAGER after validations of 1, 2, 3, 4 and 10
    hours (the last asked for documents on the way), one in TELECONSULT after 90 days with
    its case manager, two in TRAVEL, and eight ended, one of them too long ago to count."""
    started = NOW - 20 * DAY
    for hours in (1, 2, 3, 4, 10):
        jid = await add_journey(
            pool, stage="CASE_MANAGER", waiting_on="coordinator", created_at=started
        )
        entered = started + MINUTE
        within = []
        if hours == 10:
            within = [
                ("VALIDATION", "patient", entered + 4 * HOUR, None),
                ("VALIDATION", "reviewer", entered + 6 * HOUR, None),
            ]
        await _changes(
            pool,
            jid,
            ("INQUIRY", "none", started, None),
            ("VALIDATION", "reviewer", entered, None),
            *within,
            ("CASE_MANAGER", "coordinator", entered + hours * HOUR, None),
        )
    # Its validation ended 100 days ago, outside the window; its case manager stay did not.
    old = NOW - 120 * DAY
    jid = await add_journey(pool, stage="TELECONSULT", waiting_on="patient", created_at=old)
    await _changes(
        pool,
        jid,
        ("INQUIRY", "none", old, None),
        ("VALIDATION", "reviewer", old + MINUTE, None),
        ("CASE_MANAGER", "coordinator", NOW - 100 * DAY, None),
        ("TELECONSULT", "patient", NOW - 10 * DAY, None),
    )
    # Monday 00:30 in Madrid is still Sunday in UTC.
    monday_in_madrid = _at(11, 22, 23) + 30 * MINUTE
    travel = await add_journey(pool, stage="TRAVEL", waiting_on="patient", created_at=NOW - DAY)
    held = await add_journey(
        pool,
        stage="TRAVEL",
        waiting_on="coordinator",
        incident="email_refused",
        created_at=monday_in_madrid,
    )
    for stage, reason, ago in (
        ("COMPLETED", None, 5 * DAY),
        ("WITHDRAWN", "financial", 3 * DAY),
        ("WITHDRAWN", "financial", 40 * DAY),
        ("WITHDRAWN", "plan_declined", 2 * DAY),
        ("NOT_ELIGIBLE", "contraindication", DAY),
        # Ended before endings recorded their reason.
        ("NOT_ELIGIBLE", None, 6 * DAY),
        ("LOST_CONTACT", "no_documents", 89 * DAY),
        ("WITHDRAWN", "financial", 91 * DAY),
    ):
        jid = await add_journey(pool, stage=stage, waiting_on="none", created_at=NOW - 200 * DAY)
        await _changes(pool, jid, (stage, "none", NOW - ago, reason))

    await _email(pool, "review_escalation", "review-escalation-1-1", _at(11, 24, 10))
    # The same review's second day late: the same breach, not a new one.
    await _email(pool, "review_escalation", "review-escalation-1-2", _at(11, 25, 10))
    await _email(pool, "review_escalation", "review-escalation-2-1", _at(11, 10, 10))
    await _email(pool, "admission_overdue", "admission-overdue", _at(11, 24, 11))
    await _email(pool, "follow_up_due_specialist", "consult-3-overdue", _at(11, 17, 9))
    # A reminder before the consult is due is no breach.
    await _email(
        pool,
        "follow_up_due_specialist",
        "consult-3-reminder-specialist",
        _at(11, 16, 9),
    )
    await _email(pool, "review_escalation", "review-escalation-1-1", NOW - 100 * DAY)

    await _incident(pool, held, 1, _at(11, 24, 8))
    await _incident(pool, travel, 1, _at(11, 24, 9))
    await _incident(pool, travel, 2, _at(10, 1, 9))
    await _incident(pool, travel, 3, NOW - 100 * DAY)


@pytest.mark.usefixtures("seeded")
async def test_open_journeys_per_stage(pool: asyncpg.Pool) -> None:
    async with pool.acquire() as conn:
        overview = await OverviewRepository(conn).overview(now=NOW, time_zone=MADRID)
    counts = {c.stage: c.journeys for c in overview.stages}
    assert [c.stage for c in overview.stages] == [s for s in Stage if not s.is_final]
    assert counts == {
        Stage.INQUIRY: 0,
        Stage.VALIDATION: 0,
        Stage.CASE_MANAGER: 5,
        Stage.TELECONSULT: 1,
        Stage.PLAN: 0,
        Stage.TRAVEL: 2,
        Stage.TREATMENT: 0,
        Stage.FOLLOW_UP: 0,
    }
    assert overview.open_journeys == 8


@pytest.mark.usefixtures("seeded")
async def test_time_in_each_stage_median_and_90th_percentile(pool: asyncpg.Pool) -> None:
    async with pool.acquire() as conn:
        durations = await OverviewRepository(conn).stage_durations(since=NOW - 90 * DAY)
    assert durations == [
        StageDuration(stage=Stage.INQUIRY, stays=5, median=MINUTE, p90=MINUTE),
        # 1, 2, 3, 4 and 10 hours: the 90th percentile lies 60 % of the way from 4 to 10.
        StageDuration(stage=Stage.VALIDATION, stays=5, median=3 * HOUR, p90=7 * HOUR + 36 * MINUTE),
        StageDuration(stage=Stage.CASE_MANAGER, stays=1, median=90 * DAY, p90=90 * DAY),
    ]


@pytest.mark.usefixtures("seeded")
async def test_intake_breaches_and_incidents_per_week_in_the_readers_zone(
    pool: asyncpg.Pool,
) -> None:
    async with pool.acquire() as conn:
        repo = OverviewRepository(conn)
        madrid = await repo.weeks(now=NOW, time_zone=MADRID)
        utc = await repo.weeks(now=NOW, time_zone="UTC")
    mondays = week_starts(NOW, MADRID)
    assert [w.week for w in madrid] == mondays
    assert len(mondays) == 12 and mondays[-1].isoformat() == "2026-11-23"
    assert mondays[0].isoformat() == "2026-09-07"
    busy = {w.week.isoformat(): w for w in madrid if w != WeekFigures(week=w.week)}
    assert busy == {
        "2026-09-28": WeekFigures(week=mondays[3], incidents=1),
        "2026-11-02": WeekFigures(week=mondays[8], intake=5),
        "2026-11-09": WeekFigures(week=mondays[9], breaches={BreachKind.REVIEW_SLA: 1}),
        "2026-11-16": WeekFigures(week=mondays[10], breaches={BreachKind.FOLLOW_UP_OVERDUE: 1}),
        "2026-11-23": WeekFigures(
            week=mondays[11],
            intake=2,
            breaches={BreachKind.REVIEW_SLA: 1, BreachKind.ADMISSION_OVERDUE: 1},
            incidents=2,
        ),
    }
    assert busy["2026-11-23"].breach_total == 2
    # In UTC the journey started at half past midnight on Monday in Madrid fell on Sunday.
    assert [w.intake for w in utc][-3:] == [0, 1, 1]


@pytest.mark.usefixtures("seeded")
async def test_how_journeys_ended_in_the_last_90_days(pool: asyncpg.Pool) -> None:
    async with pool.acquire() as conn:
        overview = await OverviewRepository(conn).overview(now=NOW, time_zone="UTC")
    assert overview.outcomes == [
        Outcome(stage=Stage.COMPLETED, reason=None, journeys=1),
        Outcome(stage=Stage.NOT_ELIGIBLE, reason="contraindication", journeys=1),
        Outcome(stage=Stage.NOT_ELIGIBLE, reason=None, journeys=1),
        Outcome(stage=Stage.WITHDRAWN, reason="financial", journeys=2),
        Outcome(stage=Stage.WITHDRAWN, reason="plan_declined", journeys=1),
        Outcome(stage=Stage.LOST_CONTACT, reason="no_documents", journeys=1),
    ]
    assert overview.ended_journeys == 7


async def test_nothing_yet_is_zeros_not_errors(pool: asyncpg.Pool) -> None:
    async with pool.acquire() as conn:
        overview = await OverviewRepository(conn).overview(now=NOW, time_zone=MADRID)
    assert overview.open_journeys == 0 and overview.ended_journeys == 0
    assert overview.durations == []
    assert all(w == WeekFigures(week=w.week) for w in overview.weeks)
    assert overview.stages[0] == StageCount(stage=Stage.INQUIRY, journeys=0)


@pytest.mark.usefixtures("worker")
async def test_a_journey_that_ran_shows_in_the_figures(
    pool: asyncpg.Pool,
    driver: JourneyDriver,
) -> None:
    """A journey left two days with its reviewer, then rejected: its intake, the missed review
    SLA, its time in validation and its ending come from what it recorded itself."""
    j = await driver.start()
    await j.reach(Stage.VALIDATION, WaitingOn.REVIEWER)
    await j.sleep(timedelta(hours=49))
    await eventually(
        lambda: asyncio.sleep(0, j.mail_kinds()), until=lambda m: "review-escalation-1-1" in m
    )
    await j.reject(RejectionReason.CONTRAINDICATION)
    assert (await j.result()).stage is Stage.NOT_ELIGIBLE

    async with pool.acquire() as conn:
        overview = await OverviewRepository(conn).overview(now=datetime.now(UTC), time_zone="UTC")
    assert overview.open_journeys == 0
    assert overview.outcomes == [
        Outcome(stage=Stage.NOT_ELIGIBLE, reason="contraindication", journeys=1)
    ]
    this_week = overview.weeks[-1]
    assert this_week.intake == 1
    assert this_week.breaches == {BreachKind.REVIEW_SLA: 1}
    validation = next(d for d in overview.durations if d.stage is Stage.VALIDATION)
    # The journey's own clock (which the test skipped forward) dates its stage changes.
    assert validation.stays == 1 and 49 * HOUR <= validation.median < 50 * HOUR
