"""A worker that stops in the middle of a journey: the next one carries on, nothing twice."""

from datetime import timedelta
from pathlib import Path

import asyncpg
from temporalio.testing import WorkflowEnvironment

from domain.stages import Stage
from domain.steps import ConsultOutcome, RejectionReason
from settings import Settings
from tests.journeys import SPECIALIST, JourneyDriver, seed_staff
from worker import build_worker, smtp_sender
from workflows.journey import PatientJourney


async def test_a_worker_restart_in_the_middle_loses_nothing(
    temporal_env: WorkflowEnvironment, pool: asyncpg.Pool, settings: Settings, mail_dir: Path
) -> None:
    await seed_staff(pool)

    def worker():  # type: ignore[no-untyped-def]
        # No sticky cache: the time-skipping server does not move a task off the sticky queue
        # of a stopped worker, and without the cache every task replays from the history.
        return build_worker(
            temporal_env.client,
            settings=settings,
            pool=pool,
            sender=smtp_sender(settings),
            max_cached_workflows=0,
        )

    j = JourneyDriver(temporal_env, pool, settings.task_queue, mail_dir)
    async with worker():
        await j.start()
        await j.approve()
        await j.book_first_slot()
        await j.idle()
    async with worker():
        await j.sleep(timedelta(days=10))
        await j.handle.execute_update(
            PatientJourney.consult_outcome,
            ConsultOutcome(actor=SPECIALIST, eligible=False, reason=RejectionReason.OUT_OF_SCOPE),
        )
        assert (await j.result()).stage is Stage.NOT_ELIGIBLE
    steps = j.mail_kinds()
    assert len(steps) == len(set(steps)), "no email sent twice"
    assert "consult-reminder-1-1" in steps and "ending-not_eligible" in steps
