"""The console section's journeys: written straight into PostgreSQL as the workflows'
projection would leave them, and started as workflows carrying the same search attributes."""

import asyncio
import time
import uuid
from datetime import UTC, date, datetime, timedelta
from typing import Any

import asyncpg
from temporalio.client import Client
from temporalio.common import SearchAttributePair, TypedSearchAttributes

from bench.measure import bounded
from domain.names import (
    CASE_MANAGER,
    INCIDENT,
    JOURNEY_STAGE,
    NEXT_DEADLINE,
    PATIENT_COUNTRY,
    WAITING_ON,
    journey_workflow_id,
)

# Nothing polls this queue: the workflows only carry their search attributes.
VISIBILITY_QUEUE = "bench-console-visibility"
VISIBILITY_WORKFLOW = "BenchWorklistJourney"

# Where a seeded journey is, by its number: a tenth wait on the reviewer, every third wait
# with a deadline is past it, one in fifty is held by an incident.
WAITS = [
    ("VALIDATION", "reviewer"),
    ("VALIDATION", "patient"),
    ("TELECONSULT", "patient"),
    ("TELECONSULT", "specialist"),
    ("PLAN", "patient"),
    ("TRAVEL", "patient"),
    ("TRAVEL", "clinic"),
    ("TREATMENT", "clinic"),
    ("FOLLOW_UP", "patient"),
    ("COMPLETED", "none"),
]
COUNTRIES = ["ES", "MX", "AR", "CO", "GB", "US"]
CASE_MANAGERS = ["demo-cm-es", "demo-cm-en"]


def question(now: datetime) -> str:
    """The worklist's question as a visibility query: waiting on a reviewer, past deadline."""
    return f"WaitingOn='reviewer' AND NextDeadline < '{now.strftime('%Y-%m-%dT%H:%M:%SZ')}'"


def journey_row(i: int, now: datetime) -> dict[str, Any]:
    stage, waiting_on = WAITS[i % len(WAITS)]
    deadline = None
    if waiting_on != "none":
        deadline = now + (-1 if i % 3 == 0 else 1) * timedelta(hours=1 + i % 240)
    incident = "clinic_unavailable" if i % 50 == 7 and waiting_on != "none" else None
    return {
        "journey_id": uuid.uuid4(),
        "patient_id": uuid.uuid4(),
        "stage": stage,
        "waiting_on": "coordinator" if incident else waiting_on,
        "deadline": None if incident else deadline,
        "case_manager": CASE_MANAGERS[i % 2] if stage != "VALIDATION" else None,
        "specialist": "demo-specialist" if stage not in ("VALIDATION", "COMPLETED") else None,
        "country": COUNTRIES[i % len(COUNTRIES)],
        "incident": incident,
        "created_at": now - timedelta(minutes=i),
    }


async def seed_postgres(pool: asyncpg.Pool, rows: list[dict[str, Any]]) -> None:
    """The journeys, their patients and inquiries, in three COPYs; then the tables as
    autovacuum would soon leave them (statistics, visibility map), so the figures are those of
    a database in service rather than of one just loaded."""
    async with pool.acquire() as conn:
        await _copy(conn, rows)
        await conn.execute("VACUUM ANALYZE patients, journeys, inquiries")


async def _copy(conn: asyncpg.Connection, rows: list[dict[str, Any]]) -> None:
    async with conn.transaction():
        await conn.copy_records_to_table(
            "patients",
            columns=["patient_id", "full_name", "email", "phone", "country", "preferred_language"],
            records=[
                (
                    r["patient_id"],
                    f"Bench Patient {n}",
                    "p@example.org",
                    "+34600000000",
                    r["country"],
                    "en",
                )
                for n, r in enumerate(rows)
            ],
        )
        await conn.copy_records_to_table(
            "journeys",
            columns=[
                "journey_id",
                "patient_id",
                "stage",
                "waiting_on",
                "next_deadline",
                "case_manager_id",
                "specialist_id",
                "incident",
                "created_at",
            ],
            records=[
                (
                    r["journey_id"],
                    r["patient_id"],
                    r["stage"],
                    r["waiting_on"],
                    r["deadline"],
                    r["case_manager"],
                    r["specialist"],
                    r["incident"],
                    r["created_at"],
                )
                for r in rows
            ],
        )
        await conn.copy_records_to_table(
            "inquiries",
            columns=[
                "inquiry_id",
                "journey_id",
                "patient_id",
                "injury_level",
                "injury_completeness",
                "injury_date",
                "injury_cause",
            ],
            records=[
                (
                    uuid.uuid4(),
                    r["journey_id"],
                    r["patient_id"],
                    "T4",
                    "incomplete",
                    date(2023, 5, 1),
                    "fall",
                )
                for r in rows
            ],
        )


async def start_workflows(client: Client, rows: list[dict[str, Any]]) -> None:
    """One workflow per journey, with the search attributes its projection says."""

    async def start(i: int) -> None:
        r = rows[i]
        pairs: list[SearchAttributePair[Any]] = [
            SearchAttributePair(JOURNEY_STAGE, r["stage"]),
            SearchAttributePair(WAITING_ON, r["waiting_on"]),
            SearchAttributePair(PATIENT_COUNTRY, r["country"]),
            SearchAttributePair(INCIDENT, r["incident"] or ""),
        ]
        if r["deadline"] is not None:
            pairs.append(SearchAttributePair(NEXT_DEADLINE, r["deadline"]))
        if r["case_manager"] is not None:
            pairs.append(SearchAttributePair(CASE_MANAGER, r["case_manager"]))
        await client.start_workflow(
            VISIBILITY_WORKFLOW,
            id=journey_workflow_id(str(r["journey_id"])),
            task_queue=VISIBILITY_QUEUE,
            search_attributes=TypedSearchAttributes(pairs),
        )

    await bounded(len(rows), 32, start)


async def same_answer(pool: asyncpg.Pool, client: Client) -> tuple[int, int]:
    """The question's answer from PostgreSQL and from visibility, once they agree (visibility
    is written as the workflows start; give it a moment)."""
    deadline = time.monotonic() + 60
    while True:
        now = datetime.now(UTC)
        postgres = int(
            await pool.fetchval(
                """SELECT count(*) FROM journeys
                    WHERE waiting_on = 'reviewer' AND next_deadline < $1""",
                now,
            )
        )
        visible = int((await client.count_workflows(question(now))).count)
        if postgres == visible or time.monotonic() > deadline:
            return postgres, visible
        await asyncio.sleep(0.5)
