"""A journey's timeline, read from its workflow histories: who did what, and when.

The histories are the record an auditor can trust: every human step is an update carrying its
actor, every stage change, email and booking is an activity input, every deadline a timer.
This module turns the parent's and every follow-up run's events into one list, oldest first.
Histories hold ids, never names (no PHI); names are added only when the caller passes them.

What a reader is given of each entry is decided here, once, for every surface (the API, the
console's case page, `journeys timeline`): `disclosure_for` says it from the reader's role and
whether the journey was erased, and the reader below leaves out what the disclosure withholds.
"""

from collections.abc import Iterable, Sequence
from datetime import UTC, datetime
from typing import Any, Literal

import asyncpg
from pydantic import BaseModel, ConfigDict, Field
from temporalio.api.common.v1 import Payload
from temporalio.api.enums.v1 import EventType
from temporalio.api.history.v1 import HistoryEvent
from temporalio.client import Client, WorkflowHistory
from temporalio.contrib.pydantic import pydantic_data_converter

from db.journey_queries import JourneyQueries
from db.staff import StaffRepository
from domain.actors import Role
from domain.names import WORKFLOW_ID_PREFIX, journey_workflow_id
from domain.readers import SEES_DECISIONS
from integrations.data_converter import decode_history

Kind = Literal[
    "stage", "step", "email", "booking", "cancellation", "timer", "escalation", "child", "end"
]

# Notification kinds that tell someone a deadline passed or a risk appeared.
ESCALATION_MARKS = ("escalation", "overdue", "missed")
_NOT_STAFF = {"patient", "system", "clinic"}
_E = EventType


class Disclosure(BaseModel):
    """What a timeline's reader is given beyond who did what and when.

    Every reader gets each entry's time, kind, step name (with the follow-up consult's or the
    check-in's number), actor id and role, stage moves with their deadlines, the kind and
    audience of each email, what was booked and cancelled, timers, and ids of the workflows,
    runs, bookings, the inquiry and the case manager, and each step's or activity's status.
    """

    model_config = ConfigDict(frozen=True)

    decided_values: bool = Field(
        default=True,
        description="what was decided about the patient: outcomes, reasons, eligibility, "
        "document kinds, the ids of the records written about them (documents, plans, "
        "reports, outcome scores, check-ins), travel and booked dates, the facts emails "
        "carried, the journey's final answer",
    )
    typed_values: bool = Field(
        default=True,
        description="what staff typed about the patient (the clinic's reference); never "
        "once the journey's personal data was erased",
    )


# Whoever holds the payload keys and the database, as the `journeys` command's own account.
EVERYTHING = Disclosure()


def disclosure_for(role: Role | None, *, erased: bool) -> Disclosure:
    """What of a journey's timeline a reader in `role` is given; None is the operating-system
    account running `journeys timeline`, which holds the payload keys and so reads every
    payload anyway. Auditors and privacy officers read who did what and when, never what was
    decided about a patient; after an erasure nobody reads what staff typed about them."""
    decides = role is None or role in SEES_DECISIONS
    return Disclosure(decided_values=decides, typed_values=decides and not erased)


# The details every reader is given (Disclosure's docstring); any other detail is a decided
# value, so a new field of a step, an email's facts or a booking is withheld until listed here.
_WHO_WHAT_WHEN = frozenset(
    {
        "status",
        "deadline",
        "step",
        "journey_id",
        "inquiry_id",
        "case_manager_id",
        "booking_id",
        "timer_id",
        "child_workflow_id",
        "child_run_id",
        "new_run_id",
        "stage",
    }
)
# Step fields a person types (domain/steps.py): what they say about the patient outlives no
# erasure, though the history keeps them until the namespace's retention deletes it.
_TYPED = frozenset({"clinic_reference"})


class TimelineEntry(BaseModel):
    """One thing that happened to a journey, as its history records it."""

    at: datetime
    workflow_id: str
    run_id: str = ""
    event_id: int
    kind: Kind
    what: str
    actor_id: str | None = None
    actor_role: str | None = None
    details: dict[str, str] = Field(default_factory=dict)


