"""Replay recorded histories against today's workflow code and say where each one diverges.

An auditor (or CI) needs more than "replay failed": which run, which history event the current
code disagreed with, and which command it produced instead. The SDK's `Replayer` finds the
divergence; its Core engine names it in the message text, which `explain` parses.

Histories come from the server (a visibility query), from our corpus files
(`{"workflow_id", "history"}`), or from the bare `{"events": [...]}` JSON that
`temporal workflow show --output json` and the Temporal UI's download write.
"""

import dataclasses
import json
import re
from collections.abc import AsyncIterable, AsyncIterator, Callable, Iterable, Sequence
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from google.protobuf import json_format
from pydantic import BaseModel
from temporalio.api.enums.v1 import EventType
from temporalio.api.history.v1 import HistoryEvent
from temporalio.client import Client, WorkflowHistory
from temporalio.converter import DataConverter
from temporalio.runtime import Runtime, TelemetryConfig
from temporalio.worker import Replayer, WorkflowRunner

from integrations.data_converter import build_data_converter, decode_history
from integrations.payload_codec import PayloadDecodeError
from settings import get_settings
from workflows.registry import WORKFLOWS, workflow_runner

CLOSED_WITHIN = timedelta(days=30)


class HistoryFileError(ValueError):
    """A file that holds no history this module can read."""


class ReplayResult(BaseModel):
    """The outcome of replaying one run; on failure, where the code and the history part."""

    workflow_id: str
    run_id: str
    workflow_type: str = ""
    ok: bool
    error: str | None = None
    error_type: str | None = None
    event_id: int | None = None
    event_type: str | None = None
    event_detail: str | None = None
    command: str | None = None
    raw_error: str | None = None


class ReplayReport(BaseModel):
    results: list[ReplayResult]

    @property
    def passed(self) -> int:
        return sum(r.ok for r in self.results)

    @property
    def failed(self) -> int:
        return len(self.results) - self.passed

    def summary(self) -> str:
        n = len(self.results)
        return (
            f"replayed {n} {'history' if n == 1 else 'histories'}: "
            f"{self.passed} passed, {self.failed} failed"
        )


def default_query(now: datetime | None = None) -> str:
    """Every workflow (journeys and their follow-up runs) closed in the last 30 days."""
    since = (now or datetime.now(UTC)) - CLOSED_WITHIN
    return f"ExecutionStatus != 'Running' AND CloseTime > '{since:%Y-%m-%dT%H:%M:%SZ}'"


async def histories_from_server(client: Client, query: str) -> AsyncIterator[WorkflowHistory]:
    """The history of every run the visibility query selects, fetched one at a time."""
    async for history in client.list_workflows(query).map_histories():
        yield history


def history_files(path: Path) -> list[Path]:
    """The JSON files under a folder (recursively, sorted), or the one file given."""
    if path.is_dir():
        files = sorted(p for p in path.rglob("*.json") if p.is_file())
        if not files:
            # An empty corpus passing would hide a wrong path in CI.
            raise HistoryFileError(f"{path}: no .json files in this folder")
        return files
    if path.is_file():
        return [path]
    raise HistoryFileError(f"{path}: no such file or folder")


def load_history_file(path: Path) -> list[WorkflowHistory]:
    """Read one file: our corpus format, or the Temporal CLI's and UI's bare history JSON."""
    try:
        data: Any = json.loads(path.read_text())
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as err:
        raise HistoryFileError(f"{path}: {err}") from None
    if isinstance(data, dict) and "history" in data and "workflow_id" in data:
        workflow_id, body = str(data["workflow_id"]), data["history"]
    elif isinstance(data, dict) and isinstance(data.get("events"), list):
        workflow_id, body = "", data
    elif isinstance(data, list):
        # Some UI versions download the event list itself rather than {"events": [...]}.
        workflow_id, body = "", {"events": data}
    else:
        raise HistoryFileError(f"{path}: neither {{workflow_id, history}} nor {{events: [...]}}")
    try:
        history = WorkflowHistory.from_json(workflow_id, body)
    except (json_format.ParseError, ValueError, TypeError, KeyError) as err:
        raise HistoryFileError(f"{path}: not a Temporal history ({err})") from None
    # The replayer needs a whole run: a history cut at the front cannot be replayed.
    if not history.events or not history.events[0].HasField(
        "workflow_execution_started_event_attributes"
    ):
        raise HistoryFileError(f"{path}: the history does not begin with the workflow's start")
    if not workflow_id:
        workflow_id = _started_workflow_id(history) or _id_from_name(path)
        history = WorkflowHistory(workflow_id, history.events)
    return [history]


def _started_workflow_id(history: WorkflowHistory) -> str:
    # Newer servers record the workflow id in the start event; older ones and the test server
    # leave it empty.
    return history.events[0].workflow_execution_started_event_attributes.workflow_id


