"""Production reads no unencrypted payload, and does not break itself doing so.

Whoever reaches Temporal's port without the payload key could send a step in plain JSON; in
production the worker refuses it and the journey goes on (on the real dev server). Everything
the journey, its follow-up year and the retention schedule store is encrypted, so a whole
journey runs with the production codec; and the codec server refuses what the worker refuses.
The suite runs in development: production's converter is built here by name.
"""

import dataclasses
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import asyncpg
import httpx
import pytest
from google.protobuf.descriptor import FieldDescriptor
from google.protobuf.message import Message
from pydantic import SecretStr
from temporalio.api.common.v1 import Payload
from temporalio.api.enums.v1 import EventType
from temporalio.client import (
    Client,
    WorkflowFailureError,
    WorkflowHistory,
    WorkflowUpdateFailedError,
)
from temporalio.client import WorkflowExecutionStatus as Status
from temporalio.contrib.pydantic import pydantic_data_converter
from temporalio.exceptions import ApplicationError
from temporalio.testing import WorkflowEnvironment

from api.codec.routes import LEFT_ENCODED, NOTE
from api.codec.wire import WirePayloads, payloads_json
from audit.timeline import journey_histories
from devstack.temporal_server import installed_command
from domain.actors import Role
from domain.names import journey_workflow_id
from domain.privacy import RetentionSweepInput
from domain.stages import Stage, WaitingOn
from domain.steps import ReviewDecision, ReviewOutcome
from integrations.data_converter import build_data_converter
from integrations.payload_codec import (
    REFUSED_ENCODING,
    REFUSED_TYPE,
    PayloadEncryptionCodec,
    UnencryptedPayloadRefused,
    is_encrypted,
)
from integrations.payload_keys import parse_payload_keys
from integrations.temporal_client import connect_temporal, ensure_search_attributes
from privacy.retention import RETENTION_SCHEDULE_ID, ensure_retention_schedule
from settings import PRODUCTION_SECRETS, Settings
from tests.app_client import app_client
from tests.conftest import TEST_PAYLOAD_KEYS
from tests.helpers import PRODUCTION_READY, eventually
from tests.journey_rows import store_inquiry
from tests.journeys import REVIEWER, JourneyDriver, seed_staff
from tests.oidc_issuer import KeyServer
from worker import running_worker

DECISION = ReviewDecision(actor=REVIEWER, outcome=ReviewOutcome.APPROVE)
# A reviewer's approval as a client without the codec sends it: plain JSON, any actor it likes.
FORGED_REVIEW = {"actor": {"id": "forger", "role": "reviewer"}, "outcome": "approve"}
STRONG = {name: SecretStr("s" * 48) for name in PRODUCTION_SECRETS}


def _production(settings: Settings, **changes: Any) -> Settings:
    return settings.model_copy(update={"environment": "production"} | changes)


def _plain(value: object) -> Payload:
    return pydantic_data_converter.payload_converter.to_payload(value)


async def test_production_refuses_an_unencrypted_payload_and_names_no_content() -> None:
    production = build_data_converter(Settings(environment="production"))
    [encrypted] = await production.encode([DECISION])
    assert await production.decode([encrypted], [ReviewDecision]) == [DECISION]

    forged = _plain(FORGED_REVIEW)
    with pytest.raises(ApplicationError) as refused:
        await production.decode([forged], [ReviewDecision])
    assert refused.value.type == REFUSED_TYPE and refused.value.non_retryable
    assert "JOURNEYS_PAYLOAD_KEYS" in refused.value.message
    assert "forger" not in refused.value.message and "approve" not in refused.value.message

    codec = production.payload_codec
    assert isinstance(codec, PayloadEncryptionCodec)
    [stand_in] = await codec.decode([forged])
    assert stand_in.metadata["encoding"] == REFUSED_ENCODING and stand_in.data == b""
    assert b"forger" not in stand_in.SerializeToString(), "the content is dropped unread"
    with pytest.raises(UnencryptedPayloadRefused):
        codec.decrypt(forged)


async def test_development_and_replays_read_unencrypted_payloads() -> None:
    plain = _plain(DECISION.model_dump(mode="json"))
    development = build_data_converter(Settings(environment="development"))
    assert await development.decode([plain], [ReviewDecision]) == [DECISION]
    # Replays accept nothing into a journey: the committed corpus is unencrypted.
    replaying = build_data_converter(Settings(environment="production"), refuse_unencrypted=False)
    assert await replaying.decode([plain], [ReviewDecision]) == [DECISION]


def _events(history: WorkflowHistory, kind: "EventType.ValueType") -> int:
    return sum(1 for event in history.events if event.event_type == kind)


async def _projection(pool: asyncpg.Pool, journey_id: str) -> tuple[str, str, object]:
    row = await pool.fetchrow(
        "SELECT stage, waiting_on, updated_at FROM journeys WHERE journey_id = $1",
        uuid.UUID(journey_id),
    )
    assert row is not None
    return row["stage"], row["waiting_on"], row["updated_at"]


