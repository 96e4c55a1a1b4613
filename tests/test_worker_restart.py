"""A worker that stops in the middle of a journey: the next one carries on, nothing twice."""

import asyncio
from collections.abc import Callable
from datetime import timedelta

import asyncpg
import pytest
from temporalio import activity
from temporalio.client import WorkflowUpdateStage
from temporalio.testing import WorkflowEnvironment
from temporalio.worker import Worker

from activities.bookings import BookingActivities
from domain.records import CancelBooking
from domain.stages import Stage
from domain.steps import ConsultOutcome, RejectionReason, Withdrawal
from settings import Settings
from tests.journeys import COORDINATOR, SPECIALIST, JourneyDriver
from worker import build_activities, build_worker, smtp_sender
from workflows.journey import PatientJourney
from workflows.registry import WORKFLOWS, workflow_runner


@pytest.fixture
def new_worker(
    temporal_env: WorkflowEnvironment, pool: asyncpg.Pool, settings: Settings
) -> Callable[[], Worker]:
    """The project's worker on the test's task queue, a new one each call.

    No sticky cache: the time-skipping server does not move a task off the sticky queue of a
    stopped worker, and without the cache every task replays from the history."""

    def new() -> Worker:
        return build_worker(
            temporal_env.client,
            settings=settings,
            pool=pool,
            sender=smtp_sender(settings),
            max_cached_workflows=0,
        )

    return new


async def test_a_worker_restart_in_the_middle_loses_nothing(
    driver: JourneyDriver, new_worker: Callable[[], Worker]
) -> None:
    j = driver
    async with new_worker():
        await j.start()
        await j.approve()
        await j.book_first_slot()
        await j.idle()
    async with new_worker():
        await j.sleep(timedelta(days=10))
        await j.handle.execute_update(
            PatientJourney.consult_outcome,
            ConsultOutcome(actor=SPECIALIST, eligible=False, reason=RejectionReason.OUT_OF_SCOPE),
        )
        assert (await j.result()).stage is Stage.NOT_ELIGIBLE
    steps = j.mail_kinds()
    assert len(steps) == len(set(steps)), "no email sent twice"
    assert "consult-reminder-1-1" in steps and "ending-not_eligible" in steps


async def test_compensation_survives_a_worker_crash_in_the_middle(
    driver: JourneyDriver,
    new_worker: Callable[[], Worker],
    temporal_env: WorkflowEnvironment,
    pool: asyncpg.Pool,
    settings: Settings,
) -> None:
    """The first worker dies after cancelling one booking; the next one finishes the saga."""
    cancelled_once = asyncio.Event()

    class DiesAfterOneCancellation(BookingActivities):
        @activity.defn(name="cancel_booking")
        async def cancel_booking(self, request: CancelBooking) -> bool:
            if cancelled_once.is_set():
                await asyncio.Event().wait()  # hangs: the worker is about to die
            result = await super().cancel_booking(request)
            cancelled_once.set()
            return result

    j = driver
    first = Worker(
        temporal_env.client,
        task_queue=settings.task_queue,
        workflows=WORKFLOWS,
        activities=[
            DiesAfterOneCancellation(pool).cancel_booking
            if getattr(a, "__name__", "") == "cancel_booking"
            else a
            for a in build_activities(settings=settings, pool=pool, sender=smtp_sender(settings))
        ],
        workflow_runner=workflow_runner(reimport_workflows=True),
        max_cached_workflows=0,
        graceful_shutdown_timeout=timedelta(seconds=0),
    )
    async with first:
        await j.start()
        await j.book_the_trip()
        await j.handle.start_update(
            PatientJourney.withdraw,
            Withdrawal(actor=COORDINATOR),
            wait_for_stage=WorkflowUpdateStage.ACCEPTED,
        )
        await asyncio.wait_for(cancelled_once.wait(), timeout=15)
    assert [s for s, v in (await j.bookings()).items() if v == "cancelled"] == ["transfer"]
    async with new_worker():
        assert (await j.result()).stage is Stage.WITHDRAWN
    assert await j.bookings() == {
        "consult-1": "active",
        "clinic-visit": "cancelled",
        "hotel": "cancelled",
        "transfer": "cancelled",
    }
    steps = j.mail_kinds()
    assert steps.count("withdrawal") == 1 and steps.count("cancel-transfer") == 1
