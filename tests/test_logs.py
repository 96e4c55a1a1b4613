"""JSON log lines: the failure paths that see a patient's details log ids and codes only, and
`journeys api` writes its access lines without query strings or client addresses."""

import asyncio
import dataclasses
import io
import json
import logging
import os
import subprocess
import sys
import uuid
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import asyncpg
import httpx
import pytest
from temporalio import activity, workflow
from temporalio.client import Client
from temporalio.exceptions import ApplicationError
from temporalio.testing import ActivityEnvironment, WorkflowEnvironment

from activities.bookings import BookingActivities
from devstack.ports import answers, free_port
from domain.names import journey_workflow_id
from domain.records import BookingKind, BookingRequest, SlotsRequest
from integrations.caldav_calendar import CalDavCalendar
from integrations.calendar import specialist_calendar
from integrations.fhir_gateway import FhirClinicGateway
from observability.logs import JsonLines, configure_logging
from settings import Settings
from tests.faults import USER_UNKNOWN, start_refusing_mailbox
from tests.helpers import eventually
from tests.journeys import JourneyDriver, seed_staff
from tests.metrics_scrape import SENTINELS, scrape, sentinel_form
from tests.test_calendar_events import vcalendar
from tests.test_email_activity import _journey
from tests.test_fhir_gateway import fhir_response, outcome
from worker import running_worker

FIELDS = {"time", "level", "logger", "message", "service"}
REFUSED_ADDRESS = "zq.sentinel@refused.example"
Lines = Callable[[], list[dict[str, Any]]]


@pytest.fixture
def json_lines() -> Iterator[Lines]:
    """The process's log as `journeys worker` configures it, into a buffer: each call
    parses what was written so far, line by line (a line that is not JSON fails)."""
    root = logging.getLogger()
    saved = root.handlers[:], root.level
    flags = workflow.logger.workflow_info_on_message, activity.logger.activity_info_on_message
    buffer = io.StringIO()
    configure_logging("worker", stream=buffer)

    def lines() -> list[dict[str, Any]]:
        parsed = [json.loads(line) for line in buffer.getvalue().splitlines()]
        for line in parsed:
            assert FIELDS <= set(line), line
        return parsed

    yield lines
    root.handlers[:], level = saved
    root.setLevel(level)
    workflow.logger.workflow_info_on_message, activity.logger.activity_info_on_message = flags


def assert_no_sentinels(text: str, *also: str) -> None:
    for sentinel in (*SENTINELS, *also):
        assert sentinel not in text, sentinel


async def test_a_refused_recipient_is_logged_with_the_journey_and_the_reply_codes_only(
    json_lines: Lines,
    traced_client: Client,
    temporal_env: WorkflowEnvironment,
    settings: Settings,
    pool: asyncpg.Pool,
    tmp_path: Path,
) -> None:
    await seed_staff(pool)
    controller, relay, port = start_refusing_mailbox(tmp_path / "mail")
    relay.refuse("refused.example", USER_UNKNOWN)
    try:
        async with running_worker(
            traced_client, settings=settings.model_copy(update={"smtp_port": port}), pool=pool
        ):
            journey = JourneyDriver(temporal_env, pool, settings.task_queue, tmp_path / "mail")
            await journey.start(**sentinel_form() | {"email": REFUSED_ADDRESS})
            await eventually(journey.status, until=lambda s: s.incident is not None)
    finally:
        controller.stop()

    lines = json_lines()
    [refusal] = [line for line in lines if line["message"].startswith("mail server refused")]
    assert refusal["level"] == "WARNING"
    assert refusal["logger"] == "activities.email"
    assert refusal["journey_id"] == journey.journey_id
    assert refusal["workflow_id"] == journey_workflow_id(journey.journey_id)
    assert refusal["run_id"]
    assert len(refusal["trace_id"]) == 32, "the activity's trace"
    assert "550 5.1.1 <<address>>" in refusal["message"], "what the relay said, redacted"
    # The SDK's own account of the failed activity and the incident the journey opened.
    assert any(line["logger"] == "temporalio.activity" for line in lines)
    opened = [line for line in lines if "incident 1 opened" in line["message"]]
    assert opened and opened[0]["run_id"] == refusal["run_id"]
    # The test's relay logs what it is sent, as any mail server does; it is not ours.
    ours = [line for line in lines if not line["logger"].startswith("mail.")]
    assert_no_sentinels("\n".join(json.dumps(line) for line in ours), REFUSED_ADDRESS)


