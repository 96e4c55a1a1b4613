"""Retention: the daily sweep erases closed journeys once their period is over, never one
under a legal hold, and a second run erases nothing more; `journeys setup` creates the
schedule once and brings it up to date after, and sets the server's history retention."""

import asyncio
import os
import uuid
from datetime import timedelta
from pathlib import Path

import asyncpg
import pytest
from temporalio.client import ScheduleActionStartWorkflow
from temporalio.testing import WorkflowEnvironment

from db.legal_holds import LegalHoldRepository
from domain.actors import Role
from domain.privacy import (
    RETENTION_SCHEDULE_ID,
    RetentionSweepInput,
    RetentionSweepResult,
)
from domain.stages import Stage
from domain.steps import Withdrawal
from privacy.retention import history_retention_days
from settings import Settings
from tests.helpers import journeys_command
from tests.journeys import JourneyDriver, seed_staff
from workflows.journey import PatientJourney
from workflows.retention import RetentionSweep


async def _closed_journey(
    temporal_env: WorkflowEnvironment, pool: asyncpg.Pool, settings: Settings, mail_dir: Path
) -> JourneyDriver:
    j = JourneyDriver(temporal_env, pool, settings.task_queue, mail_dir)
    await j.start()
    await j.reach(Stage.VALIDATION)
    await j.handle.execute_update(PatientJourney.withdraw, Withdrawal(actor=j.patient))
    assert (await j.result()).stage is Stage.WITHDRAWN
    return j


async def _sweep(temporal_env: WorkflowEnvironment, settings: Settings) -> list[str]:
    result: RetentionSweepResult = await temporal_env.client.execute_workflow(
        RetentionSweep.run,
        RetentionSweepInput(retention_days=30),
        id=f"sweep-{uuid.uuid4().hex[:8]}",
        task_queue=settings.task_queue,
    )
    return result.erased


@pytest.mark.usefixtures("worker")
async def test_the_sweep_erases_what_is_due_once_and_legal_holds_win(
    temporal_env: WorkflowEnvironment, pool: asyncpg.Pool, settings: Settings, mail_dir: Path
) -> None:
    await seed_staff(pool)
    due = await _closed_journey(temporal_env, pool, settings, mail_dir)
    held = await _closed_journey(temporal_env, pool, settings, mail_dir)
    running = JourneyDriver(temporal_env, pool, settings.task_queue, mail_dir)
    await running.start()
    await running.reach(Stage.VALIDATION)
    async with pool.acquire() as conn:
        await LegalHoldRepository(conn).place(
            journey_id=held.journey_id, reason="pending claim", placed_by="privacy-1"
        )

    assert await _sweep(temporal_env, settings) == [], "closed today: kept"
    await temporal_env.sleep(timedelta(days=31))
    assert await _sweep(temporal_env, settings) == [due.journey_id]
    assert await _sweep(temporal_env, settings) == [], "a second run erases nothing more"

    tombstone = await pool.fetchrow("SELECT * FROM erasures WHERE journey_id = $1", due.journey_id)
    assert tombstone["trigger"] == "retention" and tombstone["erased_by"] == "retention-schedule"
    assert tombstone["reason"] == "retention period of 30 days after the journey closed"
    assert (
        await pool.fetchval(
            """SELECT full_name FROM patients p JOIN journeys j USING (patient_id)
                WHERE journey_id = $1""",
            due.journey_id,
        )
        == ""
    )
    audited = await pool.fetch(
        "SELECT actor_id, actor_role, journey_id FROM audit_log WHERE action = 'privacy.erase'"
    )
    assert [(r["actor_id"], r["actor_role"], str(r["journey_id"])) for r in audited] == [
        ("retention-schedule", Role.SYSTEM.value, due.journey_id)
    ]
    assert (await running.status()).stage is Stage.VALIDATION, "a running journey is never due"

    async with pool.acquire() as conn:
        await LegalHoldRepository(conn).lift(
            journey_id=held.journey_id, lifted_by="privacy-1", reason="claim settled"
        )
    assert await _sweep(temporal_env, settings) == [held.journey_id]


async def test_setup_creates_the_schedule_once_and_sets_the_history_retention(
    dev_env: WorkflowEnvironment, database_url: str
) -> None:
    client = dev_env.client
    env = os.environ | {
        "JOURNEYS_DATABASE_URL": database_url,
        "JOURNEYS_TEMPORAL_ADDRESS": client.service_client.config.target_host,
        "JOURNEYS_TASK_QUEUE": "retention-test",
        "JOURNEYS_RETENTION_DAYS": "2000",
        "JOURNEYS_TEMPORAL_RETENTION_DAYS": "45",
    }
    first = await asyncio.to_thread(journeys_command, "setup", env=env)
    assert first.returncode == 0, first.stderr
    assert "retention schedule created" in first.stdout
    second = await asyncio.to_thread(
        journeys_command, "setup", env=env | {"JOURNEYS_RETENTION_DAYS": "2500"}
    )
    assert second.returncode == 0, second.stderr
    assert "retention schedule updated" in second.stdout

    listed = [s.id async for s in await client.list_schedules()]
    assert listed.count(RETENTION_SCHEDULE_ID) == 1
    described = await client.get_schedule_handle(RETENTION_SCHEDULE_ID).describe()
    action = described.schedule.action
    assert isinstance(action, ScheduleActionStartWorkflow)
    assert action.workflow == "RetentionSweep" and action.task_queue == "retention-test"
    [sweep] = await client.data_converter.decode(action.args, [RetentionSweepInput])
    assert sweep.retention_days == 2500, "the second run brought the schedule up to date"
    [calendar] = described.schedule.spec.calendars
    assert [r.start for r in calendar.hour] == [3], "daily, at night"
    assert await history_retention_days(client) == 45
