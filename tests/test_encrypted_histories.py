"""What Temporal stores of a journey is encrypted: coded decisions and failure messages alike.

A journey whose acknowledgement is refused by the mail server (an activity failure, then an
incident a coordinator retries) and whose reviewer then rejects it for a contraindication:
no raw event holds the decision or the failure's message, while the same events decoded by
the project's converter do, and the auditors' readers (timeline, replay) still read them.
"""

import asyncio
import json
import os
import subprocess
from pathlib import Path

import asyncpg
from temporalio.api.enums.v1 import EventType
from temporalio.client import WorkflowHistory
from temporalio.testing import WorkflowEnvironment

from audit.timeline import EVERYTHING, journey_histories, timeline_for
from domain.incidents import IncidentAction
from domain.stages import Stage
from domain.steps import IncidentResolution, RejectionReason
from integrations.data_converter import decode_history
from integrations.payload_codec import ENCODING, KEY_ID_METADATA
from integrations.payload_keys import new_payload_key_entry
from settings import Settings
from tests.faults import USER_UNKNOWN, RefusingMailbox
from tests.helpers import eventually, journeys_command
from tests.journeys import COORDINATOR, JourneyDriver, seed_staff
from tests.phi_search import assert_not_stored_in_clear
from workflows.journey import PatientJourney

ROOT = Path(__file__).resolve().parent.parent
FAILURE_MESSAGE = "recipient refused by the mail server"
# The JSON the decision and the failure would show in clear; long enough that random
# ciphertext cannot hold them by chance.
DECISION_TEXT = ['"reject"', "contraindication", FAILURE_MESSAGE]


async def _rejected_after_a_failure(
    env: WorkflowEnvironment, pool: asyncpg.Pool, settings: Settings, relay: RefusingMailbox
) -> JourneyDriver:
    await seed_staff(pool)
    relay.refuse("refused.example", USER_UNKNOWN)
    j = JourneyDriver(env, pool, settings.task_queue, relay.directory)
    await j.start(email="sentinel@refused.example")
    await eventually(j.status, until=lambda s: s.incident is not None, what="the incident")
    relay.allow("refused.example")
    await j.handle.execute_update(
        PatientJourney.resolve_incident,
        IncidentResolution(actor=COORDINATOR, action=IncidentAction.RETRY, incident_number=1),
    )
    await j.reject(RejectionReason.CONTRAINDICATION)
    assert (await j.result()).stage is Stage.NOT_ELIGIBLE
    return j


def _text(histories: list[WorkflowHistory]) -> bytes:
    return b"".join(e.SerializeToString() for h in histories for e in h.events)


async def test_no_decision_or_failure_message_is_stored_in_clear(
    temporal_env: WorkflowEnvironment,
    pool: asyncpg.Pool,
    settings: Settings,
    relay: RefusingMailbox,
    tmp_path: Path,
) -> None:
    j = await _rejected_after_a_failure(temporal_env, pool, settings, relay)
    client = temporal_env.client
    raw = await journey_histories(client, j.journey_id)

    # Every event, the run's description and its pending activities, byte for byte.
    await assert_not_stored_in_clear(client, j.journey_id, DECISION_TEXT)
    events = raw[0].events
    [review] = [
        e
        for e in events
        if e.event_type == EventType.EVENT_TYPE_WORKFLOW_EXECUTION_UPDATE_ACCEPTED
        and e.workflow_execution_update_accepted_event_attributes.accepted_request.input.name
        == "review"
    ]
    [step] = (
        review.workflow_execution_update_accepted_event_attributes.accepted_request.input.args.payloads
    )
    assert step.metadata["encoding"] == ENCODING
    assert step.metadata[KEY_ID_METADATA] == b"test-2026"
    [failed] = [e for e in events if e.event_type == EventType.EVENT_TYPE_ACTIVITY_TASK_FAILED]
    failure = failed.activity_task_failed_event_attributes.failure
    assert (failure.message, failure.stack_trace) == ("Encoded failure", "")
    assert failure.encoded_attributes.metadata["encoding"] == ENCODING
    assert failure.application_failure_info.type == "MailRejected", "codes stay readable"

    # The test could fail: the same events, decoded, hold every one of those texts.
    decoded = [await decode_history(h, client.data_converter) for h in raw]
    for text in DECISION_TEXT:
        assert text.encode() in _text(decoded), text

    # The timeline decodes: it names the decision to those who see it ...
    entries = await timeline_for(client, j.journey_id, disclosure=EVERYTHING)
    steps = [e.what for e in entries if e.kind == "step"]
    assert "review: reject" in steps

    # ... and `journeys replay` replays the encrypted histories as exported, with the key.
    for n, history in enumerate(raw):
        body = {"workflow_id": history.workflow_id, "history": history.to_json_dict()}
        (tmp_path / f"run-{n}.json").write_text(json.dumps(body))
    replayed = await asyncio.to_thread(_replay, tmp_path)
    assert replayed.returncode == 0, replayed.stdout + replayed.stderr
    report = json.loads(replayed.stdout)
    assert report["passed"] == report["replayed"] == len(raw)

    # Without it, each run fails naming the key it lacks, and never a decision.
    other = await asyncio.to_thread(_replay, tmp_path, new_payload_key_entry("elsewhere"))
    assert other.returncode == 1, other.stdout + other.stderr
    failures = json.loads(other.stdout)["results"]
    assert failures and not any(r["ok"] for r in failures)
    for result in failures:
        assert "key id 'test-2026'" in result["error"], result["error"]
    for text in DECISION_TEXT:
        assert text not in other.stdout + other.stderr


def _replay(folder: Path, keys: str | None = None) -> subprocess.CompletedProcess[str]:
    env = dict(os.environ)
    if keys is not None:
        env["JOURNEYS_PAYLOAD_KEYS"] = keys
    return journeys_command("replay", "--path", str(folder), "--json", env=env)


def test_the_committed_corpus_replays_in_a_shell_without_keys() -> None:
    """Recorded before encryption, it needs no key: an auditor's shell in production (the
    default environment) with no JOURNEYS_PAYLOAD_KEYS replays it."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("JOURNEYS_")}
    done = journeys_command("replay", "--path", str(ROOT / "tests" / "histories"), env=env)
    assert done.returncode == 0, done.stdout + done.stderr
    assert done.stdout.splitlines()[-1].endswith(" passed, 0 failed")
