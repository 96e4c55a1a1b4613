"""Section 7 of RESULTS.md: the console's reads beside the visibility query."""

from bench.console_reads import (
    API_LIST,
    CASE_API,
    CASE_PAGE,
    CASE_TEMPORAL,
    LABELS,
    VISIBILITY_BOTH,
    VISIBILITY_COUNT,
    VISIBILITY_LIST,
    WORKLIST,
    WORKLIST_DEFAULT,
    ConsoleReadsResult,
    Reads,
    SizeReads,
)
from bench.markdown import figure, met, ratio, table
from bench.measure import median, p95

TITLE = "## 7. Console reads"
SIZE_ORDER = [
    WORKLIST,
    WORKLIST_DEFAULT,
    API_LIST,
    VISIBILITY_LIST,
    VISIBILITY_COUNT,
    VISIBILITY_BOTH,
]
CASE_ORDER = [CASE_PAGE, CASE_API, CASE_TEMPORAL]


def _ms(reads: Reads, statistic: str) -> str:
    values = reads.seconds
    value = median(values) if statistic == "median" else p95(values)
    return figure(value * 1000)


def _worklist_ratio(size: SizeReads) -> float:
    """The worklist page's median against the visibility query's first page and count."""
    return ratio(median(size.reads[WORKLIST].seconds), median(size.reads[VISIBILITY_BOTH].seconds))


def console_glance(result: ConsoleReadsResult) -> list[list[str]]:
    """The targets at a glance: the worklist page at least as fast as the visibility query."""
    return [
        [
            f"console worklist page vs visibility query, {size.journeys:,} journeys",
            figure(_worklist_ratio(size)),
            "≤ 1",
            met(_worklist_ratio(size) <= 1),
        ]
        for size in result.sizes
    ]


def console_section(result: ConsoleReadsResult | None) -> list[str]:
    if result is None:
        return [TITLE, "", "Not measured in this run.", ""]
    out = [
        TITLE,
        "",
        "The worklist's question, journeys waiting on a reviewer past their deadline, asked of "
        "the console and the JSON API (served from PostgreSQL) and of Temporal's visibility "
        "store (`WaitingOn='reviewer' AND NextDeadline < now`), on a dev server of this "
        "section's own holding the same journeys as workflows. The journeys are written "
        "straight into PostgreSQL for the size (ten kinds of wait in turn; a tenth on the "
        "reviewer, a third of those with a deadline past it) and as many workflows started with "
        "the same search attributes set at start (no worker runs them: visibility holds the "
        "rows a journey's upserts would leave); then the size grows to the next. "
        f"{result.case_journeys} real journeys, started through the API and waiting on the "
        "reviewer, are among them. The console's pages are signed in as the demo reviewer and "
        "include everything a page does: the session, the audit row, the counts per stage and "
        "the filters' choices, the HTML. One request at a time, the kinds in turn, "
        f"{result.requests} of each after three not counted; milliseconds.",
        "",
    ]
    head = ["read"]
    for size in result.sizes:
        head += [f"{size.journeys:,}: median", f"{size.journeys:,}: p95"]
    rows = [
        [
            "journeys in PostgreSQL / workflows on the server",
            *[c for s in result.sizes for c in (f"{s.journeys:,} / {s.workflows:,}", "")],
        ],
        [
            "the question's answer: PostgreSQL / visibility",
            *[
                c
                for s in result.sizes
                for c in (f"{s.answer_postgres:,} / {s.answer_visibility:,}", "")
            ],
        ],
    ]
    for key in SIZE_ORDER:
        rows.append(
            [
                LABELS[key],
                *[
                    c
                    for s in result.sizes
                    for c in (_ms(s.reads[key], "median"), _ms(s.reads[key], "p95"))
                ],
            ]
        )
    rows.append(
        [
            "worklist page ÷ visibility first page and count (median; target ≤ 1)",
            *[
                c
                for s in result.sizes
                for c in (figure(_worklist_ratio(s)), met(_worklist_ratio(s) <= 1))
            ],
        ]
    )
    errors = sum(len(r.errors) for s in result.sizes for r in s.reads.values())
    rows.append(["errors", str(errors), *[""] * (len(head) - 2)])
    out += table(head, rows)
    out += [
        f"The case page of the real journeys, in turn ({result.requests} of each, milliseconds):",
        "",
    ]
    case_errors = sum(len(r.errors) for r in result.case_reads.values())
    out += table(
        ["read", "median", "p95"],
        [
            *[
                [
                    LABELS[key],
                    _ms(result.case_reads[key], "median"),
                    _ms(result.case_reads[key], "p95"),
                ]
                for key in CASE_ORDER
            ],
            ["errors", str(case_errors), ""],
        ],
    )
    seeding = ", ".join(
        f"{s.journeys:,}: {figure(s.seed_seconds)} s into PostgreSQL, "
        f"{figure(s.start_seconds)} s of workflow starts"
        for s in result.sizes
    )
    out += [f"Seeding, for each size's new journeys: {seeding}.", ""]
    first_error = next(
        (e for s in result.sizes for r in s.reads.values() for e in r.errors),
        next((e for r in result.case_reads.values() for e in r.errors), None),
    )
    if first_error:
        out += [f"First error: {first_error}", ""]
    return out
