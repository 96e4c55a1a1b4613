"""The activities' metrics, through the Temporal SDK's meter (`activity.metric_meter()`).

Why the SDK's meter rather than prometheus_client in the worker: the worker already serves
the SDK's own metrics (task latencies, slots, cache) from its `Runtime`, so ours appear on
the same endpoint, next to them, with no second server in the worker; they carry the SDK's
labels (namespace, task queue, activity type) for free; and they follow the runtime wherever
it sends its metrics (Prometheus here, OTLP should an operator switch the runtime to it).
Outside an activity, or on a client whose runtime has no metrics, they cost nothing.
"""

from temporalio import activity

from domain.metrics import (
    EMAILS,
    INCIDENTS_OPENED,
    SLA_ESCALATION_KINDS,
    SLA_ESCALATIONS,
    EmailOutcome,
)
from domain.notifications import NotificationKind


def count(name: str, description: str, labels: dict[str, str]) -> None:
    """Add one to the counter `name` with `labels`, when running in an activity."""
    if activity.in_activity():
        activity.metric_meter().create_counter(name, description).add(1, labels)


def observe_seconds(name: str, description: str, seconds: float, labels: dict[str, str]) -> None:
    if activity.in_activity():
        histogram = activity.metric_meter().create_histogram_float(name, description, "s")
        histogram.record(seconds, labels)


def email_done(kind: NotificationKind, outcome: EmailOutcome) -> None:
    """An email's attempt ended: sent, or why not. A sent escalation counts as one."""
    count(EMAILS, "Emails by kind and outcome", {"kind": kind.value, "outcome": outcome.value})
    escalation = SLA_ESCALATION_KINDS.get(kind)
    if outcome is EmailOutcome.SENT and escalation is not None:
        count(SLA_ESCALATIONS, "SLA escalations sent, by kind", {"kind": escalation})


def incident_opened(kind: str) -> None:
    count(INCIDENTS_OPENED, "Incidents opened, by kind", {"kind": kind})
