"""What a run's history holds: events, payload bytes, the largest payload; the runs of a
journey (parent and every follow-up run); the baseline's ops read from a journey's history."""

import json
import re
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from google.protobuf.descriptor import FieldDescriptor
from google.protobuf.message import Message
from temporalio.api.common.v1 import Payload
from temporalio.api.enums.v1 import EventType
from temporalio.api.history.v1 import HistoryEvent
from temporalio.client import Client, WorkflowHistory

from audit.timeline import continued_runs
from bench.baseline_models import BaselinePlan

# Events the benchmark's time skipping adds; a production history has none of them.
HARNESS_EVENTS = {
    EventType.EVENT_TYPE_WORKFLOW_EXECUTION_OPTIONS_UPDATED,
    EventType.EVENT_TYPE_WORKFLOW_EXECUTION_TIME_SKIPPING_TRANSITIONED,
}


def _repeated(field: FieldDescriptor) -> bool:
    # protobuf 6 has `is_repeated`; older versions only `label`.
    if hasattr(field, "is_repeated"):
        return bool(field.is_repeated)
    return bool(getattr(field, "label", None) == FieldDescriptor.LABEL_REPEATED)


def _payloads(message: Message) -> Iterator[Payload]:
    if isinstance(message, Payload):
        yield message
        return
    for field, value in message.ListFields():
        entry = field.message_type
        if field.type != FieldDescriptor.TYPE_MESSAGE or entry is None:
            continue
        if entry.GetOptions().map_entry:
            value_field = entry.fields_by_name["value"]
            if value_field.type == FieldDescriptor.TYPE_MESSAGE:
                for item in value.values():
                    yield from _payloads(item)
        elif _repeated(field):
            for item in value:
                yield from _payloads(item)
        else:
            yield from _payloads(value)


@dataclass
class RunStats:
    workflow_id: str
    run_id: str
    workflow_type: str
    events: int
    harness_events: int
    history_bytes: int
    payload_bytes: int
    payloads: int
    largest_payload: int
    largest_payload_event: str
    activities: int
    updates: int
    timers: int
    timers_fired: int

    @property
    def own_events(self) -> int:
        """Events without the ones the benchmark's time skipping added."""
        return self.events - self.harness_events


def run_stats(history: WorkflowHistory) -> RunStats:
    counts = {"activities": 0, "updates": 0, "timers": 0, "timers_fired": 0, "harness": 0}
    payload_bytes = payloads = largest = 0
    largest_event = ""
    for event in history.events:
        if event.event_type in HARNESS_EVENTS:
            counts["harness"] += 1
        which = event.WhichOneof("attributes")
        if which == "activity_task_scheduled_event_attributes":
            counts["activities"] += 1
        elif which == "workflow_execution_update_accepted_event_attributes":
            counts["updates"] += 1
        elif which == "timer_started_event_attributes":
            counts["timers"] += 1
        elif which == "timer_fired_event_attributes":
            counts["timers_fired"] += 1
        for payload in _payloads(event):
            size = payload.ByteSize()
            payloads += 1
            payload_bytes += size
            if size > largest:
                largest, largest_event = size, EventType.Name(event.event_type)
    started = history.events[0].workflow_execution_started_event_attributes
    return RunStats(
        workflow_id=history.workflow_id,
        run_id=history.run_id,
        workflow_type=started.workflow_type.name,
        events=len(history.events),
        harness_events=counts["harness"],
        history_bytes=sum(e.ByteSize() for e in history.events),
        payload_bytes=payload_bytes,
        payloads=payloads,
        largest_payload=largest,
        largest_payload_event=largest_event.removeprefix("EVENT_TYPE_"),
        activities=counts["activities"],
        updates=counts["updates"],
        timers=counts["timers"],
        timers_fired=counts["timers_fired"],
    )


async def workflow_runs(client: Client, workflow_id: str) -> list[WorkflowHistory]:
    """The parent's history, then each run of its child, following continue-as-new."""
    parent = await client.get_workflow_handle(workflow_id).fetch_history()
    runs = [parent]
    for event in parent.events:
        if event.HasField("child_workflow_execution_started_event_attributes"):
            execution = event.child_workflow_execution_started_event_attributes.workflow_execution
            runs += await continued_runs(client, execution.workflow_id, execution.run_id)
    return runs


