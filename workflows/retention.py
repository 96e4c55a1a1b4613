"""Erasure workflows: one journey's erasure, and the daily sweep that erases the closed
journeys whose retention period is over.

They run the erasure in the worker, which holds the calendar client, and retry it while an
outside system is down. Their histories hold ids, counts and codes: the reasons people gave
are in PostgreSQL, read by the activity.
"""

from dataclasses import replace
from datetime import timedelta

from temporalio import workflow
from temporalio.common import VersioningBehavior

with workflow.unsafe.imports_passed_through():
    from activities.privacy import PrivacyActivities
    from domain.privacy import (
        DueErasures,
        ErasureOrder,
        ErasureOutcome,
        ErasureRefusal,
        RetentionSweepInput,
        RetentionSweepResult,
    )

from workflows.timeouts import OUTSIDE_RETRY

# An erasure deletes calendar events and rewrites a journey's rows, then vacuums the tables
# it touched: seconds, or a minute on a large database.
ERASE_TIMEOUT = timedelta(minutes=10)
SWEEP_BATCH_TIMEOUT = timedelta(minutes=30)
SWEEP_HEARTBEAT = timedelta(minutes=2)
# The calendar server or the database may be down for a while, as for any outside system,
# though an erasure retries more often; a refusal is final.
ERASE_RETRY = replace(
    OUTSIDE_RETRY,
    maximum_interval=timedelta(minutes=5),
    non_retryable_error_types=[r.value for r in ErasureRefusal],
)
# One sweep erases at most this many batches; what is left waits for the next day's.
MAX_BATCHES = 20


# Both run minutes, so each runs, activities included, on the one build it started on: an
# erasure is done by one version of the code from end to end, and the build it ran on drains
# within the hour. Changes to them still go behind `workflow.patched`: auditors replay closed
# histories against today's code.
@workflow.defn(name="JourneyErasure", versioning_behavior=VersioningBehavior.PINNED)
class JourneyErasure:
    """Erases one closed journey, as a privacy officer ordered."""

    @workflow.run
    async def run(self, order: ErasureOrder) -> ErasureOutcome:
        return await workflow.execute_activity_method(
            PrivacyActivities.erase_journey,
            order,
            start_to_close_timeout=ERASE_TIMEOUT,
            retry_policy=ERASE_RETRY,
            summary="Erase the journey's personal data",
        )


@workflow.defn(name="RetentionSweep", versioning_behavior=VersioningBehavior.PINNED)
class RetentionSweep:
    """Erases the closed journeys whose retention period is over (legal holds win)."""

    @workflow.run
    async def run(self, sweep: RetentionSweepInput) -> RetentionSweepResult:
        closed_before = workflow.now() - timedelta(days=sweep.retention_days)
        erased: list[str] = []
        for _ in range(MAX_BATCHES):
            batch = await workflow.execute_activity_method(
                PrivacyActivities.erase_due_journeys,
                DueErasures(
                    closed_before=closed_before,
                    retention_days=sweep.retention_days,
                    limit=sweep.batch,
                ),
                start_to_close_timeout=SWEEP_BATCH_TIMEOUT,
                heartbeat_timeout=SWEEP_HEARTBEAT,
                retry_policy=ERASE_RETRY,
                summary=f"Erase journeys closed before {closed_before:%Y-%m-%d}",
            )
            erased += batch.erased
            if not batch.more:
                break
        return RetentionSweepResult(erased=erased)
