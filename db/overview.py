"""The overview's SQL: aggregate figures of every journey, read in one snapshot.

Each figure is a grouped count or a percentile computed by PostgreSQL, so a page view carries
a few dozen numbers over the wire whatever the number of journeys; the tables are reached
through the indexes of migration 011 on their dates.
"""

from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from db.repository import Repository
from domain.notifications import NotificationKind
from domain.overview import (
    WEEKS,
    WINDOW,
    BreachKind,
    Outcome,
    Overview,
    StageCount,
    StageDuration,
    WeekFigures,
)
from domain.stages import FINAL_STAGES, Stage

_FINAL = sorted(stage.value for stage in FINAL_STAGES)
_ORDER = {stage: position for position, stage in enumerate(Stage)}

# A missed deadline leaves no row of its own: the journey sends an email when it passes, and
# the outbox keeps one row per email step (claimed before sending, so even an email that could
# not go out counts). The review SLA's first escalation of each review round is the breach
# (`review-escalation-<round>-1`); the later ones repeat it daily. A follow-up consult's
# specialist gets two emails of one kind: the reminder (`…-reminder-specialist`) and, when
# the outcome is still missing after the grace period, `consult-<n>-overdue`. The kinds are
# written into the SQL rather than bound, so the planner can use the partial index on them.
_BREACH = f"""CASE
    WHEN kind = '{NotificationKind.REVIEW_ESCALATION.value}'
         AND step ~ '^review-escalation-[0-9]+-1$' THEN '{BreachKind.REVIEW_SLA.value}'
    WHEN kind = '{NotificationKind.ADMISSION_OVERDUE.value}'
         THEN '{BreachKind.ADMISSION_OVERDUE.value}'
    WHEN kind = '{NotificationKind.FOLLOW_UP_DUE_SPECIALIST.value}'
         AND step ~ '^consult-[0-9]+-overdue$' THEN '{BreachKind.FOLLOW_UP_OVERDUE.value}'
    END"""
_BREACH_KINDS = ", ".join(
    f"'{kind.value}'"
    for kind in (
        NotificationKind.REVIEW_ESCALATION,
        NotificationKind.ADMISSION_OVERDUE,
        NotificationKind.FOLLOW_UP_DUE_SPECIALIST,
    )
)


def week_starts(now: datetime, time_zone: str, weeks: int = WEEKS) -> list[date]:
    """The Mondays of the last `weeks` weeks in `time_zone`, oldest first, this week last."""
    today = now.astimezone(ZoneInfo(time_zone)).date()
    this_monday = today - timedelta(days=today.weekday())
    return [this_monday - timedelta(weeks=back) for back in range(weeks - 1, -1, -1)]