async def journey_histories(client: Client, journey_id: str) -> list[WorkflowHistory]:
    """The parent's history, then every run of each child (following continue-as-new)."""
    parent = await client.get_workflow_handle(journey_workflow_id(journey_id)).fetch_history()
    histories = [parent]
    for event in parent.events:
        if event.event_type != _E.EVENT_TYPE_CHILD_WORKFLOW_EXECUTION_STARTED:
            continue
        execution = event.child_workflow_execution_started_event_attributes.workflow_execution
        histories += await continued_runs(client, execution.workflow_id, execution.run_id)
    return histories


async def continued_runs(
    client: Client, workflow_id: str, first_run_id: str
) -> list[WorkflowHistory]:
    """Every run of a workflow from `first_run_id` on, following continue-as-new."""
    histories, run_id = [], first_run_id
    while run_id:
        run = await client.get_workflow_handle(workflow_id, run_id=run_id).fetch_history()
        histories.append(run)
        last = run.events[-1]
        run_id = (
            last.workflow_execution_continued_as_new_event_attributes.new_execution_run_id
            if last.event_type == _E.EVENT_TYPE_WORKFLOW_EXECUTION_CONTINUED_AS_NEW
            else ""
        )
    return histories


async def timeline_for(
    client: Client, journey_id: str, *, disclosure: Disclosure
) -> list[TimelineEntry]:
    """The timeline of one journey as `disclosure` lets its reader see it, fetched from the
    server and decoded by the client's data converter (the server holds the payloads
    encrypted)."""
    histories = await journey_histories(client, journey_id.removeprefix(WORKFLOW_ID_PREFIX))
    return build_timeline(
        [await decode_history(history, client.data_converter) for history in histories],
        disclosure=disclosure,
    )


def build_timeline(
    histories: Sequence[WorkflowHistory], *, disclosure: Disclosure = EVERYTHING
) -> list[TimelineEntry]:
    """Every entry of every history, oldest first (ties keep history, then event, order)."""
    ordered: list[tuple[datetime, int, int, TimelineEntry]] = []
    for n, history in enumerate(histories):
        for entry in _HistoryReader(history, disclosure).entries():
            ordered.append((entry.at, n, entry.event_id, entry))
    return [entry for *_, entry in sorted(ordered, key=lambda t: t[:3])]


