"""Committed histories replay against today's workflow code.

`tests/histories/` holds the JSON histories of journeys taken to each of their ends, their
follow-up years, erasures and retention sweeps, stored unencrypted (no key is needed to replay
them). After a change to workflow code, record them again only for new shapes (old ones must
keep replaying, behind `workflow.patched`), labelled with the newest patch:

    JOURNEYS_RECORD_HISTORIES=1 JOURNEYS_HISTORY_LABEL=<newest-patch> \
        .venv/bin/pytest tests/test_replay.py -k record
"""

import ast
import base64
import json
import os
import uuid
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import asyncpg
import pytest
from temporalio import workflow
from temporalio.client import Client, WorkflowHistory
from temporalio.testing import WorkflowEnvironment
from temporalio.worker import Replayer

from audit.timeline import journey_histories
from domain.privacy import erasure_workflow_id
from domain.stages import Stage
from domain.steps import Withdrawal
from integrations.data_converter import build_data_converter, decode_history
from integrations.payload_codec import ENCODING
from integrations.worker_deployment import (
    PromotionRefused,
    promote,
    wait_until_current,
    worker_version,
)
from settings import Settings
from tests.faults import USER_UNKNOWN
from tests.helpers import eventually, valid_form
from tests.journey_paths import (
    FOLLOW_UP_CONSULTS_POLICY,
    REFUSED_DOMAIN,
    book_consult,
    book_follow_ups,
    change_dates,
    chase_a_partner,
    complete,
    erase_now,
    fall_behind_in_rehab,
    lose_contact,
    miss_two_consults,
    reject,
    relay_worker,
    resolve_refused_acknowledgement,
    sweep,
    withdraw_mid_travel,
)
from tests.journey_rows import store_inquiry
from tests.journeys import JourneyDriver, follow_up_year, seed_staff
from tests.phi_search import found_in, workflow_runs
from worker import running_worker
from workflows.follow_up import FollowUp
from workflows.journey import PatientJourney
from workflows.registry import WORKFLOWS, workflow_runner

ROOT = Path(__file__).resolve().parent.parent
CORPUS = Path(__file__).resolve().parent / "histories"
# The shapes the corpus holds: `<scenario>.<label>.<workflow>.json`, the label the newest
# patch of the code that recorded it (`initial` before the first).
SCENARIOS = (
    "happy-path",
    "rejection",
    "withdrawal-mid-travel",
    "lost-contact",
    "no-shows",
    "incident",
    "follow-up-incident",
    "rehab-follow-up",
    "erasure",
    "retention-sweep",
    "follow-up-consults",
    "travel-change",
    "partner-unconfirmed",
)
# The scenarios whose journeys keep another policy than the defaults.
POLICIES = {"follow-up-consults": FOLLOW_UP_CONSULTS_POLICY}
# Recorded on the dev server, whose Worker Deployments let a newer build become current.
VERSIONED_SCENARIOS = ("follow-up-moved",)
RECORDING = pytest.mark.skipif(
    os.environ.get("JOURNEYS_RECORD_HISTORIES") != "1",
    reason="records the corpus only when JOURNEYS_RECORD_HISTORIES=1",
)


def load_corpus() -> list[WorkflowHistory]:
    histories = []
    for path in sorted(CORPUS.glob("*.json")):
        data = json.loads(path.read_text())
        histories.append(WorkflowHistory.from_json(data["workflow_id"], data["history"]))
    return histories


def _started(history: WorkflowHistory) -> str:
    return history.events[0].workflow_execution_started_event_attributes.workflow_type.name


async def test_committed_histories_replay() -> None:
    names = {p.name.split(".")[0] for p in CORPUS.glob("*.json")}
    wanted = {*SCENARIOS, *VERSIONED_SCENARIOS}
    assert wanted <= names, f"corpus lacks {wanted - names}"
    # The project's converter, codec included: the corpus is stored unencrypted, and
    # payloads without the codec's marker pass through it unchanged.
    replayer = Replayer(
        workflows=WORKFLOWS,
        data_converter=build_data_converter(Settings()),
        workflow_runner=workflow_runner(reimport_workflows=True),
    )
    histories = load_corpus()

    async def corpus() -> AsyncIterator[WorkflowHistory]:
        for history in histories:
            yield history

    results = await replayer.replay_workflows(corpus(), raise_on_replay_failure=False)
    assert {run_id: str(err) for run_id, err in results.replay_failures.items()} == {}
    types = {workflow._Definition.must_from_class(w).name for w in WORKFLOWS}
    assert {_started(h) for h in histories} == types, "every workflow type is in the corpus"