def _id_from_name(path: Path) -> str:
    # Our own exports are named `<workflow_id>.<run_id>.json`; other names are kept whole.
    stem = path.name.removesuffix(".json")
    head, _, tail = stem.rpartition(".")
    return head if head and re.fullmatch(r"[0-9a-f-]{36}", tail) else stem


async def replay_histories(
    histories: Iterable[WorkflowHistory] | AsyncIterable[WorkflowHistory],
    *,
    workflows: Sequence[type] | None = None,
    runner: WorkflowRunner | None = None,
    data_converter: DataConverter | None = None,
    on_progress: Callable[[ReplayResult], None] | None = None,
) -> ReplayReport:
    """Replay every history against `workflows` (default: the project's), one result each,
    in `runner` (default: the project's sandbox, as the worker runs them).

    Payloads are decoded by `data_converter`, by default the project's for the current
    settings: unencrypted histories (the committed corpus) and histories encrypted under any
    key in `JOURNEYS_PAYLOAD_KEYS` replay alike. Each history is decoded before it is
    replayed, so that a payload under a key not held fails its run with the key named: inside
    the replayer the error would reach the report as the workflow task's failure, whose
    message the failure converter has replaced with "Encoded failure".

    `workflow_replay_iterator` is what `replay_workflows(raise_on_replay_failure=False)` runs
    on; used directly it hands back each result as it is found (for a progress bar) and
    keeps two histories of the same run apart.
    """
    # A replay accepts nothing into a journey, so it reads unencrypted histories (the committed
    # corpus) in production too, where the worker refuses such payloads.
    converter = data_converter or build_data_converter(get_settings(), refuse_unencrypted=False)
    replayer = Replayer(
        workflows=list(workflows or WORKFLOWS),
        # The histories arrive decoded, and what the replayed code encodes is thrown away:
        # no codec, so that a shell without keys (production by default) still replays the
        # unencrypted corpus instead of refusing to encode.
        data_converter=dataclasses.replace(converter, payload_codec=None),
        workflow_runner=runner or workflow_runner(),
        # Core would also log every divergence as a warning; the report already says it.
        runtime=Runtime(telemetry=TelemetryConfig(logging=None)),
    )
    results: list[ReplayResult] = []

    def found(result: ReplayResult) -> None:
        results.append(result)
        if on_progress is not None:
            on_progress(result)

    async def decoded() -> AsyncIterator[WorkflowHistory]:
        async for history in _aiter(histories):
            try:
                yield await decode_history(history, converter)
            except PayloadDecodeError as err:
                found(
                    ReplayResult(
                        workflow_id=history.workflow_id,
                        run_id=_run_id(history),
                        workflow_type=_workflow_type(history),
                        ok=False,
                        error=str(err),
                        error_type=type(err).__name__,
                    )
                )

    async with replayer.workflow_replay_iterator(decoded()) as replayed:
        async for outcome in replayed:
            found(explain(outcome.history, outcome.replay_failure))
    return ReplayReport(results=results)


async def _aiter(
    histories: Iterable[WorkflowHistory] | AsyncIterable[WorkflowHistory],
) -> AsyncIterator[WorkflowHistory]:
    if isinstance(histories, AsyncIterable):
        async for history in histories:
            yield history
    else:
        for history in histories:
            yield history


# Core wraps its sentence in a Rust debug dump: `Failure { message: "<sentence>", ... }`.
_CORE_SENTENCE = re.compile(r'message: "((?:[^"\\]|\\.)*)"')
_EVENT = re.compile(r"HistoryEvent\(id: (\d+), (\w+)\)")
_MACHINE = re.compile(r"(?:error: )?([A-Z][A-Za-z ]*?) machine does not handle this event")
_MISMATCH = re.compile(
    r"(?P<what>[A-Z][a-z ]+?) of scheduled event '(?P<event>[^']*)' does not match "
    r"[a-z ]+? of (?P<kind>[a-z ]*?)command '(?P<command>[^']*)'"
)
_OUT_OF_ORDER = re.compile(r"Last processed event: (\d+), event id: (\d+)")
# Core names the state machine that met the event; each stands for the command it issues.
_MACHINE_COMMANDS = {
    "Activity": "ScheduleActivityTask",
    "Local activity": "RecordMarker (local activity)",
    "Timer": "StartTimer",
    "Child workflow": "StartChildWorkflowExecution",
    "Complete workflow": "CompleteWorkflowExecution",
    "Fail workflow": "FailWorkflowExecution",
    "Cancel workflow": "CancelWorkflowExecution",
    "Continue as new workflow": "ContinueAsNewWorkflowExecution",
    "Upsert search attributes": "UpsertWorkflowSearchAttributes",
    "Modify workflow properties": "ModifyWorkflowProperties",
    "Signal external workflow": "SignalExternalWorkflowExecution",
    "Cancel external workflow": "RequestCancelExternalWorkflowExecution",
    "Patch": "RecordMarker (patch)",
}