async def test_a_clinic_refusal_echoing_the_patient_is_logged_without_them(
    json_lines: Lines, pool: asyncpg.Pool
) -> None:
    journey_id = await _journey(pool, **sentinel_form())
    echo = "Patient Zephyrine Quillfeather (zq.sentinel@example.org, +34 600 987 654) is known"

    def refusing(request: httpx.Request) -> httpx.Response:
        return fhir_response(422, outcome("error", "business-rule", echo))

    clinic = FhirClinicGateway(
        base_url="https://fhir.clinic.test/r4/",
        http=httpx.AsyncClient(transport=httpx.MockTransport(refusing)),
    )
    env = ActivityEnvironment()
    env.info = dataclasses.replace(env.info, workflow_id=journey_workflow_id(journey_id))
    start = datetime(2027, 3, 1, 8, tzinfo=UTC)
    request = BookingRequest(
        journey_id=journey_id,
        step="clinic-visit",
        kind=BookingKind.CLINIC_VISIT,
        starts_at=start,
        ends_at=start + timedelta(days=1, hours=10),
    )
    with pytest.raises(ApplicationError, match="the clinic refused"):
        await env.run(BookingActivities(pool, clinic=clinic).book, request)

    lines = json_lines()
    [refusal] = [line for line in lines if line["message"].startswith("clinic refused")]
    assert refusal["journey_id"] == journey_id
    assert refusal["workflow_id"] == journey_workflow_id(journey_id)
    assert "422" in refusal["message"] and "business-rule" in refusal["message"]
    assert_no_sentinels("\n".join(json.dumps(line) for line in lines))


async def test_an_unreadable_calendar_event_is_logged_by_its_calendar_and_uid(
    json_lines: Lines, pool: asyncpg.Pool, radicale: str
) -> None:
    await seed_staff(pool)
    journey_id = await _journey(pool, **sentinel_form())
    username = f"test-{uuid.uuid4().hex[:8]}"
    calendar = CalDavCalendar(url=radicale, username=username, password="unused")
    calendar_id = specialist_calendar("spec-1")
    await calendar.ensure_calendar(calendar_id, "Consults")
    private = "Zephyrine Quillfeather, zq.sentinel@example.org, Wobbleton syndrome"
    async with httpx.AsyncClient(auth=(username, "unused")) as http:
        answer = await http.put(
            f"{radicale}{username}/{calendar_id}/broken.ics",
            content=vcalendar(
                "BEGIN:VEVENT\nUID:broken\nDTSTAMP:20270101T000000Z\n"
                "DTSTART;TZID=Europe/Madrid:20270302T110000\n"
                "DTEND;TZID=Europe/Madrid:20270302T090000\n"
                f"SUMMARY:{private}\nDESCRIPTION:{private}\nEND:VEVENT\n"
            ),
            headers={"Content-Type": "text/calendar; charset=utf-8"},
        )
    assert answer.status_code in (201, 204), answer.text
    env = ActivityEnvironment()
    env.info = dataclasses.replace(env.info, workflow_id=journey_workflow_id(journey_id))
    proposed = await env.run(
        BookingActivities(pool, calendar).propose_consult_slots,
        SlotsRequest(
            journey_id=journey_id,
            round=1,
            count=3,
            not_before=datetime(2027, 2, 28, 6, tzinfo=UTC),
        ),
    )
    assert len(proposed.slots) == 3

    lines = json_lines()
    [skipped] = [line for line in lines if "skipped event UID broken" in line["message"]]
    assert skipped["level"] == "WARNING"
    assert calendar_id in skipped["message"]
    assert skipped["journey_id"] == journey_id
    assert_no_sentinels("\n".join(json.dumps(line) for line in lines))


