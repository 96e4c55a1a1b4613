"""The metrics endpoints as Prometheus scrapes them: the worker's (the Temporal SDK's own and
the activities') and the API's (requests, steps, and journeys read from PostgreSQL)."""

from datetime import UTC, datetime, timedelta
from pathlib import Path

import asyncpg
import httpx
from temporalio.testing import WorkflowEnvironment

from api.app import create_app
from api.metrics import start_metrics_server
from db.incidents import IncidentRepository
from devstack.ports import free_port
from domain.actors import Role
from domain.incidents import IncidentKind
from domain.records import IncidentRecord
from domain.stages import Stage, WaitingOn
from integrations.temporal_client import connect_temporal
from observability.temporal_runtime import temporal_runtime
from settings import Settings
from tests.api_people import staff
from tests.faults import USER_UNKNOWN, start_refusing_mailbox
from tests.helpers import eventually, retry_incident, valid_form
from tests.journeys import JourneyDriver, seed_staff
from tests.metrics_scrape import SENTINELS, Scrape, scrape, sentinel_form
from worker import running_worker

# Every metric the alert rules and the dashboard read (ops/), as each endpoint exports it: the
# tests below find each under exactly this name, and tests/test_ops_files.py checks that ops/
# reads no other.
WORKER_METRICS = (
    "journeys_emails_total",
    "journeys_incidents_opened_total",
    "journeys_sla_escalations_total",
    "journeys_calendar_calls_total",
    "journeys_clinic_calls_total",
    "journeys_outside_call_seconds_bucket",
)
API_METRICS = (
    "journeys_in_stage",
    "journeys_waiting",
    "journeys_overdue",
    "journeys_overdue_longest_seconds",
    "journeys_incidents_open",
    "journeys_incidents_open_oldest_seconds",
    "journeys_records_read_success",
    "journeys_steps_total",
    "journeys_step_answer_seconds_bucket",
)
# The Temporal SDK's, on the worker's endpoint.
SDK_METRICS = (
    "temporal_workflow_task_schedule_to_start_latency_bucket",
    "temporal_activity_schedule_to_start_latency_bucket",
    "temporal_worker_task_slots_available",
    "temporal_worker_task_slots_used",
    "temporal_sticky_cache_size",
)
# prometheus-fastapi-instrumentator's, under the project's prefix, that ops/ reads.
REQUEST_METRICS = (
    "journeys_api_http_requests_total",
    "journeys_api_http_request_duration_seconds_bucket",
)


async def test_the_worker_serves_the_sdks_metrics_and_the_activities(
    temporal_env: WorkflowEnvironment, settings: Settings, pool: asyncpg.Pool, tmp_path: Path
) -> None:
    await seed_staff(pool)
    port = free_port()
    client = await connect_temporal(
        settings,
        runtime=temporal_runtime(metrics_address=f"127.0.0.1:{port}"),
    )
    mail = tmp_path / "mail"
    controller, relay, smtp_port = start_refusing_mailbox(mail)
    relay.refuse("refused.example", USER_UNKNOWN)
    try:
        async with running_worker(
            client, settings=settings.model_copy(update={"smtp_port": smtp_port}), pool=pool
        ):
            refused = await JourneyDriver(temporal_env, pool, settings.task_queue, mail).start(
                **sentinel_form() | {"email": "zq.sentinel@refused.example"}
            )
            await eventually(refused.status, until=lambda s: s.incident is not None)

            journey = await JourneyDriver(temporal_env, pool, settings.task_queue, mail).start(
                **sentinel_form()
            )
            await journey.reach(Stage.VALIDATION, WaitingOn.REVIEWER)
            # Past the 48-hour review SLA: the medical lead is told once.
            await journey.sleep(timedelta(hours=49))
            await eventually(
                lambda: scrape(port),
                until=lambda s: s.value("journeys_sla_escalations_total", kind="review") == 1,
                what="a review escalation counted",
            )
            await journey.book_the_trip(needs_visa=False)
            metrics = await scrape(port)
    finally:
        controller.stop()

    emails = "journeys_emails_total"
    assert metrics.value(emails, kind="acknowledgement", outcome="sent") == 1
    assert metrics.value(emails, kind="acknowledgement", outcome="refused") == 1
    # The refused journey waits on a coordinator, who is told, before it goes any further.
    assert metrics.value(emails, kind="incident_opened", outcome="sent") == 1
    assert metrics.value(emails, kind="staff_new_inquiry", outcome="sent") == 1
    assert metrics.value(emails, kind="review_escalation", outcome="sent") == 1
    assert metrics.value(emails, outcome="deferred") == 0
    # The SDK's labels come along: which activity counted it, on which queue.
    assert metrics.has(emails, activity_type="send_notification", task_queue=settings.task_queue)
    opened = "journeys_incidents_opened_total"
    assert metrics.value(opened, kind="email_refused") == 1
    assert metrics.value(opened) == 1

    calendar = "journeys_calendar_calls_total"
    assert metrics.value(calendar, operation="busy", outcome="ok") >= 1
    assert metrics.value(calendar, operation="put_event", outcome="ok") == 1
    assert metrics.value(calendar, outcome="unavailable") == 0
    clinic = "journeys_clinic_calls_total"
    assert metrics.value(clinic, operation="reserve_visit", outcome="ok") == 1
    seconds = "journeys_outside_call_seconds_count"
    assert metrics.value(seconds, system="calendar") == metrics.value(calendar)
    assert metrics.value(seconds, system="clinic") == metrics.value(clinic)

    for name in SDK_METRICS:
        assert metrics.has(name, task_queue=settings.task_queue), name
    for name in WORKER_METRICS:
        assert metrics.has(name), name
    assert metrics.has("temporal_worker_task_slots_available", worker_type="WorkflowWorker")
    # Durations in seconds, in buckets fine enough to tell a healthy worker from a late one.
    assert metrics.has(
        "temporal_workflow_task_schedule_to_start_latency_bucket",
        task_queue=settings.task_queue,
        le="0.1",
    )
    for sentinel in SENTINELS:
        assert sentinel not in metrics.text
    assert refused.journey_id not in metrics.text and journey.journey_id not in metrics.text