async def test_plain_steps_are_refused_in_production_and_the_journey_goes_on(
    dev_env: WorkflowEnvironment, settings: Settings, pool: asyncpg.Pool, mail_dir: Path
) -> None:
    target = dev_env.client.service_client.config.target_host
    production = _production(settings, temporal_address=target)
    client = await connect_temporal(production)
    await seed_staff(pool)
    # Whoever reaches the port without the key: a client of the SDK's own converter.
    forger = await Client.connect(target)
    async with running_worker(client, settings=production, pool=pool):
        journey = await JourneyDriver(
            WorkflowEnvironment.from_client(client), pool, production.task_queue, mail_dir
        ).start()
        await journey.reach(Stage.VALIDATION, WaitingOn.REVIEWER)
        await journey.idle()
        before = await _projection(pool, journey.journey_id)
        emails = journey.mail_kinds()
        forged = forger.get_workflow_handle(journey_workflow_id(journey.journey_id))

        with pytest.raises(WorkflowUpdateFailedError) as rejected:
            await forged.execute_update("review", FORGED_REVIEW)
        assert isinstance(rejected.value.cause, ApplicationError)
        assert rejected.value.cause.type == REFUSED_TYPE
        await forged.signal("review", FORGED_REVIEW)

        status = await journey.status()
        assert (status.stage, status.waiting_on) == (Stage.VALIDATION, WaitingOn.REVIEWER)
        await journey.idle()
        assert await _projection(pool, journey.journey_id) == before, "nothing recorded"
        assert journey.mail_kinds() == emails
        history = await journey.handle.fetch_history()
        assert _events(history, EventType.EVENT_TYPE_WORKFLOW_EXECUTION_UPDATE_ACCEPTED) == 0
        assert _events(history, EventType.EVENT_TYPE_WORKFLOW_EXECUTION_SIGNALED) == 1
        assert _events(history, EventType.EVENT_TYPE_WORKFLOW_TASK_FAILED) == 0, "never wedged"

        # The journey still takes the reviewer's real step, and goes on.
        await journey.approve()
        await journey.reach(Stage.TELECONSULT, WaitingOn.PATIENT)
        history = await journey.handle.fetch_history()
        assert _events(history, EventType.EVENT_TYPE_WORKFLOW_EXECUTION_UPDATE_ACCEPTED) == 1
        assert _events(history, EventType.EVENT_TYPE_WORKFLOW_TASK_FAILED) == 0

        # A journey started in plain JSON for an inquiry stored but not yet started fails at
        # once, having done nothing: no email, the inquiry not taken over.
        async with pool.acquire() as conn:
            stored = await store_inquiry(conn, email="other@example.org")
        started = await forger.start_workflow(
            "PatientJourney",
            {
                "journey_id": stored.journey_id,
                "patient_id": stored.patient_id,
                "inquiry_id": stored.inquiry_id,
            },
            id=journey_workflow_id(stored.journey_id),
            task_queue=production.task_queue,
        )
        failed = client.get_workflow_handle(started.id)
        with pytest.raises(WorkflowFailureError) as ended:
            await failed.result()
        assert isinstance(ended.value.cause, ApplicationError)
        assert ended.value.cause.type == REFUSED_TYPE
        assert (await failed.describe()).status == Status.FAILED
        recorded = await pool.fetchval(
            "SELECT recorded_at FROM inquiries WHERE inquiry_id = $1",
            uuid.UUID(stored.inquiry_id),
        )
        assert recorded is None
        assert not [m for m in journey.mail_kinds() if stored.journey_id in m]


def _paths(message: Message, prefix: str = "") -> Iterator[tuple[str, Payload]]:
    """Every payload inside `message` with the path of fields to it (map keys as `[*]`)."""
    for descriptor, value in message.ListFields():
        if descriptor.type != FieldDescriptor.TYPE_MESSAGE:
            continue
        path = f"{prefix}.{descriptor.name}" if prefix else descriptor.name
        entry = descriptor.message_type
        if entry is not None and entry.GetOptions().map_entry:
            if entry.fields_by_name["value"].type == FieldDescriptor.TYPE_MESSAGE:
                items = [(f"{path}[*]", item) for item in value.values()]
            else:
                items = []
        elif descriptor.is_repeated:
            items = [(f"{path}[]", item) for item in value]
        else:
            items = [(path, value)]
        for where, item in items:
            if isinstance(item, Payload):
                yield where, item
            else:
                yield from _paths(item, where)


def _unencrypted(histories: list[WorkflowHistory]) -> set[str]:
    """Where the histories hold payloads the codec did not encrypt, by event and field."""
    return {
        f"{EventType.Name(event.event_type)}: {path}"
        for history in histories
        for event in history.events
        for path, payload in _paths(event)
        if not is_encrypted(payload)
    }