def patch_ids() -> set[str]:
    """Every patch id `workflow.patched` is given in workflows/, as a literal or a module
    constant."""
    found: set[str] = set()
    for path in sorted((ROOT / "workflows").rglob("*.py")):
        tree = ast.parse(path.read_text(), str(path))
        constants = {
            target.id: node.value.value
            for node in tree.body
            if isinstance(node, ast.Assign)
            and isinstance(node.value, ast.Constant)
            and isinstance(node.value.value, str)
            for target in node.targets
            if isinstance(target, ast.Name)
        }
        for node in ast.walk(tree):
            if (
                isinstance(node, ast.Call)
                and isinstance(node.func, ast.Attribute)
                and node.func.attr == "patched"
            ):
                [arg] = node.args
                if isinstance(arg, ast.Constant) and isinstance(arg.value, str):
                    found.add(arg.value)
                else:
                    assert isinstance(arg, ast.Name) and arg.id in constants, (
                        f"{path.name}:{node.lineno}: a patch id this test cannot read"
                    )
                    found.add(constants[arg.id])
    return found


def _patches_taken(events: list[dict[str, Any]]) -> set[str]:
    """The patch ids whose markers the events (a history's JSON) hold."""
    taken = set()
    for event in events:
        marker = event.get("markerRecordedEventAttributes", {})
        if marker.get("markerName") == "core_patch":
            for payload in marker["details"]["patch-data"]["payloads"]:
                taken.add(json.loads(base64.b64decode(payload["data"]))["id"])
    return taken


def test_the_corpus_takes_every_patch_and_needs_no_key() -> None:
    files = {path.name: path.read_text() for path in sorted(CORPUS.glob("*.json"))}
    taken = set().union(
        *(_patches_taken(json.loads(text)["history"]["events"]) for text in files.values())
    )
    patches = patch_ids()
    assert {"answer-after-move", "incidents", "move-to-current-build"} <= patches
    assert patches <= taken, f"no history in the corpus takes {patches - taken}: record one"
    # Payload metadata is base64 in the JSON: the codec's marker, as it would be written.
    marker = json.dumps(base64.b64encode(ENCODING).decode())
    encrypted = [name for name, text in files.items() if marker in text]
    assert not encrypted, f"the corpus is stored unencrypted, these are not: {encrypted}"


# -- recording ---------------------------------------------------------------------------


def _label() -> str:
    return os.environ.get("JOURNEYS_HISTORY_LABEL", "current")


async def _write(client: Client, scenario: str, runs: list[tuple[str, WorkflowHistory]]) -> None:
    """The runs decoded (the corpus needs no key), each in `<scenario>.<label>.<name>.json`;
    older shapes stay, and a file of the same label is replaced."""
    label = _label()
    CORPUS.mkdir(exist_ok=True)
    for old in CORPUS.glob(f"{scenario}.{label}.*.json"):
        old.unlink()
    form = valid_form()
    private = [form[k] for k in ("full_name", "email", "phone", "medical_history")]
    for name, history in runs:
        plain = await decode_history(history, client.data_converter)
        text = plain.to_json()
        assert not found_in(text, private), f"{name} holds the patient's data"
        (CORPUS / f"{scenario}.{label}.{name}.json").write_text(
            json.dumps({"workflow_id": plain.workflow_id, "history": json.loads(text)}, indent=1)
        )


async def _journey_runs(client: Client, journey_id: str) -> list[tuple[str, WorkflowHistory]]:
    return [
        ("journey" if n == 0 else f"follow-up-{n}", history)
        for n, history in enumerate(await journey_histories(client, journey_id))
    ]