async def test_the_api_serves_its_requests_its_steps_and_the_journeys_apart_from_the_app(
    settings: Settings, pool: asyncpg.Pool, worker: object
) -> None:
    await seed_staff(pool)
    app = create_app(settings)
    async with app.router.lifespan_context(app):
        server = start_metrics_server("127.0.0.1:0", app.state.metrics.registry)
        transport = httpx.ASGITransport(app=app)
        try:
            async with httpx.AsyncClient(transport=transport, base_url="http://app") as http:
                answer = await http.post("/api/v1/inquiries", json=valid_form(**sentinel_form()))
                assert answer.status_code == 202, answer.text
                journey_id = answer.json()["journey_id"]
                await eventually(
                    lambda: pool.fetchval(
                        "SELECT waiting_on FROM journeys WHERE journey_id = $1", journey_id
                    ),
                    until=lambda waiting_on: waiting_on == "reviewer",
                )
                waiting = await scrape(server.port)

                # Two days past its deadline, with a clinic refusal open as long.
                two_days_ago = datetime.now(UTC) - timedelta(days=2)
                await pool.execute(
                    "UPDATE journeys SET next_deadline = $2 WHERE journey_id = $1",
                    journey_id,
                    two_days_ago,
                )
                async with pool.acquire() as conn:
                    await IncidentRepository(conn).record(
                        record=IncidentRecord(
                            journey_id=journey_id,
                            incident=retry_incident(
                                IncidentKind.CLINIC_REFUSED, "book:clinic-visit", two_days_ago
                            ),
                        )
                    )
                late = await scrape(server.port)

                review = f"/api/v1/journeys/{journey_id}/review"
                reviewer = staff(settings, Role.REVIEWER)
                approved = await http.post(review, json={"outcome": "approve"}, headers=reviewer)
                assert approved.status_code == 200, approved.text
                again = await http.post(review, json={"outcome": "approve"}, headers=reviewer)
                assert again.status_code == 409, again.text
                assert (await http.get("/metrics")).status_code == 404, "not on the public app"
                assert (await http.get("/readyz")).status_code == 200
                steps = await scrape(server.port)
        finally:
            server.stop()

    assert waiting.value("journeys_records_read_success") == 1
    assert waiting.value("journeys_in_stage", stage="VALIDATION") == 1
    assert waiting.value("journeys_in_stage") == 1
    assert waiting.has("journeys_in_stage", stage="COMPLETED"), "every stage, 0 when empty"
    assert waiting.value("journeys_waiting", waiting_on="reviewer") == 1
    assert waiting.value("journeys_overdue") == 0
    assert waiting.value("journeys_incidents_open") == 0

    assert late.value("journeys_overdue", waiting_on="reviewer") == 1
    assert late.value("journeys_overdue_longest_seconds", waiting_on="reviewer") >= 2 * 86400
    assert late.value("journeys_incidents_open", kind="clinic_refused") == 1
    assert late.value("journeys_incidents_open") == 1
    assert late.value("journeys_incidents_open_oldest_seconds", kind="clinic_refused") >= 2 * 86400

    assert steps.value("journeys_steps_total", step="review", answer="accepted") == 1
    assert steps.value("journeys_steps_total", step="review", answer="refused") == 1
    assert steps.value("journeys_step_answer_seconds_count", step="review") == 2
    requests = "journeys_api_http_requests_total"
    assert steps.value(requests, handler="/api/v1/inquiries", method="POST", status="2xx") == 1
    handler = "/api/v1/journeys/{journey_id}/review"
    assert steps.value(requests, handler=handler, status="2xx") == 1
    assert steps.value(requests, handler=handler, status="4xx") == 1
    assert not steps.has(requests, handler="/readyz"), "probes are not counted"
    for name in (*REQUEST_METRICS, *API_METRICS):
        assert steps.has(name), name
    for scraped in (waiting, late, steps):
        assert_no_phi(scraped, journey_id)


def assert_no_phi(scraped: Scrape, journey_id: str) -> None:
    for sentinel in SENTINELS:
        assert sentinel not in scraped.text
    assert journey_id not in scraped.text, "no id in a label: their values must stay few"
