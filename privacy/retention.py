"""Retention: the daily Temporal Schedule that erases closed journeys once their period is
over, and how long the Temporal server keeps closed histories.

Both are set by `journeys setup` and `journeys dev`, create-or-update: a restart finds the
schedule and brings it to the settings rather than adding a second one.
"""

from datetime import timedelta

from google.protobuf.duration_pb2 import Duration
from temporalio.api.namespace.v1 import NamespaceConfig
from temporalio.api.workflowservice.v1 import DescribeNamespaceRequest, UpdateNamespaceRequest
from temporalio.client import (
    Client,
    Schedule,
    ScheduleActionStartWorkflow,
    ScheduleAlreadyRunningError,
    ScheduleCalendarSpec,
    ScheduleOverlapPolicy,
    SchedulePolicy,
    ScheduleRange,
    ScheduleSpec,
    ScheduleUpdate,
    ScheduleUpdateInput,
)

from domain.privacy import RETENTION_SCHEDULE_ID, RETENTION_WORKFLOW_ID, RetentionSweepInput
from workflows.retention import RetentionSweep

# 03:15 UTC: after midnight everywhere the clinic's patients mostly live, before office hours.
SWEEP_HOUR, SWEEP_MINUTE = 3, 15
# A sweep that outlives a day is overlapped by none: the next one starts after it.
SWEEP_TIMEOUT = timedelta(hours=23)


def retention_schedule(*, task_queue: str, retention_days: int) -> Schedule:
    return Schedule(
        action=ScheduleActionStartWorkflow(
            RetentionSweep.run,
            RetentionSweepInput(retention_days=retention_days),
            id=RETENTION_WORKFLOW_ID,
            task_queue=task_queue,
            execution_timeout=SWEEP_TIMEOUT,
            static_summary=f"Erase journeys closed more than {retention_days} days ago",
        ),
        spec=ScheduleSpec(
            calendars=[
                ScheduleCalendarSpec(
                    hour=[ScheduleRange(SWEEP_HOUR)],
                    minute=[ScheduleRange(SWEEP_MINUTE)],
                    comment="daily retention sweep",
                )
            ]
        ),
        policy=SchedulePolicy(overlap=ScheduleOverlapPolicy.SKIP),
    )


async def ensure_retention_schedule(client: Client, *, task_queue: str, retention_days: int) -> str:
    """Create the retention schedule, or bring the existing one to these settings; "created"
    or "updated"."""
    schedule = retention_schedule(task_queue=task_queue, retention_days=retention_days)
    try:
        await client.create_schedule(RETENTION_SCHEDULE_ID, schedule)
        return "created"
    except ScheduleAlreadyRunningError:
        pass

    def replace(_: ScheduleUpdateInput) -> ScheduleUpdate:
        return ScheduleUpdate(schedule=schedule)

    await client.get_schedule_handle(RETENTION_SCHEDULE_ID).update(replace)
    return "updated"


async def set_history_retention(client: Client, *, days: int) -> None:
    """Keep closed workflow histories `days` days on the server (the namespace's retention);
    the server deletes them after that."""
    await client.workflow_service.update_namespace(
        UpdateNamespaceRequest(
            namespace=client.namespace,
            config=NamespaceConfig(
                workflow_execution_retention_ttl=Duration(seconds=days * 24 * 3600)
            ),
        )
    )


async def history_retention_days(client: Client) -> float:
    answer = await client.workflow_service.describe_namespace(
        DescribeNamespaceRequest(namespace=client.namespace)
    )
    return answer.config.workflow_execution_retention_ttl.seconds / 86400