class _HistoryReader:
    """Reads one run's events; activity and update outcomes are filled in as they arrive."""

    def __init__(self, history: WorkflowHistory, disclosure: Disclosure) -> None:
        self.history = history
        self.disclosure = disclosure
        first = history.events[0] if history.events else None
        started = first.workflow_execution_started_event_attributes if first else None
        self.workflow_type = started.workflow_type.name if started else ""
        self.run_id = started.original_execution_run_id if started else ""
        self.out: list[TimelineEntry] = []
        self.activities: dict[int, tuple[str, TimelineEntry]] = {}
        self.updates: dict[str, TimelineEntry] = {}
        self.timers: dict[str, str] = {}

    def entries(self) -> list[TimelineEntry]:
        for event in self.history.events:
            self._read(event)
        for _, entry in self.activities.values():
            entry.details.setdefault("status", "pending")
        for entry in self.out:
            entry.details = self._disclosed(entry.details)
        return self.out

    def _disclosed(self, details: dict[str, str]) -> dict[str, str]:
        if not self.disclosure.decided_values:
            return {k: v for k, v in details.items() if k in _WHO_WHAT_WHEN}
        if not self.disclosure.typed_values:
            return {k: v for k, v in details.items() if k not in _TYPED}
        return details

    def _add(self, event: HistoryEvent, kind: Kind, what: str, **fields: Any) -> TimelineEntry:
        entry = TimelineEntry(
            at=event.event_time.ToDatetime(tzinfo=UTC),
            workflow_id=self.history.workflow_id,
            run_id=self.run_id,
            event_id=event.event_id,
            kind=kind,
            what=what,
            **fields,
        )
        self.out.append(entry)
        return entry

    def _read(self, e: HistoryEvent) -> None:
        t = e.event_type
        if t == _E.EVENT_TYPE_WORKFLOW_EXECUTION_STARTED:
            self._started(e)
        elif t == _E.EVENT_TYPE_WORKFLOW_EXECUTION_UPDATE_ACCEPTED:
            self._update(e)
        elif t == _E.EVENT_TYPE_WORKFLOW_EXECUTION_UPDATE_COMPLETED:
            a = e.workflow_execution_update_completed_event_attributes
            if (step := self.updates.get(a.meta.update_id)) and a.outcome.HasField("failure"):
                step.details["status"] = "failed"
        elif t == _E.EVENT_TYPE_ACTIVITY_TASK_SCHEDULED:
            self._activity(e)
        elif t in _ACTIVITY_ENDS:
            self._activity_end(e, _ACTIVITY_ENDS[t])
        elif t == _E.EVENT_TYPE_TIMER_STARTED:
            summary = e.user_metadata.summary if e.HasField("user_metadata") else None
            timer_id = e.timer_started_event_attributes.timer_id
            self.timers[timer_id] = str(_decode(summary) or "") if summary else ""
        elif t == _E.EVENT_TYPE_TIMER_FIRED:
            timer_id = e.timer_fired_event_attributes.timer_id
            what = self.timers.get(timer_id) or f"timer {timer_id}"
            self._add(e, "timer", what, details={"timer_id": timer_id})
        elif t in _CHILD_EVENTS:
            self._child(e, _CHILD_EVENTS[t])
        elif t in _ENDINGS:
            self._ended(e, _ENDINGS[t])

    def _started(self, e: HistoryEvent) -> None:
        # The parent starts when the patient's inquiry (with consent) has been stored.
        a = e.workflow_execution_started_event_attributes
        data = _decode(a.input.payloads[0]) if a.input.payloads else None
        if self.workflow_type != "PatientJourney" or not isinstance(data, dict):
            return
        self._add(
            e,
            "step",
            "inquiry submitted",
            actor_id=data.get("patient_id"),
            actor_role="patient",
            details=_flat({k: data.get(k) for k in ("journey_id", "inquiry_id")}),
        )

    def _update(self, e: HistoryEvent) -> None:
        a = e.workflow_execution_update_accepted_event_attributes
        name = a.accepted_request.input.name
        payloads = a.accepted_request.input.args.payloads
        step = _decode(payloads[0]) if payloads else None
        step = step if isinstance(step, dict) else {}
        actor = step.pop("actor", None) or {}
        phrase = _step_phrase if self.disclosure.decided_values else _step_name
        self.updates[a.accepted_request.meta.update_id] = self._add(
            e,
            "step",
            phrase(name, step),
            actor_id=actor.get("id"),
            actor_role=actor.get("role"),
            details=_flat(step),
        )

    def _activity(self, e: HistoryEvent) -> None:
        a = e.activity_task_scheduled_event_attributes
        name = a.activity_type.name
        data = _decode(a.input.payloads[0]) if a.input.payloads else None
        data = data if isinstance(data, dict) else {}
        entry: TimelineEntry | None = None
        if name == "record_stage":
            # Only the stage matters here; its projection into Postgres is not the record.
            stage, waiting = data.get("stage", "?"), data.get("waiting_on", "none")
            what = str(stage) if waiting == "none" else f"{stage}, waiting on {waiting}"
            self._add(
                e,
                "stage",
                what,
                actor_id=data.get("actor_id"),
                actor_role=data.get("actor_role"),
                details=_flat({"deadline": data.get("deadline")}),
            )
        elif name == "send_notification":
            kind = str(data.get("kind", "?"))
            escalation = any(mark in kind for mark in ESCALATION_MARKS)
            audience = str(data.get("audience", "patient")).replace("_", " ")
            entry = self._add(
                e,
                "escalation" if escalation else "email",
                f"{kind.replace('_', ' ')} email to {audience}",
                details=_flat({"step": data.get("step"), **(data.get("facts") or {})}),
            )
        elif name == "book":
            kind = str(data.get("kind", "?")).replace("_", " ")
            keep = ("step", "starts_at", "ends_at", "slot_id")
            entry = self._add(
                e, "booking", f"{kind} booked", details=_flat({k: data.get(k) for k in keep})
            )
        elif name == "cancel_booking":
            details = _flat({"booking_id": data.get("booking_id")})
            entry = self._add(e, "cancellation", "booking cancelled", details=details)
        elif name == "assign_case_manager":
            entry = self._add(
                e,
                "step",
                "case manager assigned by language and load",
                actor_id="system",
                actor_role="system",
            )
        if entry is not None:
            self.activities[e.event_id] = (name, entry)

    def _activity_end(self, e: HistoryEvent, outcome: str) -> None:
        attributes = getattr(e, _ACTIVITY_END_FIELDS[outcome])
        found = self.activities.pop(attributes.scheduled_event_id, None)
        if found is None:
            return
        name, entry = found
        entry.details["status"] = outcome
        if outcome != "completed" or not attributes.result.payloads:
            return
        result = _decode(attributes.result.payloads[0])
        if not isinstance(result, dict):
            return
        if name == "book" and result.get("booking_id"):
            entry.details["booking_id"] = str(result["booking_id"])
        elif name == "assign_case_manager":
            assigned = result.get("case_manager_id")
            entry.details["case_manager_id"] = str(assigned) if assigned else "none available"

    def _child(self, e: HistoryEvent, what: str) -> None:
        a = getattr(e, _CHILD_FIELDS[what])
        details = {"child_workflow_id": a.workflow_execution.workflow_id}
        if what == "started":
            details["child_run_id"] = a.workflow_execution.run_id
        self._add(e, "child", f"{a.workflow_type.name} {what}", details=details)

    def _ended(self, e: HistoryEvent, how: str) -> None:
        details: dict[str, str] = {}
        what = f"{self.workflow_type} {how}"
        if how == "completed":
            payloads = e.workflow_execution_completed_event_attributes.result.payloads
            result = _decode(payloads[0]) if payloads else None
            if isinstance(result, dict):
                if "stage" in result:
                    what = f"journey ended {result['stage']}"
                details = _flat({k: v for k, v in result.items() if k != "journey_id"})
        elif how == "continued as new":
            attributes = e.workflow_execution_continued_as_new_event_attributes
            details = {"new_run_id": attributes.new_execution_run_id}
        # Termination reasons and failure messages are free text typed by people: left out.
        self._add(e, "end", what, details=details)


