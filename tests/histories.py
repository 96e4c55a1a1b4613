"""Every run of a journey's history: the parent, and each run of its follow-up child."""

from temporalio.api.enums.v1 import EventType
from temporalio.client import Client, WorkflowHistory

from domain.names import journey_workflow_id


async def journey_histories(client: Client, journey_id: str) -> list[WorkflowHistory]:
    parent = await client.get_workflow_handle(journey_workflow_id(journey_id)).fetch_history()
    histories = [parent]
    for event in parent.events:
        if event.event_type != EventType.EVENT_TYPE_CHILD_WORKFLOW_EXECUTION_STARTED:
            continue
        execution = event.child_workflow_execution_started_event_attributes.workflow_execution
        run_id: str | None = execution.run_id
        while run_id:
            run = await client.get_workflow_handle(
                execution.workflow_id, run_id=run_id
            ).fetch_history()
            histories.append(run)
            last = run.events[-1]
            run_id = (
                last.workflow_execution_continued_as_new_event_attributes.new_execution_run_id
                if last.event_type == EventType.EVENT_TYPE_WORKFLOW_EXECUTION_CONTINUED_AS_NEW
                else None
            )
    return histories
