"""The project's metric names and their label values: alert rules and dashboards
(`ops/`) are written against these, so they are named once, here.

Every label holds a coded value from a closed set (a stage, a kind, an outcome), never an id
or anything a person wrote: a label's values must stay few, and must carry no PHI. Counters
are exported with the `_total` suffix (`journeys_emails_total`).
"""

from enum import StrEnum

from domain.notifications import NotificationKind

# Read from PostgreSQL when Prometheus scrapes the API (gauges).
JOURNEYS_IN_STAGE = "journeys_in_stage"
JOURNEYS_WAITING = "journeys_waiting"
JOURNEYS_OVERDUE = "journeys_overdue"
JOURNEYS_OVERDUE_LONGEST = "journeys_overdue_longest_seconds"
INCIDENTS_OPEN = "journeys_incidents_open"
INCIDENTS_OPEN_OLDEST = "journeys_incidents_open_oldest_seconds"
RECORDS_READ = "journeys_records_read_success"

# Counted by the API where steps are sent.
STEPS = "journeys_steps"
STEP_ANSWER_SECONDS = "journeys_step_answer_seconds"
# The API's requests, as prometheus-fastapi-instrumentator names them under this namespace
# and subsystem: `journeys_api_http_requests_total` and the like.
NAMESPACE = "journeys"
API_SUBSYSTEM = "api"
API_REQUESTS = "journeys_api_http_requests"

# Counted by the activities, through the Temporal SDK's meter: on the worker's endpoint.
EMAILS = "journeys_emails"
CALENDAR_CALLS = "journeys_calendar_calls"
CLINIC_CALLS = "journeys_clinic_calls"
OUTSIDE_CALL_SECONDS = "journeys_outside_call_seconds"
SLA_ESCALATIONS = "journeys_sla_escalations"
INCIDENTS_OPENED = "journeys_incidents_opened"


class StepAnswer(StrEnum):
    """How the journey answered a step the API sent."""

    ACCEPTED = "accepted"
    REFUSED = "refused"
    """Not now: wrong stage, out of order, already done (409)."""
    INVALID = "invalid"
    """The step's data cannot apply (422)."""
    FORBIDDEN = "forbidden"
    """Not this role (403)."""
    TIMED_OUT = "timed_out"
    """No answer within the API's patience (504)."""
    UNAVAILABLE = "unavailable"
    """Temporal did not take the step (503)."""


class EmailOutcome(StrEnum):
    SENT = "sent"
    DEFERRED = "deferred"
    """Refused for now (4xx): the activity retries."""
    REFUSED = "refused"
    """Refused for good (5xx): an incident."""
    UNAVAILABLE = "unavailable"
    """The mail server did not answer: the activity retries."""
    NO_ADDRESS = "no_address"


class CallOutcome(StrEnum):
    """How a call to the specialists' calendar or the clinic's system ended."""

    OK = "ok"
    REFUSED = "refused"
    """The clinic refused for good."""
    UNAVAILABLE = "unavailable"
    """Down, overloaded or unreachable: retried."""
    FAILED = "failed"
    """Anything else the client raised."""


class OutsideSystemName(StrEnum):
    CALENDAR = "calendar"
    CLINIC = "clinic"
    SMTP = "smtp"


# The emails that escalate a missed SLA, with the `kind` label their escalations carry.
SLA_ESCALATION_KINDS: dict[NotificationKind, str] = {
    NotificationKind.REVIEW_ESCALATION: "review",
}