class OverviewRepository(Repository):
    """Owns the overview's SQL."""

    async def overview(self, *, now: datetime, time_zone: str) -> Overview:
        """Every figure as of `now`, with weeks starting on Monday in `time_zone`, read in
        one snapshot so that the figures agree with each other."""
        since = now - WINDOW
        async with self._conn.transaction(isolation="repeatable_read", readonly=True):
            return Overview(
                as_of=now,
                time_zone=time_zone,
                stages=await self.stage_counts(),
                durations=await self.stage_durations(since=since),
                weeks=await self.weeks(now=now, time_zone=time_zone),
                outcomes=await self.outcomes(since=since),
            )

    async def stage_counts(self) -> list[StageCount]:
        """Open journeys per stage, every open stage in the journey's order (0 included)."""
        rows = await self._conn.fetch(
            """SELECT stage, count(*)::int AS n FROM journeys
                WHERE stage <> ALL($1::text[]) GROUP BY stage""",
            _FINAL,
        )
        counts = {row["stage"]: row["n"] for row in rows}
        return [
            StageCount(stage=stage, journeys=counts.get(stage.value, 0))
            for stage in Stage
            if not stage.is_final
        ]

    async def stage_durations(self, *, since: datetime) -> list[StageDuration]:
        """The median and 90th percentile of the time journeys stayed in each stage, over the
        stays that ended since `since`.

        A stay runs from the change that entered the stage to the journey's next change into
        another stage: changes within a stage (a new wait, an incident) do not end it, or a
        review that asked for documents would count as several short stays. Stays still
        going are left out (their length is not known yet), as are final stages.
        """
        rows = await self._conn.fetch(
            """WITH recent AS (
                    SELECT DISTINCT journey_id FROM stage_changes WHERE changed_at >= $1),
                marked AS (
                    SELECT s.journey_id, s.seq, s.stage, s.changed_at,
                           s.stage IS DISTINCT FROM lag(s.stage) OVER w AS entered
                      FROM stage_changes s JOIN recent USING (journey_id)
                    WINDOW w AS (PARTITION BY s.journey_id ORDER BY s.seq)),
                stays AS (
                    SELECT stage, changed_at AS entered_at,
                           lead(changed_at) OVER (PARTITION BY journey_id ORDER BY seq)
                               AS left_at
                      FROM marked WHERE entered)
               SELECT stage, count(*)::int AS stays,
                      percentile_cont(0.5) WITHIN GROUP (ORDER BY left_at - entered_at)
                          AS median,
                      percentile_cont(0.9) WITHIN GROUP (ORDER BY left_at - entered_at) AS p90
                 FROM stays WHERE left_at >= $1
                GROUP BY stage""",
            since,
        )
        durations = [
            StageDuration(
                stage=Stage(row["stage"]),
                stays=row["stays"],
                median=row["median"],
                p90=row["p90"],
            )
            for row in rows
            if row["stage"] in Stage._value2member_map_
        ]
        return sorted(durations, key=lambda d: _ORDER[d.stage])

    async def weeks(self, *, now: datetime, time_zone: str) -> list[WeekFigures]:
        """Journeys started, deadlines missed and incidents opened in each of the last weeks,
        each week Monday to Sunday in `time_zone`."""
        mondays = week_starts(now, time_zone)
        start = datetime.combine(mondays[0], time(0), tzinfo=ZoneInfo(time_zone))
        rows = await self._conn.fetch(
            f"""SELECT 'intake' AS what, date_trunc('week', created_at AT TIME ZONE $2)::date
                       AS week, count(*)::int AS n
                  FROM journeys WHERE created_at >= $1 GROUP BY 2
                UNION ALL
                SELECT 'incident', date_trunc('week', opened_at AT TIME ZONE $2)::date,
                       count(*)::int
                  FROM incidents WHERE opened_at >= $1 GROUP BY 2
                UNION ALL
                SELECT breach, week, count(*)::int
                  FROM (SELECT {_BREACH} AS breach,
                               date_trunc('week', created_at AT TIME ZONE $2)::date AS week
                          FROM outbox
                         WHERE created_at >= $1 AND kind IN ({_BREACH_KINDS})) missed
                 WHERE breach IS NOT NULL
                 GROUP BY 1, 2""",
            start,
            time_zone,
        )
        intake: dict[date, int] = {}
        incidents: dict[date, int] = {}
        breaches: dict[date, dict[BreachKind, int]] = {}
        for row in rows:
            what, week, n = row["what"], row["week"], row["n"]
            if what == "intake":
                intake[week] = n
            elif what == "incident":
                incidents[week] = n
            else:
                breaches.setdefault(week, {})[BreachKind(what)] = n
        # Rows dated after this week (none in a real system) fall outside the weeks shown.
        return [
            WeekFigures(
                week=monday,
                intake=intake.get(monday, 0),
                breaches=breaches.get(monday, {}),
                incidents=incidents.get(monday, 0),
            )
            for monday in mondays
        ]

    async def outcomes(self, *, since: datetime) -> list[Outcome]:
        """Journeys that ended since `since`, by final stage and coded reason; most common
        first within each stage, the stages in the journey's order."""
        rows = await self._conn.fetch(
            """SELECT stage, reason, count(DISTINCT journey_id)::int AS n
                 FROM stage_changes
                WHERE stage = ANY($1::text[]) AND changed_at >= $2
                GROUP BY stage, reason""",
            _FINAL,
            since,
        )
        outcomes = [
            Outcome(stage=Stage(row["stage"]), reason=row["reason"], journeys=row["n"])
            for row in rows
        ]
        return sorted(outcomes, key=lambda o: (_ORDER[o.stage], -o.journeys, o.reason or "~"))
