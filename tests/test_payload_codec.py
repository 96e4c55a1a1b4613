"""The payload codec: AES-256-GCM round trips, key rotation, and refusals that name the key."""

import base64
import json

import pytest
from pydantic import SecretStr
from temporalio.api.common.v1 import Payload
from temporalio.api.failure.v1 import Failure
from temporalio.client import WorkflowHistory
from temporalio.exceptions import ApplicationError

from domain.actors import Actor, Role
from domain.steps import RejectionReason, ReviewDecision, ReviewOutcome
from integrations.data_converter import build_data_converter, decode_history
from integrations.payload_codec import (
    ENCODING,
    KEY_ID_METADATA,
    PayloadAuthenticationFailed,
    PayloadEncryptionCodec,
    UnknownPayloadKey,
)
from integrations.payload_keys import PayloadKey, PayloadKeyError, parse_payload_keys
from settings import Settings
from tests.test_replay import load_corpus

DECISION = ReviewDecision(
    actor=Actor(id="rev-1", role=Role.REVIEWER),
    outcome=ReviewOutcome.REJECT,
    reason=RejectionReason.CONTRAINDICATION,
)
PLAINTEXT = b"contraindication"


def _key(key_id: str, fill: int) -> PayloadKey:
    return PayloadKey(key_id=key_id, secret=bytes([fill]) * 32)


def _entry(key: PayloadKey) -> str:
    return f"{key.key_id}:{base64.b64encode(key.secret).decode()}"


OLD, NEW, OTHER = _key("k2025", 1), _key("k2026", 2), _key("k-other", 3)


def _settings(*keys: PayloadKey) -> Settings:
    return Settings(payload_keys=SecretStr(",".join(_entry(k) for k in keys)))


async def _encoded(*keys: PayloadKey) -> Payload:
    [payload] = await build_data_converter(_settings(*keys)).encode([DECISION])
    return payload


async def test_a_decision_round_trips_and_is_stored_unreadable() -> None:
    converter = build_data_converter(_settings(NEW))
    [stored] = await converter.encode([DECISION])

    assert stored.metadata["encoding"] == ENCODING
    assert stored.metadata[KEY_ID_METADATA] == b"k2026"
    assert set(stored.metadata) == {"encoding", KEY_ID_METADATA}, "nothing else in clear"
    for clear in (PLAINTEXT, b"reject", b"rev-1", b"json/plain"):
        assert clear not in stored.SerializeToString()
    [decoded] = await converter.decode([stored], [ReviewDecision])
    assert decoded == DECISION
    # The same value twice gives two ciphertexts (a fresh nonce each), so equal decisions
    # cannot be told apart by their stored bytes.
    [again] = await converter.encode([DECISION])
    assert again.data != stored.data


async def test_rotation_keeps_old_payloads_readable_and_encrypts_under_the_new_key() -> None:
    before = await _encoded(OLD)
    assert before.metadata[KEY_ID_METADATA] == b"k2025"

    rotated = build_data_converter(_settings(NEW, OLD))
    [decoded] = await rotated.decode([before], [ReviewDecision])
    assert decoded == DECISION
    [after] = await rotated.encode([DECISION])
    assert after.metadata[KEY_ID_METADATA] == b"k2026"

    # A process still holding only the old key names the new one it lacks.
    with pytest.raises(UnknownPayloadKey, match="'k2026'") as unknown:
        await build_data_converter(_settings(OLD)).decode([after], [ReviewDecision])
    assert unknown.value.key_id == "k2026"


async def test_an_unknown_key_is_named_and_the_content_is_not() -> None:
    stored = await _encoded(OTHER)
    with pytest.raises(UnknownPayloadKey) as unknown:
        await build_data_converter(_settings(NEW, OLD)).decode([stored], [ReviewDecision])
    message = str(unknown.value)
    assert "'k-other'" in message and "JOURNEYS_PAYLOAD_KEYS" in message
    assert "known: 'k2026', 'k2025'" in message
    assert "contraindication" not in message and "reject" not in message


