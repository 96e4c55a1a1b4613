"""The overview at `/staff/overview`: how many journeys are in each stage, how long stages
take, missed deadlines and incidents week by week, journeys started, and how journeys ended.

Aggregate figures only (api/reads/overview.py, for the roles of `domain.readers.SEES_OVERVIEW`),
each drawn as a chart on the server (api/console/charts.py) with the same figures in a table.
The request's row in the audit log records every view, as for every console page.
"""

from datetime import UTC, date, datetime

from fastapi import APIRouter, Depends, Request
from fastapi.responses import HTMLResponse

from api.console.charts import ColumnChart, HorizontalChart, columns, horizontal
from api.console.guards import ConsoleRefusal, ViewerDep, console_gate
from api.console.rendering import render
from api.console.wording import Wording
from api.deps import PoolDep
from api.reads.errors import ReadRefused
from api.reads.overview import read_overview
from domain.overview import WEEKS, WINDOW, BreachKind, Overview
from i18n import format_day_month, format_duration, format_number

router = APIRouter(prefix="/staff", dependencies=[Depends(console_gate)], include_in_schema=False)


def _stage_chart(overview: Overview, words: Wording) -> HorizontalChart:
    return horizontal(
        [
            (
                words.stage(count.stage),
                [(count.journeys, "count")],
                format_number(count.journeys, words.language),
            )
            for count in overview.stages
        ]
    )


def _duration_chart(overview: Overview, words: Wording) -> HorizontalChart:
    language = words.language
    return horizontal(
        [
            (
                words.stage(d.stage),
                [(d.p90.total_seconds(), "p90"), (d.median.total_seconds(), "median")],
                words.median_and_p90(
                    format_duration(d.median, language, narrow=True),
                    format_duration(d.p90, language, narrow=True),
                ),
            )
            for d in overview.durations
        ]
    )


def week_labels(mondays: list[date], language: str) -> list[str]:
    """Each week by its Monday, the month named only where it changes ("26 Oct", "2 Nov",
    "9", "16"): twelve day-and-month labels would touch under a 45 rem chart."""
    return [
        format_day_month(monday, language)
        if index == 0 or monday.month != mondays[index - 1].month
        else format_number(monday.day, language)
        for index, monday in enumerate(mondays)
    ]


def _week_charts(overview: Overview, language: str) -> tuple[ColumnChart, ColumnChart]:
    labels = week_labels([week.week for week in overview.weeks], language)
    troubles = columns(
        [
            (label, [(week.breach_total, "breach"), (week.incidents, "incident")])
            for label, week in zip(labels, overview.weeks, strict=True)
        ]
    )
    intake = columns(
        [
            (label, [(week.intake, "intake")])
            for label, week in zip(labels, overview.weeks, strict=True)
        ]
    )
    return troubles, intake


def _outcome_chart(overview: Overview, words: Wording) -> HorizontalChart:
    return horizontal(
        [
            (
                words.outcome(outcome.stage, outcome.reason),
                [(outcome.journeys, outcome.stage.value.lower())],
                format_number(outcome.journeys, words.language),
            )
            for outcome in overview.outcomes
        ]
    )


@router.get("/overview", response_class=HTMLResponse)
async def overview_page(request: Request, viewer: ViewerDep, pool: PoolDep) -> HTMLResponse:
    try:
        overview = await read_overview(
            pool, viewer.principal, now=datetime.now(UTC), time_zone=viewer.time_zone
        )
    except ReadRefused as refused:
        # No row of its own: the request's row in the audit log has the status.
        raise ConsoleRefusal(refused.status, "overview_forbidden", None) from None
    words = Wording(viewer.language)
    troubles, intake = _week_charts(overview, viewer.language)
    weeks = overview.weeks
    return render(
        request,
        "overview.html",
        {
            "overview": overview,
            "stage_chart": _stage_chart(overview, words),
            "duration_chart": _duration_chart(overview, words),
            "trouble_chart": troubles,
            "intake_chart": intake,
            "outcome_chart": _outcome_chart(overview, words),
            "window_days": WINDOW.days,
            "week_count": WEEKS,
            "breach_kinds": list(BreachKind),
            "any_trouble": any(w.breach_total or w.incidents for w in weeks),
            "any_intake": any(w.intake for w in weeks),
        },
        viewer=viewer,
    )