_ACTIVITY_ENDS = {
    _E.EVENT_TYPE_ACTIVITY_TASK_COMPLETED: "completed",
    _E.EVENT_TYPE_ACTIVITY_TASK_FAILED: "failed",
    _E.EVENT_TYPE_ACTIVITY_TASK_TIMED_OUT: "timed out",
    _E.EVENT_TYPE_ACTIVITY_TASK_CANCELED: "cancelled",
}
_ACTIVITY_END_FIELDS = {
    "completed": "activity_task_completed_event_attributes",
    "failed": "activity_task_failed_event_attributes",
    "timed out": "activity_task_timed_out_event_attributes",
    "cancelled": "activity_task_canceled_event_attributes",
}
_CHILD_EVENTS = {
    _E.EVENT_TYPE_CHILD_WORKFLOW_EXECUTION_STARTED: "started",
    _E.EVENT_TYPE_CHILD_WORKFLOW_EXECUTION_COMPLETED: "completed",
    _E.EVENT_TYPE_CHILD_WORKFLOW_EXECUTION_FAILED: "failed",
    _E.EVENT_TYPE_CHILD_WORKFLOW_EXECUTION_CANCELED: "cancelled",
    _E.EVENT_TYPE_CHILD_WORKFLOW_EXECUTION_TERMINATED: "terminated",
    _E.EVENT_TYPE_CHILD_WORKFLOW_EXECUTION_TIMED_OUT: "timed out",
}
_CHILD_FIELDS = {
    "started": "child_workflow_execution_started_event_attributes",
    "completed": "child_workflow_execution_completed_event_attributes",
    "failed": "child_workflow_execution_failed_event_attributes",
    "cancelled": "child_workflow_execution_canceled_event_attributes",
    "terminated": "child_workflow_execution_terminated_event_attributes",
    "timed out": "child_workflow_execution_timed_out_event_attributes",
}
_ENDINGS = {
    _E.EVENT_TYPE_WORKFLOW_EXECUTION_COMPLETED: "completed",
    _E.EVENT_TYPE_WORKFLOW_EXECUTION_FAILED: "failed",
    _E.EVENT_TYPE_WORKFLOW_EXECUTION_CANCELED: "cancelled",
    _E.EVENT_TYPE_WORKFLOW_EXECUTION_TERMINATED: "terminated",
    _E.EVENT_TYPE_WORKFLOW_EXECUTION_TIMED_OUT: "timed out",
    _E.EVENT_TYPE_WORKFLOW_EXECUTION_CONTINUED_AS_NEW: "continued as new",
}


def _decode(payload: Payload) -> Any:
    """A payload as plain JSON data: old histories decode even where a model has changed."""
    try:
        return pydantic_data_converter.payload_converter.from_payload(payload)
    except Exception:
        return None