def explain(history: WorkflowHistory, failure: Exception | None) -> ReplayResult:
    """One result: ok, or the failure with the event and command Core's message names."""
    result = ReplayResult(
        workflow_id=history.workflow_id,
        run_id=_run_id(history),
        workflow_type=_workflow_type(history),
        ok=failure is None,
    )
    if failure is None:
        return result
    raw = str(failure)
    found = _CORE_SENTENCE.search(raw)
    sentence = found.group(1).replace('\\"', '"') if found else raw
    result.raw_error, result.error, result.error_type = raw, sentence, type(failure).__name__
    if event := _EVENT.search(sentence):
        result.event_id, result.event_type = int(event.group(1)), event.group(2)
    elif order := _OUT_OF_ORDER.search(sentence):
        result.event_id = int(order.group(2))
    if machine := _MACHINE.search(sentence):
        name = machine.group(1)
        result.command = _MACHINE_COMMANDS.get(name, f"{name} command")
    elif "No command scheduled for event" in sentence:
        result.command = "none: the code issued no command where the history has this event"
    elif mismatch := _MISMATCH.search(sentence):
        _locate_mismatch(history, result, mismatch)
    event_found = next((e for e in history.events if e.event_id == result.event_id), None)
    if event_found is not None:
        result.event_type = result.event_type or _type_name(event_found)
        result.event_detail = result.event_detail or _describe(event_found)
    return result


def _locate_mismatch(history: WorkflowHistory, result: ReplayResult, m: re.Match[str]) -> None:
    """Name the history event a "<what> of scheduled event 'x' does not match" refers to.

    The sentence gives the event's activity (or child workflow) type or id, not its event
    id; the event id is given only when exactly one event fits, so a guess is never reported.
    """
    what, value = m.group("what").lower(), m.group("event")
    by_type = "type" in what
    if what.startswith("activity"):
        event_type, command = "ActivityTaskScheduled", "ScheduleActivityTask"
    elif what.startswith("child"):
        event_type, command = "StartChildWorkflowExecutionInitiated", "StartChildWorkflowExecution"
    else:
        event_type, command = None, f"{m.group('kind')}command".strip()
    result.event_type, result.event_detail = event_type, f"{what} {value!r}"
    result.command = f"{command} {m.group('command')!r}"
    fits = [e for e in history.events if _names(e, by_type) == (event_type, value)]
    if event_type and len(fits) == 1:
        result.event_id = fits[0].event_id


def _names(e: HistoryEvent, by_type: bool) -> tuple[str, str] | None:
    if e.event_type == EventType.EVENT_TYPE_ACTIVITY_TASK_SCHEDULED:
        a = e.activity_task_scheduled_event_attributes
        return "ActivityTaskScheduled", a.activity_type.name if by_type else a.activity_id
    if e.event_type == EventType.EVENT_TYPE_START_CHILD_WORKFLOW_EXECUTION_INITIATED:
        c = e.start_child_workflow_execution_initiated_event_attributes
        return "StartChildWorkflowExecutionInitiated", (
            c.workflow_type.name if by_type else c.workflow_id
        )
    return None


def _type_name(e: HistoryEvent) -> str:
    name = EventType.Name(e.event_type).removeprefix("EVENT_TYPE_")
    return "".join(part.capitalize() for part in name.split("_"))


def _describe(e: HistoryEvent) -> str | None:
    """What the history recorded at the diverging event, in the words of the code."""
    if e.HasField("activity_task_scheduled_event_attributes"):
        return f"activity {e.activity_task_scheduled_event_attributes.activity_type.name!r}"
    if e.HasField("timer_started_event_attributes"):
        return f"timer {e.timer_started_event_attributes.timer_id}"
    if e.HasField("start_child_workflow_execution_initiated_event_attributes"):
        child = e.start_child_workflow_execution_initiated_event_attributes
        return f"child workflow {child.workflow_type.name!r}"
    if e.HasField("marker_recorded_event_attributes"):
        return f"marker {e.marker_recorded_event_attributes.marker_name!r}"
    if e.HasField("workflow_execution_update_accepted_event_attributes"):
        update = e.workflow_execution_update_accepted_event_attributes.accepted_request
        return f"update {update.input.name!r}"
    return None


def _run_id(history: WorkflowHistory) -> str:
    try:
        return history.run_id
    except RuntimeError:
        return ""


def _workflow_type(history: WorkflowHistory) -> str:
    if history.events and history.events[0].HasField("workflow_execution_started_event_attributes"):
        return history.events[0].workflow_execution_started_event_attributes.workflow_type.name
    return ""
