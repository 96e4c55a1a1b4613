"""The sentinel search: whether a value a patient gave reaches anything Temporal keeps.

Every payload is encrypted before Temporal stores it (the suite runs on a fixed test key,
tests/conftest.py), so a search of the bytes the server holds would find no name whatever
the workflows recorded. This search reads each run as someone holding the key reads it:
every payload inside every event (workflow, activity and child inputs and results, update
arguments and results, signals, memos, headers, failures with their details and causes,
search attributes, summaries and details) decoded by the project's data converter, and the
run's description (memo, search attributes, pending activities with their last failure)
decoded the same way, optionally the current details too. It searches the bytes as the
server holds them as well, which is what anyone without the key sees.

It walks the messages itself rather than through `integrations/data_converter.py`, whose
decoding is part of what it checks, and it refuses to report nothing when it could not read:
a payload left encrypted after decoding fails the search.
"""

import json
import re
from collections import Counter
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, field

from google.protobuf.descriptor import FieldDescriptor
from google.protobuf.message import Message
from temporalio.api.common.v1 import Payload, WorkflowExecution
from temporalio.api.enums.v1 import EventType
from temporalio.api.sdk.v1 import WorkflowMetadata
from temporalio.api.workflowservice.v1 import DescribeWorkflowExecutionRequest
from temporalio.client import Client, WorkflowHistory
from temporalio.service import RPCError, RPCStatusCode

from audit.timeline import journey_histories
from domain.privacy import erasure_workflow_id
from integrations.payload_codec import is_encrypted

METADATA_QUERY = "__temporal_workflow_metadata"


@dataclass(frozen=True)
class Finding:
    """One value found in one place: `seen` is "decoded" (read with the key) or "raw" (as the
    server holds it, readable without any key)."""

    value: str
    workflow_id: str
    run_id: str
    where: str
    seen: str


@dataclass
class Search:
    """What a search read and what it found."""

    findings: list[Finding] = field(default_factory=list)
    runs: int = 0
    events: int = 0
    payloads: int = 0
    decrypted: int = 0
    # How many payloads were stored unencrypted, by kind (`clear_kind`).
    clear: Counter[str] = field(default_factory=Counter)
    # Runs without a single encrypted payload: written without the codec, or not read.
    unencrypted_runs: list[str] = field(default_factory=list)

    def values_found(self, seen: str | None = None) -> set[str]:
        return {f.value for f in self.findings if seen is None or f.seen == seen}

    def where(self, value: str, seen: str) -> set[str]:
        return {f.where for f in self.findings if f.value == value and f.seen == seen}


_ESCAPE = re.compile(
    r"\\u([dD][89abAB][0-9a-fA-F]{2})\\u([dD][c-fC-F][0-9a-fA-F]{2})|\\u([0-9a-fA-F]{4})"
)


def _unescaped(text: str) -> str:
    """`text` with JSON's `\\uXXXX` escapes (surrogate pairs too) read as the characters."""

    def char(match: re.Match[str]) -> str:
        high, low, single = match.groups()
        if single is not None:
            return chr(int(single, 16))
        return chr(0x10000 + ((int(high, 16) - 0xD800) << 10) + (int(low, 16) - 0xDC00))

    return _ESCAPE.sub(char, text)


def found_in(haystack: bytes | str, values: Iterable[str]) -> list[str]:
    """The values in `haystack`, as given or as JSON writes them (quotes and backslashes
    escaped, other characters escaped or not), compared without regard to case."""
    text = haystack if isinstance(haystack, str) else haystack.decode("utf-8", "replace")
    texts = {text.casefold(), _unescaped(text).casefold()}
    found = []
    for value in values:
        forms = {value.casefold(), json.dumps(value, ensure_ascii=False)[1:-1].casefold()}
        if any(form in t for form in forms for t in texts):
            found.append(value)
    return found


def payloads_in(message: Message, path: str = "") -> Iterator[tuple[str, Payload]]:
    """Every `Payload` inside `message`, however deep (in fields, lists and map values), with
    the path of fields that leads to it."""
    if isinstance(message, Payload):
        yield path, message
        return
    for descriptor, value in message.ListFields():
        if descriptor.type != FieldDescriptor.TYPE_MESSAGE:
            continue
        inner = f"{path}.{descriptor.name}"
        entry = descriptor.message_type
        if entry is not None and entry.GetOptions().map_entry:
            if entry.fields_by_name["value"].type == FieldDescriptor.TYPE_MESSAGE:
                for key, item in value.items():
                    yield from payloads_in(item, f"{inner}[{key}]")
        elif descriptor.is_repeated:
            for item in value:
                yield from payloads_in(item, f"{inner}[]")
        else:
            yield from payloads_in(value, inner)


# What Temporal and the SDK store without handing it to a codec: search attributes (the UI
# lists and filters by them without a key), the SDK's patch markers, and headers (the
# tracing context), which the project's clients do not encode.
NEVER_ENCODED = {
    ".search_attributes.": "search attribute",
    ".marker_recorded_event_attributes.details[patch-data]": "patch marker",
    ".header.": "header",
}


def clear_kind(path: str) -> str:
    """What an unencrypted payload at `path` is: one of NEVER_ENCODED's kinds, or the path."""
    return next((kind for part, kind in NEVER_ENCODED.items() if part in path), path)


