"""The case page's two charts of the follow-up year, each with the table that is its text
alternative: the weeks of rehabilitation against the rule of six, and the outcomes of the
follow-up consults on the clinical scales, consult by consult.

Both read the records PostgreSQL holds (the check-ins' hours and the outcomes' scores never
enter a workflow), and judge the weeks with the rules the follow-up year applies
(`domain/rehab.py`), so the page and the journey agree.
"""

from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal

from api.console.charts import ColumnChart, TrendChart, columns, trend
from domain.case_file import CaseRecords, FollowUpOutcomeRecord
from domain.outcome_scales import RANGES, Score
from domain.policy import JourneyPolicy
from domain.rehab import RULE_OF_SIX, WeekResult, week_results
from i18n import format_period


@dataclass(frozen=True)
class WeekRow:
    """One week of rehabilitation as the table gives it; no result while it is still open."""

    week: int
    hours: Decimal | None
    days: int | None
    result: WeekResult | None
    submitted_at: datetime | None


@dataclass(frozen=True)
class RehabWeeks:
    chart: ColumnChart
    rows: list[WeekRow]
    target: int = RULE_OF_SIX


def rehab_weeks(
    records: CaseRecords, since: datetime | None, now: datetime, policy: JourneyPolicy
) -> RehabWeeks | None:
    """The weeks from the first to the last that has begun (or the last with a check-in);
    None before the follow-up year. Without its start (a journey whose stages PostgreSQL did
    not record) the check-ins are shown unjudged."""
    latest = {c.week: c for c in records.checkins}
    if since is None and not latest:
        return None
    received = {w: (c.walking_hours_per_day, c.days_per_week) for w, c in latest.items()}
    results = (
        week_results(
            received,
            discharged_at=since,
            now=now,
            policy=policy,
        )
        if since is not None
        else {}
    )
    begun = (now - since) // policy.rehab_checkin_every + 1 if since is not None else 0
    shown = min(max(begun, max(latest, default=0)), policy.rehab_weeks)
    if shown < 1:
        return None
    rows = [
        WeekRow(
            week=week,
            hours=latest[week].walking_hours_per_day if week in latest else None,
            days=latest[week].days_per_week if week in latest else None,
            result=results.get(week),
            submitted_at=latest[week].submitted_at if week in latest else None,
        )
        for week in range(1, shown + 1)
    ]
    chart = columns(
        [
            (str(row.week), [(float(row.hours or 0), "hours"), (row.days or 0, "days")])
            for row in rows
        ],
        marker=RULE_OF_SIX,
        # A week short of the rule, or missing, stands on a band the legend names.
        highlighted=[row.result in (WeekResult.SHORT, WeekResult.MISSING) for row in rows],
    )
    return RehabWeeks(chart=chart, rows=rows)


@dataclass(frozen=True)
class Trend:
    """One chart of scores that share a range, with the series it draws."""

    key: str
    chart: TrendChart
    series: list[str]


# The charts, each with its scores: on the same range, so that one axis reads them all.
_TRENDS: tuple[tuple[str, tuple[Score, ...]], ...] = (
    ("motor", (Score.UEMS, Score.LEMS)),
    ("sensory", (Score.LIGHT_TOUCH, Score.PIN_PRICK)),
    ("scim", (Score.SCIM_TOTAL,)),
)


def outcome_trends(
    records: CaseRecords, policy: JourneyPolicy, language: str
) -> tuple[list[FollowUpOutcomeRecord], list[Trend]]:
    """The outcomes on the scales, one per consult (the latest recorded), and a chart for each
    group of scores at least one of them holds. Consults are labelled by when they fall after
    the discharge ("2 weeks", "3 months")."""
    latest = {o.consult_no: o for o in records.follow_ups}
    scaled = [latest[n] for n in sorted(latest) if latest[n].ais_grade is not None]
    labels = [
        format_period(policy.follow_up_offsets[o.consult_no - 1], language)
        if o.consult_no <= len(policy.follow_up_offsets)
        else str(o.consult_no)
        for o in scaled
    ]
    trends = []
    for key, scores in _TRENDS:
        values = [(s, [getattr(o, s.value) for o in scaled]) for s in scores]
        if not any(v is not None for _, series in values for v in series):
            continue
        top = max(RANGES[s].high for s in scores)
        chart = trend(labels, [(s.value, series) for s, series in values], top)
        trends.append(Trend(key=key, chart=chart, series=[s.value for s in scores]))
    return scaled, trends