# Payloads that never pass through a codec, so production's refuses none of them: search
# attributes (the server indexes them; the SDK neither encodes nor decodes them) and the
# details of `workflow.patched` markers, which the SDK's core writes and reads itself.
OUTSIDE_THE_CODEC = {
    "EVENT_TYPE_WORKFLOW_EXECUTION_STARTED: "
    "workflow_execution_started_event_attributes.search_attributes.indexed_fields[*]",
    "EVENT_TYPE_UPSERT_WORKFLOW_SEARCH_ATTRIBUTES: "
    "upsert_workflow_search_attributes_event_attributes.search_attributes.indexed_fields[*]",
    "EVENT_TYPE_MARKER_RECORDED: marker_recorded_event_attributes.details[*].payloads[]",
}


async def test_a_whole_journey_runs_with_the_production_codec(
    settings: Settings, pool: asyncpg.Pool, mail_dir: Path
) -> None:
    """From the form to the follow-up year's last consult: every payload the SDK stores
    (inputs, results, null ones included, activity and timer summaries, the follow-up's
    continued runs) went through the codec, and production's worker refused none of them."""
    path = installed_command("temporal-test-server")
    assert path, "temporal-test-server is missing: `make test` installs it"
    production = _production(settings)
    env = await WorkflowEnvironment.start_time_skipping(
        test_server_existing_path=path, data_converter=build_data_converter(production)
    )
    try:
        await ensure_search_attributes(env.client)
        await seed_staff(pool)
        async with running_worker(env.client, settings=production, pool=pool):
            j = await JourneyDriver(env, pool, production.task_queue, mail_dir).start()
            await j.book_and_treat()
            await j.follow_up_year()
            outcome = await j.result()
            histories = await journey_histories(env.client, j.journey_id)
    finally:
        await env.shutdown()
    assert outcome.stage is Stage.COMPLETED
    assert len(histories) > 2, "the journey, and the follow-up's runs"
    assert _unencrypted(histories) <= OUTSIDE_THE_CODEC
    for history in histories:
        assert _events(history, EventType.EVENT_TYPE_WORKFLOW_TASK_FAILED) == 0


async def test_the_retention_schedule_runs_with_the_production_codec(
    dev_env: WorkflowEnvironment, settings: Settings, pool: asyncpg.Pool
) -> None:
    """`journeys setup` creates the schedule, and updates it on every run after: the sweep
    it starts reads its input through the strict codec."""
    production = _production(
        settings, temporal_address=dev_env.client.service_client.config.target_host
    )
    client = await connect_temporal(production)
    for _ in range(2):
        await ensure_retention_schedule(client, task_queue=production.task_queue, retention_days=30)
    schedule = client.get_schedule_handle(RETENTION_SCHEDULE_ID)
    async with running_worker(client, settings=production, pool=pool):
        await schedule.trigger()

        async def sweep() -> Any:
            described = await schedule.describe()
            actions = described.info.recent_actions
            if not actions:
                return None
            return await client.get_workflow_handle(
                actions[-1].action.workflow_id  # type: ignore[attr-defined]
            ).describe()

        ran = await eventually(
            sweep, until=lambda d: d is not None and d.status == Status.COMPLETED, within=30
        )
        history = await client.get_workflow_handle(ran.id, run_id=ran.run_id).fetch_history()
    started = history.events[0].workflow_execution_started_event_attributes
    [given] = await client.data_converter.decode(started.input.payloads, [RetentionSweepInput])
    assert given.retention_days == 30
    assert _unencrypted([history]) <= OUTSIDE_THE_CODEC


@pytest.fixture
async def production_codec_server(settings: Settings, key_server: KeyServer) -> Any:
    production = _production(
        settings,
        temporal_tls=True,
        intake_sweep_seconds=0,
        **(PRODUCTION_READY | key_server.settings | STRONG),
    )
    async with app_client(production) as http:
        yield http, production


async def test_the_codec_server_refuses_what_production_refuses(
    production_codec_server: tuple[httpx.AsyncClient, Settings],
    pool: asyncpg.Pool,
    key_server: KeyServer,
) -> None:
    http, production = production_codec_server
    keys = parse_payload_keys(TEST_PAYLOAD_KEYS)
    [encrypted] = await dataclasses.replace(
        pydantic_data_converter, payload_codec=PayloadEncryptionCodec(keys)
    ).encode([DECISION])
    forged = _plain(FORGED_REVIEW)
    answer = await http.post(
        "/codec/decode",
        json=payloads_json([encrypted, forged]),
        headers={"Origin": production.ui_origin, "X-Namespace": "default"}
        | key_server.staff(Role.COORDINATOR),
    )
    assert answer.status_code == 200, answer.text
    decoded, refused = WirePayloads.model_validate(answer.json()).to_protos()
    assert decoded.metadata["encoding"] == b"json/plain" and b"approve" in decoded.data
    assert refused.metadata["encoding"] == REFUSED_ENCODING and refused.data == b""
    assert refused.metadata[NOTE].startswith(b"refused: not encrypted")
    assert answer.headers[LEFT_ENCODED] == "1"
    detail = await pool.fetchval(
        "SELECT detail FROM audit_log WHERE action = 'codec.decode' ORDER BY seq DESC LIMIT 1"
    )
    assert '"refused_unencrypted": 1' in detail