def test_an_exception_is_logged_by_its_types_and_frames_without_its_message() -> None:
    log = logging.getLogger("journeys.test")
    record: logging.LogRecord | None = None
    try:
        try:
            raise KeyError("zq.sentinel@example.org")
        except KeyError as err:
            raise ValueError("input_value='Zephyrine Quillfeather'") from err
    except ValueError:
        record = log.makeRecord(
            log.name, logging.ERROR, __file__, 1, "intake failed", (), sys.exc_info()
        )
    line = json.loads(JsonLines("api").format(record))
    assert line["message"] == "intake failed"
    assert line["error"] == "ValueError <- KeyError"
    assert any("test_logs.py" in frame for frame in line["stack"])
    assert_no_sentinels(json.dumps(line))


def test_fields_passed_as_extra_do_not_reach_the_line() -> None:
    record = logging.getLogger("journeys.test").makeRecord(
        "journeys.test",
        logging.INFO,
        __file__,
        1,
        "stored",
        (),
        None,
        extra={"patient": "Zephyrine Quillfeather"},
    )
    line = json.loads(JsonLines("api").format(record))
    assert set(line) == {"time", "level", "logger", "message", "service"}


def _api_env(settings: Settings, api_port: int, metrics_port: int) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("JOURNEYS_", "OTEL_"))}
    return env | {
        "JOURNEYS_ENVIRONMENT": "development",
        "JOURNEYS_DATABASE_URL": settings.require_database_url(),
        "JOURNEYS_TEMPORAL_ADDRESS": settings.temporal_target,
        "JOURNEYS_API_PORT": str(api_port),
        "JOURNEYS_API_METRICS_ADDRESS": f"127.0.0.1:{metrics_port}",
        "JOURNEYS_INTAKE_SWEEP_SECONDS": "0",
    }


async def test_journeys_api_logs_json_lines_and_serves_metrics_apart(
    settings: Settings, tmp_path: Path
) -> None:
    api_port, metrics_port = free_port(), free_port()
    log_path = tmp_path / "api.log"
    with log_path.open("w") as log_file:
        process = await asyncio.to_thread(
            subprocess.Popen,
            [sys.executable, "-m", "cli", "api"],
            env=_api_env(settings, api_port, metrics_port),
            stdout=log_file,
            stderr=subprocess.STDOUT,
        )
    journey_id = str(uuid.uuid4())
    try:
        await eventually(
            lambda: asyncio.to_thread(answers, api_port),
            what="the API listening",
            within=30,
        )
        async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{api_port}") as http:
            answer = await http.get(f"/api/v1/journeys/{journey_id}?token=zq-link-sentinel")
            assert answer.status_code == 401, answer.text
            assert (await http.get("/metrics")).status_code == 404
        metrics = await scrape(metrics_port)
        assert metrics.has("journeys_api_http_requests_total", status="4xx")
        assert metrics.value("journeys_records_read_success") == 1
    finally:
        process.send_signal(2)
        await asyncio.to_thread(process.wait, 20)

    text = log_path.read_text()
    lines = [json.loads(line) for line in text.splitlines()]
    assert all(FIELDS <= set(line) and line["service"] == "api" for line in lines)
    [access] = [
        line
        for line in lines
        if line["logger"] == "uvicorn.access" and journey_id in line.get("http_path", "")
    ]
    assert access["message"] == f"GET /api/v1/journeys/{journey_id} 401"
    assert access["http_path"] == f"/api/v1/journeys/{journey_id}"
    assert access["http_status"] == 401
    assert access["journey_id"] == journey_id, "the journey in the request's path"
    assert len(access["trace_id"]) == 32, "the request's trace"
    assert "127.0.0.1" not in json.dumps(access), "no client address"
    assert "zq-link-sentinel" not in text
