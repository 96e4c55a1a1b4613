"""One trace from the form's POST to the acknowledgement email leaving for the SMTP server."""

from pathlib import Path

import asyncpg
from opentelemetry.sdk.trace import ReadableSpan
from opentelemetry.trace import SpanKind
from temporalio.client import Client
from temporalio.testing import WorkflowEnvironment

from domain.names import journey_workflow_id
from settings import Settings
from tests.app_client import app_client
from tests.helpers import eventually, valid_form
from tests.journeys import seed_staff
from tests.metrics_scrape import SENTINELS, sentinel_form
from tests.tracing import attribute_sets, text_of
from worker import running_worker


def _one(spans: list[ReadableSpan], name: str, **attributes: str) -> ReadableSpan:
    found = [
        span
        for span in spans
        if span.name == name
        and all(
            value in str((span.attributes or {}).get(key, "")) for key, value in attributes.items()
        )
    ]
    assert len(found) == 1, f"{name} {attributes}: {[s.name for s in spans]}"
    return found[0]


def _ancestors(span: ReadableSpan, spans: list[ReadableSpan]) -> list[str]:
    """The names of the span's parents, nearest first, as far as the exported spans go."""
    by_id = {s.context.span_id: s for s in spans if s.context is not None}
    names = []
    parent = span.parent
    while parent is not None and parent.span_id in by_id:
        found = by_id[parent.span_id]
        names.append(found.name)
        parent = found.parent
    return names


async def test_a_form_submission_is_one_trace_down_to_its_acknowledgement_email(
    spans: list[ReadableSpan],
    traced_client: Client,
    temporal_env: WorkflowEnvironment,
    settings: Settings,
    pool: asyncpg.Pool,
    mail_dir: Path,
) -> None:
    await seed_staff(pool)
    async with (
        running_worker(traced_client, settings=settings, pool=pool),
        app_client(settings, base_url="http://app") as http,
    ):
        answer = await http.post(
            "/api/v1/inquiries?token=not-a-real-token", json=valid_form(**sentinel_form())
        )
        assert answer.status_code == 202, answer.text
        journey_id = answer.json()["journey_id"]

        def smtp_spans() -> list[ReadableSpan]:
            return [s for s in spans if s.name == "smtp send"]

        async def acknowledged() -> list[ReadableSpan]:
            return [
                s
                for s in smtp_spans()
                if f"{journey_id}.acknowledgement@"
                in str((s.attributes or {}).get("messaging.message.id"))
            ]

        await eventually(acknowledged, what="the acknowledgement's SMTP span")

    request = _one(spans, "POST /api/v1/inquiries")
    assert request.kind is SpanKind.SERVER
    trace_id = request.context.trace_id
    smtp = _one(spans, "smtp send", **{"messaging.message.id": f"{journey_id}.acknowledgement@"})
    assert smtp.kind is SpanKind.CLIENT
    assert smtp.context.trace_id == trace_id, "the email is in the request's trace"
    workflow_id = journey_workflow_id(journey_id)
    run = _one(spans, "RunWorkflow:PatientJourney", temporalWorkflowID=workflow_id)
    assert run.context.trace_id == trace_id
    # The SMTP call, under the activity that sent it, under the workflow's scheduling of it,
    # under the request that started the workflow.
    lineage = _ancestors(smtp, spans)
    assert lineage[:2] == ["RunActivity:send_notification", "StartActivity:send_notification"]
    assert "StartWorkflow:PatientJourney" in lineage
    assert lineage[-1] == "POST /api/v1/inquiries"

    in_trace = [s for s in spans if s.context.trace_id == trace_id]
    statements = [
        str((s.attributes or {}).get("db.statement"))
        for s in in_trace
        if "db.statement" in (s.attributes or {})
    ]
    assert any("INSERT INTO patients" in sql for sql in statements), "the API's records"
    assert any("outbox" in sql for sql in statements), "the activity's records"
    assert all("$1" in sql or "$" not in sql for sql in statements)
    for attributes in attribute_sets(spans):
        assert "db.statement.parameters" not in attributes
    text = text_of(spans)
    for sentinel in SENTINELS:
        assert sentinel not in text, sentinel
    assert "not-a-real-token" not in text, "query strings stay out of spans"
    assert request.attributes is not None
    assert request.attributes["http.target"] == "/api/v1/inquiries"
    assert "net.peer.ip" not in request.attributes, "nor the client's address"