def write_corpus(histories: list[WorkflowHistory], folder: Path) -> list[Path]:
    """Files in the corpus format of `journeys export` (`{"workflow_id", "history"}`)."""
    folder.mkdir(parents=True, exist_ok=True)
    written = []
    for history in histories:
        safe_id = re.sub(r"[^A-Za-z0-9._-]", "_", history.workflow_id)
        path = folder / f"{safe_id}.{history.run_id}.json"
        body = {"workflow_id": history.workflow_id, "history": history.to_json_dict()}
        path.write_text(json.dumps(body))
        written.append(path)
    return written


def _seconds(event: HistoryEvent) -> str:
    timeout = event.timer_started_event_attributes.start_to_fire_timeout
    return f"{timeout.ToTimedelta().total_seconds():g}"


def _waits_beside(history: WorkflowHistory) -> set[int]:
    """The timers an update cancelled while another timer of the run was still running: the
    waits of a task beside the run (each partner's confirmation beside the trip's own dates)."""
    running: set[int] = set()
    beside: set[int] = set()
    for event in history.events:
        if event.HasField("timer_started_event_attributes"):
            running.add(event.event_id)
        elif event.HasField("timer_fired_event_attributes"):
            running.discard(event.timer_fired_event_attributes.started_event_id)
        elif event.HasField("timer_canceled_event_attributes"):
            started = event.timer_canceled_event_attributes.started_event_id
            running.discard(started)
            if running:
                beside.add(started)
    return beside


def ops_of(
    history: WorkflowHistory, *, updates_are_waits: bool, updates_before: int = 0
) -> list[str]:
    """The commands of one run as baseline ops (see `bench.baseline`), in history order.

    In the parent every update answers a wait: a wait whose timer the update cancelled becomes
    `w<secs>`, one that had no timer `w`, and one whose timer ran beside another `b<secs>`. A
    `b` goes first among the commands of its workflow task, which the journey issued together:
    a run that interprets them one by one must start the wait beside before it sleeps on the
    timer issued with it, or it would sleep through the update that ends the wait.

    The child's updates only record, so they are no ops there; a timer of the child that an
    update cut short (a check-in waking the calendar, a booking answering the offer of times)
    becomes `u<secs>:<n>`, a sleep that ends once the year has received its `n`th update
    (`updates_before` came in its earlier runs). Slept in full, the sleep would put the rest
    of the baseline's year days behind the journey's, and each later move of the clock would
    find it elsewhere in its calendar.
    """
    cancelled = {
        e.timer_canceled_event_attributes.started_event_id
        for e in history.events
        if e.HasField("timer_canceled_event_attributes")
    }
    beside = _waits_beside(history) if updates_are_waits else set()
    ops: list[str] = []
    open_waits = 0
    updates = updates_before
    child_waits: dict[int, int] = {}
    # Where the current workflow task's waits beside the run go: before its other commands.
    task_start = 0
    for event in history.events:
        which = event.WhichOneof("attributes")
        if which == "workflow_task_completed_event_attributes":
            task_start = len(ops)
        elif which == "activity_task_scheduled_event_attributes":
            ops.append("a")
        elif which == "timer_started_event_attributes":
            if event.event_id in beside:
                ops.insert(task_start, "b" + _seconds(event))
                task_start += 1
                open_waits += 1
            elif updates_are_waits and event.event_id in cancelled:
                ops.append("w" + _seconds(event))
                open_waits += 1
            elif event.event_id in cancelled:
                child_waits[event.event_id] = len(ops)
                ops.append("u" + _seconds(event))
            else:
                ops.append("t" + _seconds(event))
        elif which == "workflow_execution_update_accepted_event_attributes":
            updates += 1
            if not updates_are_waits:
                continue
            if open_waits:
                open_waits -= 1
            else:
                ops.append("w")
        elif which == "timer_canceled_event_attributes" and not updates_are_waits:
            started = event.timer_canceled_event_attributes.started_event_id
            ops[child_waits[started]] += f":{updates}"
        elif which == "start_child_workflow_execution_initiated_event_attributes":
            ops.append("c")
    return ops


def baseline_plan(runs: list[WorkflowHistory]) -> BaselinePlan:
    """The baseline of one journey: the parent's ops, and the child's runs joined by `n`."""
    parent, *children = runs
    child_ops: list[str] = []
    updates = 0
    for i, run in enumerate(children):
        if i:
            child_ops.append("n")
        child_ops += ops_of(run, updates_are_waits=False, updates_before=updates)
        updates += run_stats(run).updates
    return BaselinePlan(ops=ops_of(parent, updates_are_waits=True), child_ops=child_ops)