async def test_tampered_ciphertext_and_a_relabelled_key_fail_authentication() -> None:
    converter = build_data_converter(_settings(NEW, OLD))
    stored = await _encoded(NEW)

    flipped = Payload()
    flipped.CopyFrom(stored)
    flipped.data = stored.data[:20] + bytes([stored.data[20] ^ 1]) + stored.data[21:]
    with pytest.raises(PayloadAuthenticationFailed, match="'k2026'") as refused:
        await converter.decode([flipped], [ReviewDecision])
    assert "contraindication" not in str(refused.value)

    # The key id is bound into the ciphertext: naming another held key does not decode it.
    relabelled = Payload()
    relabelled.CopyFrom(stored)
    relabelled.metadata[KEY_ID_METADATA] = b"k2025"
    with pytest.raises(PayloadAuthenticationFailed, match="'k2025'"):
        await converter.decode([relabelled], [ReviewDecision])

    truncated = Payload()
    truncated.CopyFrom(stored)
    truncated.data = stored.data[:10]
    with pytest.raises(PayloadAuthenticationFailed):
        await converter.decode([truncated], [ReviewDecision])


async def test_unencrypted_payloads_decode_unchanged() -> None:
    plain = Payload(metadata={"encoding": b"json/plain"}, data=DECISION.model_dump_json().encode())
    codec = PayloadEncryptionCodec([NEW])
    assert await codec.decode([plain]) == [plain]
    [decoded] = await build_data_converter(_settings(NEW)).decode([plain], [ReviewDecision])
    assert decoded == DECISION


async def test_without_keys_development_stores_plaintext_and_production_refuses() -> None:
    development = build_data_converter(Settings(environment="development", payload_keys=None))
    [plain] = await development.encode([DECISION])
    assert plain.metadata["encoding"] == b"json/plain"

    production = build_data_converter(Settings(environment="production", payload_keys=None))
    with pytest.raises(PayloadKeyError, match="JOURNEYS_PAYLOAD_KEYS is unset"):
        await production.encode([DECISION])
    # Production reads nothing unencrypted (tests/test_strict_codec.py); replays do, for the
    # committed corpus in an auditor's shell.
    with pytest.raises(ApplicationError, match="unencrypted"):
        await production.decode([plain], [ReviewDecision])
    replaying = build_data_converter(
        Settings(environment="production", payload_keys=None), refuse_unencrypted=False
    )
    [decoded] = await replaying.decode([plain], [ReviewDecision])
    assert decoded == DECISION
    with pytest.raises(UnknownPayloadKey, match="JOURNEYS_PAYLOAD_KEYS is unset"):
        await production.decode([await _encoded(NEW)], [ReviewDecision])


async def test_failure_messages_and_stack_traces_are_encrypted_too() -> None:
    converter = build_data_converter(_settings(NEW))
    try:
        raise ApplicationError("SENTINEL-FAILURE contraindication", type="Example")
    except ApplicationError as err:
        failure = Failure()
        await converter.encode_failure(err, failure)
    stored = failure.SerializeToString()
    assert b"SENTINEL-FAILURE" not in stored and b"test_payload_codec" not in stored
    assert failure.message == "Encoded failure"
    assert failure.application_failure_info.type == "Example", "the type stays a readable code"
    decoded = await converter.decode_failure(failure)
    assert isinstance(decoded, ApplicationError)
    assert decoded.message == "SENTINEL-FAILURE contraindication"


async def test_a_history_is_decoded_in_a_copy() -> None:
    # The committed corpus holds plain payloads; encrypted here event by event, then decoded.
    [history] = [h for h in load_corpus() if h.workflow_id.startswith("journey-")][:1]
    codec = PayloadEncryptionCodec([NEW])
    events = []
    for event in history.events:
        copy = type(event)()
        copy.CopyFrom(event)
        if copy.HasField("activity_task_scheduled_event_attributes"):
            payloads = copy.activity_task_scheduled_event_attributes.input
            await codec.encode_wrapper(payloads)
        events.append(copy)
    encrypted = WorkflowHistory(history.workflow_id, events)
    scheduled = [
        e for e in encrypted.events if e.HasField("activity_task_scheduled_event_attributes")
    ]
    assert scheduled and all(
        p.metadata["encoding"] == ENCODING
        for e in scheduled
        for p in e.activity_task_scheduled_event_attributes.input.payloads
    )

    before = [type(e)() for e in encrypted.events]
    for snapshot, event in zip(before, encrypted.events, strict=True):
        snapshot.CopyFrom(event)
    decoded = await decode_history(encrypted, build_data_converter(_settings(NEW)))
    assert list(decoded.events) == list(history.events)
    assert list(encrypted.events) == before, "the history given stays as the server holds it"
    first = decoded.events[0].workflow_execution_started_event_attributes.input.payloads[0]
    assert "journey_id" in json.loads(first.data)


def test_the_test_suite_runs_on_its_fixed_key() -> None:
    (key,) = parse_payload_keys(Settings().payload_keys.get_secret_value())  # type: ignore[union-attr]
    assert key.key_id == "test-2026"
