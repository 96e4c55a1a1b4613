"""A coordinator's one query finds exactly the journeys waiting on a reviewer past deadline.

Visibility queries need the real dev server (the time-skipping one has no list API).
"""

import asyncio
from datetime import UTC, datetime, timedelta
from pathlib import Path

import asyncpg
import pytest
from temporalio.api.sdk.v1 import WorkflowMetadata
from temporalio.testing import WorkflowEnvironment

from domain.names import JOURNEY_STAGE, NEXT_DEADLINE, WAITING_ON, journey_workflow_id
from domain.policy import JourneyPolicy
from domain.stages import Stage, WaitingOn
from integrations.temporal_ui import coordinator_queries
from settings import Settings
from tests.helpers import eventually
from tests.journeys import JourneyDriver, seed_staff, worker_on_own_queue

pytestmark = pytest.mark.e2e


async def test_overdue_review_query_lists_exactly_the_overdue_journeys(
    dev_env: WorkflowEnvironment, pool: asyncpg.Pool, settings: Settings, mail_dir: Path
) -> None:
    await seed_staff(pool)
    short = JourneyPolicy(
        review_sla=timedelta(seconds=2), review_escalation_every=timedelta(hours=1)
    )
    async with worker_on_own_queue(dev_env, pool, settings, "vis") as task_queue:
        overdue = await JourneyDriver(dev_env, pool, task_queue, mail_dir, policy=short).start()
        in_time = await JourneyDriver(dev_env, pool, task_queue, mail_dir).start()
        reviewed = await JourneyDriver(dev_env, pool, task_queue, mail_dir, policy=short).start()
        await reviewed.approve()
        await reviewed.reach(Stage.TELECONSULT, WaitingOn.PATIENT)
        for j in (overdue, in_time):
            await j.reach(Stage.VALIDATION, WaitingOn.REVIEWER)
        await asyncio.sleep(2.5)

        async def listed() -> set[str]:
            # The query `journeys dev` prints for coordinators, as of now.
            query = coordinator_queries(datetime.now(UTC))[
                "Waiting on a reviewer past the deadline"
            ]
            return {w.id async for w in dev_env.client.list_workflows(query)}

        ours = {journey_workflow_id(j.journey_id) for j in (overdue, in_time, reviewed)}
        found = await eventually(
            listed,
            until=lambda ids: journey_workflow_id(overdue.journey_id) in ids,
            within=20,
            what="overdue journey listed",
        )
        assert found & ours == {journey_workflow_id(overdue.journey_id)}
        await eventually(
            lambda: asyncio.sleep(0, overdue.mail_kinds()),
            until=lambda m: "review-escalation-1-1" in m,
            what="escalation sent",
        )
        # What a coordinator sees of it in the Temporal UI: the search attributes, the static
        # summary and details set at the start, and the current details the workflow keeps
        # (the UI reads those through the SDK's built-in metadata query, not the description).
        status = await overdue.status()
        assert status.deadline is not None
        described = await overdue.handle.describe()
        attributes = described.typed_search_attributes
        assert attributes.get(JOURNEY_STAGE) == "VALIDATION"
        assert attributes.get(WAITING_ON) == "reviewer"
        assert attributes.get(NEXT_DEADLINE) == status.deadline
        assert await described.static_summary() == f"Patient journey {overdue.journey_id}"
        static_details = await described.static_details()
        assert static_details is not None
        assert static_details.startswith("Stem-cell therapy journey for spinal cord injury")
        metadata = await overdue.handle.query(
            "__temporal_workflow_metadata", result_type=WorkflowMetadata
        )
        assert metadata.current_details == (
            "**VALIDATION**: waiting on a medical reviewer to review the case by "
            f"**{status.deadline:%Y-%m-%d %H:%M} UTC**."
        )
        # Every list `journeys dev` prints is a query the server takes; none of these
        # journeys has an incident or a treatment date.
        for label, query in coordinator_queries(datetime.now(UTC)).items():
            if label != "Waiting on a reviewer past the deadline":
                found = {w.id async for w in dev_env.client.list_workflows(query)}
                assert not found & ours, query
        for j in (overdue, in_time, reviewed):
            await j.handle.terminate("test over")