def _step_name(update: str, step: dict[str, Any]) -> str:
    """The step and, for the follow-up year's, which consult or week: no decided value."""
    phrase = update.replace("_", " ")
    for key in ("week", "consult_no"):
        if key in step:
            return f"{phrase} {step[key]}"
    return phrase


def _step_phrase(update: str, step: dict[str, Any]) -> str:
    phrase = update.replace("_", " ")
    if "outcome" in step:
        return f"{phrase}: {step['outcome']}"
    if "eligible" in step:
        return f"{phrase}: {'eligible' if step['eligible'] else 'not eligible'}"
    if "accept" in step:
        return f"{phrase}: {'accepted' if step['accept'] else 'declined'}"
    if "confirmed" in step:
        return f"{phrase}: {'confirmed' if step['confirmed'] else 'refused'}"
    return _step_name(update, step)


def _flat(values: dict[str, Any]) -> dict[str, str]:
    """Details as text; values in histories are ids, codes and dates by design."""
    out: dict[str, str] = {}
    for key, value in values.items():
        if value is None or value == [] or value == {}:
            continue
        if isinstance(value, bool):
            out[key] = "yes" if value else "no"
        elif isinstance(value, list | tuple):
            out[key] = ",".join(str(v) for v in value)
        else:
            out[key] = str(value)
    return out


def render_markdown(
    entries: Iterable[TimelineEntry],
    names: dict[str, str] | None = None,
    disclosure: Disclosure = EVERYTHING,
) -> str:
    """A Markdown table, oldest first; `names` (id to name) only for callers who may see them,
    and a header saying what `disclosure` left out."""
    rows = list(entries)
    names = names or {}
    journey = min((r.workflow_id for r in rows), key=len, default="")
    shown = "names shown where known" if names else "people shown by id"
    if not disclosure.decided_values:
        shown += "; what was decided about the patient left out"
    elif not disclosure.typed_values:
        shown += "; what staff typed about the patient left out"
    lines = [
        f"# Timeline of {journey or 'an empty history'}",
        "",
        f"{len(rows)} entries, oldest first; times in UTC; {shown}.",
        "",
        "| # | when (UTC) | kind | what | who | details |",
        "|---:|---|---|---|---|---|",
    ]
    for n, row in enumerate(rows, 1):
        details = ", ".join(f"{k}={_named(v, names)}" for k, v in row.details.items())
        cells = [
            str(n),
            f"{row.at:%Y-%m-%d %H:%M:%S}",
            row.kind,
            row.what,
            _who(row, names),
            details,
        ]
        lines.append("| " + " | ".join(_cell(c) for c in cells) + " |")
    return "\n".join(lines) + "\n"


def _who(row: TimelineEntry, names: dict[str, str]) -> str:
    if not row.actor_id:
        return ""
    if row.actor_id == "system":
        return "system"
    role = f", {row.actor_role}" if row.actor_role else ""
    if row.actor_id in names:
        return f"{names[row.actor_id]} ({row.actor_id}{role})"
    return f"{row.actor_id} ({row.actor_role})" if row.actor_role else row.actor_id


def _named(value: str, names: dict[str, str]) -> str:
    return f"{names[value]} ({value})" if value in names else value


def _cell(text: str) -> str:
    return text.replace("|", "\\|").replace("\n", " ")


async def actor_names(
    conn: asyncpg.Connection, journey_id: str, entries: Iterable[TimelineEntry]
) -> dict[str, str]:
    """Names for the staff ids and the patient id of a timeline, read from Postgres.

    Only for callers allowed to see them: the timeline itself never needs a name.
    """
    rows = list(entries)
    staff_ids = {r.actor_id for r in rows if r.actor_id and r.actor_role not in _NOT_STAFF}
    staff_ids |= {r.details["case_manager_id"] for r in rows if "case_manager_id" in r.details}
    names: dict[str, str] = {}
    staff = StaffRepository(conn)
    for staff_id in sorted(staff_ids):
        contact = await staff.contact(staff_id=staff_id)
        if contact is not None:
            names[staff_id] = contact.full_name
    patient = await JourneyQueries(conn).patient(
        journey_id=journey_id.removeprefix(WORKFLOW_ID_PREFIX)
    )
    # An erased patient's name is empty: they stay their id.
    if patient is not None and patient.full_name:
        names[patient.patient_id] = patient.full_name
    return names
