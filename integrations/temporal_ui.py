"""Links into the Temporal Web UI: one journey's page, and the lists coordinators ask for."""

from datetime import UTC, datetime, timedelta
from urllib.parse import quote

from domain.names import (
    INCIDENT,
    NEXT_DEADLINE,
    TREATMENT_DATE,
    WAITING_ON,
    journey_workflow_id,
)


def journey_page(ui_base: str, namespace: str, journey_id: str) -> str:
    workflow_id = quote(journey_workflow_id(journey_id), safe="")
    return f"{ui_base.rstrip('/')}/namespaces/{quote(namespace)}/workflows/{workflow_id}"


def workflow_list(ui_base: str, namespace: str, query: str) -> str:
    return f"{ui_base.rstrip('/')}/namespaces/{quote(namespace)}/workflows?query={quote(query)}"


def _instant(value: datetime) -> str:
    return value.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def coordinator_queries(now: datetime) -> dict[str, str]:
    """The coordinators' usual questions as visibility queries, as of `now` (the UI's query
    language has no clock of its own, so a deadline is compared with a written instant)."""
    week_start = (now - timedelta(days=now.weekday())).replace(
        hour=0, minute=0, second=0, microsecond=0
    )
    return {
        "Waiting on a reviewer past the deadline": (
            f"{WAITING_ON.name}='reviewer' AND {NEXT_DEADLINE.name} < '{_instant(now)}'"
        ),
        "Open incidents": f"{INCIDENT.name} != ''",
        "Treatment this week": (
            f"{TREATMENT_DATE.name} >= '{_instant(week_start)}' AND "
            f"{TREATMENT_DATE.name} < '{_instant(week_start + timedelta(days=7))}'"
        ),
    }