async def decoded_copy(message: Message, client: Client, search: Search) -> Message:
    """A copy of `message` with every payload in it decoded by the client's codec."""
    copy = type(message)()
    copy.CopyFrom(message)
    codec = client.data_converter.payload_codec
    assert codec is not None, "the client has no payload codec: nothing would be decoded"
    stored = list(payloads_in(copy))
    if not stored:
        return copy
    decoded = await codec.decode([payload for _, payload in stored])
    for (path, payload), plain in zip(stored, decoded, strict=True):
        search.payloads += 1
        if is_encrypted(payload):
            search.decrypted += 1
        else:
            search.clear[clear_kind(path)] += 1
        payload.CopyFrom(plain)
        # A payload still encrypted was not read: reporting nothing in it would be a lie.
        assert not is_encrypted(payload), "a payload stayed encrypted after decoding"
    return copy


class _Searcher:
    def __init__(self, client: Client, values: Sequence[str], search: Search) -> None:
        self.client, self.values, self.search = client, values, search

    async def message(self, message: Message, workflow_id: str, run_id: str, where: str) -> None:
        for value in found_in(message.SerializeToString(), self.values):
            self._found(value, workflow_id, run_id, where, "raw")
        decoded = await decoded_copy(message, self.client, self.search)
        for value in found_in(decoded.SerializeToString(), self.values):
            self._found(value, workflow_id, run_id, where, "decoded")

    def text(self, text: str, workflow_id: str, run_id: str, where: str) -> None:
        for value in found_in(text, self.values):
            self._found(value, workflow_id, run_id, where, "decoded")

    def _found(self, value: str, workflow_id: str, run_id: str, where: str, seen: str) -> None:
        self.search.findings.append(Finding(value, workflow_id, run_id, where, seen))


async def search_runs(
    client: Client,
    histories: Sequence[WorkflowHistory],
    values: Sequence[str],
    *,
    current_details: bool = False,
) -> Search:
    """Every event of every run in `histories` and each run's description, decoded and as
    stored; with `current_details`, also each run's current details as the Temporal UI asks
    for them (a query: a worker must be running the workflow types)."""
    assert values, "no values to search for"
    search = Search()
    searcher = _Searcher(client, values, search)
    for history in histories:
        assert history.events, f"{history.workflow_id} has no events to search"
        search.runs += 1
        workflow_id = history.workflow_id
        run_id = history.run_id
        decrypted = search.decrypted
        for event in history.events:
            search.events += 1
            where = f"event {event.event_id} {EventType.Name(event.event_type)}"
            await searcher.message(event, workflow_id, run_id, where)
        if search.decrypted == decrypted:
            search.unencrypted_runs.append(f"{workflow_id} ({run_id})")
        described = await client.workflow_service.describe_workflow_execution(
            DescribeWorkflowExecutionRequest(
                namespace=client.namespace,
                execution=WorkflowExecution(workflow_id=workflow_id, run_id=run_id),
            )
        )
        await searcher.message(described, workflow_id, run_id, "description")
        if current_details:
            metadata = await client.get_workflow_handle(workflow_id, run_id=run_id).query(
                METADATA_QUERY, result_type=WorkflowMetadata
            )
            searcher.text(
                str(metadata) + metadata.current_details, workflow_id, run_id, "current details"
            )
    return search


async def workflow_runs(client: Client, workflow_id: str) -> list[WorkflowHistory]:
    """Every run of `workflow_id`, its first first, following continue-as-new; none when the
    server has no such workflow."""
    try:
        latest = await client.get_workflow_handle(workflow_id).fetch_history()
    except RPCError as err:
        if err.status == RPCStatusCode.NOT_FOUND:
            return []
        raise
    runs = [latest]
    while True:
        previous = runs[0].events[0].workflow_execution_started_event_attributes
        if not previous.continued_execution_run_id:
            return runs
        handle = client.get_workflow_handle(workflow_id, run_id=previous.continued_execution_run_id)
        runs.insert(0, await handle.fetch_history())


async def journey_runs(client: Client, journey_id: str) -> list[WorkflowHistory]:
    """Every run Temporal keeps of a journey: the journey, every run of its follow-up year,
    and its erasure's, if it was erased."""
    return [
        *await journey_histories(client, journey_id),
        *await workflow_runs(client, erasure_workflow_id(journey_id)),
    ]


def describe_findings(findings: Sequence[Finding]) -> str:
    return "\n".join(
        f"{f.value!r} {f.seen} in {f.workflow_id} ({f.run_id[:8]}) {f.where}" for f in findings
    )


async def assert_no_phi(
    client: Client,
    histories: Sequence[WorkflowHistory],
    values: Sequence[str],
    *,
    current_details: bool = False,
) -> Search:
    """None of `values` in any of the runs, decoded or as stored; returns what was read."""
    search = await search_runs(client, histories, values, current_details=current_details)
    assert search.events and search.payloads, "the search read nothing"
    assert not search.unencrypted_runs, f"runs stored without the codec: {search.unencrypted_runs}"
    assert not search.findings, describe_findings(search.findings)
    return search


async def assert_not_stored_in_clear(
    client: Client, journey_id: str, values: Sequence[str]
) -> None:
    """None of `values` in the bytes the server holds of the journey's runs, which anyone
    reaching Temporal reads without a key; decoded, they may be there."""
    search = await search_runs(client, await journey_runs(client, journey_id), values)
    raw = [f for f in search.findings if f.seen == "raw"]
    assert not raw, describe_findings(raw)