@RECORDING
@pytest.mark.parametrize("scenario", SCENARIOS)
async def test_record_histories(
    scenario: str,
    temporal_env: WorkflowEnvironment,
    pool: asyncpg.Pool,
    settings: Settings,
    tmp_path: Path,
) -> None:
    await seed_staff(pool)
    client = temporal_env.client
    async with relay_worker(client, settings, pool, tmp_path / "mail") as relay:
        j = JourneyDriver(
            temporal_env, pool, settings.task_queue, relay.directory, POLICIES.get(scenario)
        )
        if scenario == "incident":
            relay.refuse(REFUSED_DOMAIN, USER_UNKNOWN)
            await j.start(email=f"ana.garcia@{REFUSED_DOMAIN}")
        else:
            await j.start()
        others: list[tuple[str, WorkflowHistory]] = []
        if scenario == "happy-path":
            await complete(j)
        elif scenario == "rejection":
            await reject(j)
        elif scenario == "withdrawal-mid-travel":
            await withdraw_mid_travel(j)
        elif scenario == "lost-contact":
            await lose_contact(j)
        elif scenario == "no-shows":
            await miss_two_consults(j)
        elif scenario == "incident":
            await resolve_refused_acknowledgement(j, corrected_email="ana.garcia@example.org")
        elif scenario == "travel-change":
            await change_dates(j)
        elif scenario == "partner-unconfirmed":
            await chase_a_partner(j)
        elif scenario == "follow-up-incident":
            await complete(j, refused_in_follow_up=relay)
        elif scenario == "rehab-follow-up":
            await fall_behind_in_rehab(j)
        elif scenario == "erasure":
            await book_consult(j)
            await erase_now(j, client, reason="the patient's request by letter")
            [erasure] = await workflow_runs(client, erasure_workflow_id(j.journey_id))
            others.append(("erasure", erasure))
        elif scenario == "follow-up-consults":
            await book_follow_ups(j, relay)
        elif scenario == "retention-sweep":
            await j.reach(Stage.VALIDATION)
            await j.handle.execute_update(PatientJourney.withdraw, Withdrawal(actor=j.patient))
            assert (await j.result()).stage is Stage.WITHDRAWN
            sweep_id, erased = await sweep(temporal_env, settings.task_queue)
            assert erased == [j.journey_id]
            [swept] = await workflow_runs(client, sweep_id)
            others.append(("sweep", swept))
        else:
            raise AssertionError(f"no path for {scenario}")
        await _write(client, scenario, [*await _journey_runs(client, j.journey_id), *others])


@RECORDING
async def test_record_a_follow_up_year_moving_to_the_current_build(
    dev_env: WorkflowEnvironment, pool: asyncpg.Pool, settings: Settings, mail_dir: Path
) -> None:
    """A follow-up year pinned to build 1 learns that build 2 is current and continues as
    new on it (patch `move-to-current-build`): the run that moved is recorded."""
    client = dev_env.client
    await seed_staff(pool)
    live = settings.model_copy(
        update={
            "temporal_address": client.service_client.config.target_host,
            "task_queue": f"moved-{uuid.uuid4().hex[:8]}",
        }
    )
    build1 = live.model_copy(update={"worker_build_id": "corpus-1"})
    build2 = live.model_copy(update={"worker_build_id": "corpus-2"})
    async with running_worker(client, settings=build1, pool=pool):
        assert await wait_until_current(client, worker_version(build1), within=30)
        async with pool.acquire() as conn:
            stored = await store_inquiry(conn)
        year = await follow_up_year(client, stored.journey_id, live.task_queue)
        first_run = year.result_run_id or ""
        async with running_worker(client, settings=build2, pool=pool):

            async def promoted() -> bool:
                try:
                    await promote(client, worker_version(build2), identity="corpus")
                except PromotionRefused:
                    return False
                return await wait_until_current(client, worker_version(build2), within=5)

            await eventually(promoted, within=60, what="build 2 current")

            async def moved() -> str:
                await client.get_workflow_handle(year.id).signal(FollowUp.look_for_new_build)
                return (await client.get_workflow_handle(year.id).describe()).run_id or ""

            await eventually(moved, until=lambda run: run != first_run, within=60, what="moved")
            history = await client.get_workflow_handle(year.id, run_id=first_run).fetch_history()
    assert "move-to-current-build" in _patches_taken(json.loads(history.to_json())["events"])
    await _write(client, "follow-up-moved", [("follow-up-1", history)])
