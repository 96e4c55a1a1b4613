"""Worker Versioning: the build id, the worker's deployment version, and a rollout on the real
Temporal dev server that journeys and a follow-up year survive (docs/changing-workflow-code.md).
"""

import asyncio
import contextlib
import json
import os
import shutil
import uuid
from collections.abc import AsyncIterator, Sequence
from decimal import Decimal
from pathlib import Path

import asyncpg
import pytest
from pydantic import ValidationError
from temporalio import workflow
from temporalio.api.enums.v1 import EventType
from temporalio.api.enums.v1 import VersioningBehavior as Behavior
from temporalio.client import Client, WorkflowHandle, WorkflowHistory
from temporalio.common import VersioningBehavior
from temporalio.testing import WorkflowEnvironment
from temporalio.worker import Replayer

from audit.timeline import continued_runs
from db.clinical import ClinicalRepository
from db.intake import StoredInquiry
from devstack.temporal_server import installed_command
from domain.actors import Actor, Role
from domain.names import SEARCH_ATTRIBUTES
from domain.stages import Stage, WaitingOn
from domain.steps import (
    RehabCheckin,
    RejectionReason,
    ReviewDecision,
    ReviewOutcome,
    Withdrawal,
)
from integrations.data_converter import build_data_converter
from integrations.worker_deployment import (
    WORKFLOW_PACKAGES,
    build_id,
    describe_deployment,
    installed_build_id,
    package_roots,
    settle_routing,
    wait_until_current,
    worker_version,
    workflow_code_digest,
)
from settings import Settings
from tests.helpers import eventually, journeys_command
from tests.journey_rows import store_inquiry
from tests.journeys import COORDINATOR, REVIEWER, JourneyDriver, follow_up_year, seed_staff
from tests.next_build import CLOSING_MEMO, NextPatientJourney
from tests.test_replay import load_corpus
from worker import deployment_config, running_worker
from workflows.follow_up import MOVE_TO_CURRENT_BUILD, FollowUp
from workflows.journey import PatientJourney
from workflows.registry import WORKFLOWS, workflow_runner

# The next build: the project's workflows with the journey changed behind a patch.
NEXT_WORKFLOWS = [NextPatientJourney if w is PatientJourney else w for w in WORKFLOWS]
_E = EventType


# -- without servers -------------------------------------------------------------------


def test_every_workflow_type_declares_how_it_moves_between_builds() -> None:
    behaviors = {
        defn.name: defn.versioning_behavior
        for defn in (workflow._Definition.must_from_class(w) for w in WORKFLOWS)
    }
    assert behaviors == {
        "PatientJourney": VersioningBehavior.AUTO_UPGRADE,
        "FollowUp": VersioningBehavior.PINNED,
        "JourneyErasure": VersioningBehavior.PINNED,
        "RetentionSweep": VersioningBehavior.PINNED,
    }


def test_the_worker_polls_as_the_version_the_settings_name() -> None:
    config = deployment_config(
        Settings(worker_deployment_name="journeys-eu", worker_build_id="2026.12.1")
    )
    assert config.use_worker_versioning
    assert config.version.to_canonical_string() == "journeys-eu.2026.12.1"
    assert config.default_versioning_behavior is VersioningBehavior.UNSPECIFIED
    assert build_id(Settings()) == installed_build_id()


@pytest.mark.parametrize(
    "field,value",
    [("worker_deployment_name", "patient.journeys"), ("worker_build_id", "build 7")],
)
def test_a_name_temporal_cannot_take_is_refused(field: str, value: str) -> None:
    with pytest.raises(ValidationError, match=field):
        Settings.model_validate({field: value})


def test_the_build_id_changes_with_the_workflow_code_alone(tmp_path: Path) -> None:
    for name, root in package_roots(WORKFLOW_PACKAGES):
        shutil.copytree(root, tmp_path / name, ignore=shutil.ignore_patterns("__pycache__"))
    roots = [(name, tmp_path / name) for name in WORKFLOW_PACKAGES]
    before = workflow_code_digest(roots)
    assert installed_build_id().endswith(f"-{before}"), "the copy digests as installed"
    (tmp_path / "workflows" / "__pycache__").mkdir(exist_ok=True)
    (tmp_path / "workflows" / "notes.txt").write_text("not code")
    assert workflow_code_digest(roots) == before
    rules = tmp_path / "workflows" / "rules.py"
    rules.write_text(rules.read_text() + "\n# a comment is a change of source too\n")
    assert workflow_code_digest(roots) != before


# -- a rollout on the dev server ---------------------------------------------------------


@pytest.fixture
async def versioned_env() -> AsyncIterator[WorkflowEnvironment]:
    """The dev server, checking every second which versions still have pinned runs open
    (three minutes by default), so the test sees the old build drain."""
    path = installed_command("temporal")
    assert path, "the temporal CLI is missing: `make test` installs it"
    attributes = [
        arg
        for name, kind in SEARCH_ATTRIBUTES.items()
        for arg in ("--search-attribute", f"{name}={kind}")
    ]
    drainage = [
        "--dynamic-config-value",
        'matching.wv.VersionDrainageStatusRefreshInterval="1s"',
        "--dynamic-config-value",
        'matching.wv.VersionDrainageStatusVisibilityGracePeriod="1s"',
    ]
    env = await WorkflowEnvironment.start_local(
        dev_server_existing_path=path,
        data_converter=build_data_converter(Settings()),
        dev_server_extra_args=[*attributes, *drainage],
    )
    yield env
    await env.shutdown()


async def _stored_journey(pool: asyncpg.Pool) -> StoredInquiry:
    async with pool.acquire() as conn:
        return await store_inquiry(conn)


def _task_builds(history: WorkflowHistory) -> list[str]:
    """The build of the worker that completed each workflow task, in order."""
    return [
        event.workflow_task_completed_event_attributes.deployment_version.build_id
        for event in history.events
        if event.event_type == _E.EVENT_TYPE_WORKFLOW_TASK_COMPLETED
    ]


def _moved_once(builds: Sequence[str], old: str, new: str) -> bool:
    """Some tasks on `old`, then only `new`: the run never went back."""
    if old not in builds or new not in builds:
        return False
    first_new = builds.index(new)
    return set(builds[:first_new]) == {old} and set(builds[first_new:]) == {new}


def _patch_markers(history: WorkflowHistory, patch_id: str) -> int:
    return sum(
        1
        for event in history.events
        if event.event_type == _E.EVENT_TYPE_MARKER_RECORDED
        and patch_id.encode() in event.SerializeToString()
    )


async def _on(handle: WorkflowHandle, build: str) -> tuple[str, int]:
    """The run the handle's workflow is at, once the server has it on `build`."""
    described = await eventually(
        handle.describe,
        until=lambda d: (
            d.raw_description.workflow_execution_info.versioning_info.deployment_version.build_id
            == build
        ),
        within=30,
        what=f"{handle.id} on {build}",
    )
    info = described.raw_description.workflow_execution_info.versioning_info
    return described.run_id or "", info.behavior


async def _replay(workflows: Sequence[type], histories: Sequence[WorkflowHistory]) -> list[str]:
    """The ids of the runs that do not replay against `workflows`."""
    replayer = Replayer(
        workflows=workflows,
        data_converter=build_data_converter(Settings()),
        workflow_runner=workflow_runner(reimport_workflows=True),
    )

    async def each() -> AsyncIterator[WorkflowHistory]:
        for history in histories:
            yield history

    results = await replayer.replay_workflows(each(), raise_on_replay_failure=False)
    return sorted(results.replay_failures)


@pytest.mark.e2e
async def test_a_rollout_that_journeys_and_a_follow_up_year_survive(
    versioned_env: WorkflowEnvironment,
    pool: asyncpg.Pool,
    settings: Settings,
    mail_dir: Path,
) -> None:
    env = versioned_env
    client: Client = env.client
    await seed_staff(pool)
    task_queue = f"rollout-{uuid.uuid4().hex[:8]}"
    target = client.service_client.config.target_host
    live = settings.model_copy(update={"temporal_address": target, "task_queue": task_queue})
    build1 = live.model_copy(update={"worker_build_id": "build-1"})
    build2 = live.model_copy(update={"worker_build_id": "build-2"})
    cli_env = os.environ | {"JOURNEYS_TEMPORAL_ADDRESS": target, "JOURNEYS_TASK_QUEUE": task_queue}

    # Build 1's worker stops in the middle of the block, once nothing is pinned to it.
    old = contextlib.AsyncExitStack()
    async with old:
        # Build 1 on a fresh deployment: its worker makes itself current at its first start.
        await old.enter_async_context(running_worker(client, settings=build1, pool=pool))
        assert await wait_until_current(client, worker_version(build1), within=30)

        at_validation = await JourneyDriver(env, pool, task_queue, mail_dir).start()
        at_teleconsult = await JourneyDriver(env, pool, task_queue, mail_dir).start()
        await at_validation.reach(Stage.VALIDATION, WaitingOn.REVIEWER)
        await at_teleconsult.approve()
        await at_teleconsult.reach(Stage.TELECONSULT, WaitingOn.PATIENT)
        # A journey cannot reach its follow-up year here: the visit is a day ahead at the
        # soonest and the dev server does not skip time. So the year starts as the journey
        # starts it at discharge (workflows/stages/treatment.py), on a journey's records;
        # like every new workflow, and like a child of an upgrading journey, it starts on the
        # current build.
        year_of = await _stored_journey(pool)
        year = await follow_up_year(client, year_of.journey_id, task_queue)
        first_year_run = year.result_run_id or ""
        async with pool.acquire() as conn:
            checkin = await ClinicalRepository(conn).add_rehab_checkin(
                journey_id=year_of.journey_id,
                week=1,
                walking_hours_per_day=Decimal("6"),
                days_per_week=6,
            )
        await year.execute_update(
            FollowUp.rehab_checkin,
            RehabCheckin(
                actor=Actor(id=year_of.patient_id, role=Role.PATIENT), week=1, checkin_id=checkin
            ),
        )
        for handle in (at_validation.handle, at_teleconsult.handle):
            assert (await _on(handle, "build-1"))[1] == Behavior.VERSIONING_BEHAVIOR_AUTO_UPGRADE
        assert await _on(year, "build-1") == (first_year_run, Behavior.VERSIONING_BEHAVIOR_PINNED)

        async with running_worker(client, settings=build2, pool=pool, workflows=NEXT_WORKFLOWS):
            # A later build does not take over by itself: someone promotes it.
            waiting = await settle_routing(client, worker_version(build2), "first", identity="test")
            assert not waiting.current
            assert "journeys deployment promote build-2" in waiting.detail
            promoted = await asyncio.to_thread(
                journeys_command, "deployment", "promote", "build-2", env=cli_env
            )
            assert promoted.returncode == 0, promoted.stderr
            assert "build-2 is now the current version of patient-journeys (was build-1)" in (
                promoted.stdout
            )

            state = await describe_deployment(client, "patient-journeys")
            assert state is not None
            assert {v.build_id: v.status for v in state.versions} == {
                "build-1": "draining",
                "build-2": "current",
            }, "build 1 still runs a pinned year"

            # The pinned year stays on build 1: its next calendar event is days away, and
            # the server tells a run of a newer build in the tasks of timers, activities and
            # signals. `drain` signals it; it then continues as new, the new run on build 2.
            drains: list[str] = []

            async def drained() -> str:
                done = await asyncio.to_thread(
                    journeys_command, "deployment", "drain", "build-1", env=cli_env
                )
                assert done.returncode == 0, done.stderr
                drains.append(done.stdout)
                described = await year.describe()
                info = described.raw_description.workflow_execution_info.versioning_info
                return info.deployment_version.build_id

            await eventually(drained, until=lambda b: b == "build-2", within=30, what="moved")
            assert drains[0].startswith("woke 1 follow-up year(s) pinned to build-1"), drains
            moved_run, behavior = await _on(year, "build-2")
            assert moved_run != first_year_run
            assert behavior == Behavior.VERSIONING_BEHAVIOR_PINNED
            status = await year.query(FollowUp.status)
            assert status.checkins_received == [1], "the check-in carried over"

            # Nothing is pinned to build 1 any more: its workers may stop.
            async def statuses() -> dict[str, str]:
                shown = await asyncio.to_thread(
                    journeys_command, "deployment", "versions", "--json", env=cli_env
                )
                assert shown.returncode == 0, shown.stderr
                listed = json.loads(shown.stdout)
                assert listed["current"] == "build-2"
                return {v["build_id"]: v["status"] for v in listed["versions"]}

            await eventually(
                statuses,
                until=lambda s: s == {"build-1": "drained", "build-2": "current"},
                within=60,
                what="build 1 drained",
            )
            await old.aclose()

            # Only build 2 runs now: the journeys go on to their ends on it.
            await at_validation.handle.execute_update(
                PatientJourney.review,
                ReviewDecision(
                    actor=REVIEWER,
                    outcome=ReviewOutcome.REJECT,
                    reason=RejectionReason.INJURY_TOO_RECENT,
                ),
            )
            await at_teleconsult.book_first_slot()
            await at_teleconsult.handle.execute_update(
                PatientJourney.withdraw, Withdrawal(actor=COORDINATOR)
            )
            ends = [await at_validation.result(), await at_teleconsult.result()]
            assert [e.stage for e in ends] == [Stage.NOT_ELIGIBLE, Stage.WITHDRAWN]
            assert await at_teleconsult.bookings() == {"consult-1": "cancelled"}

            journeys = [
                await at_validation.handle.fetch_history(),
                await at_teleconsult.handle.fetch_history(),
            ]
            year_runs = await continued_runs(client, year.id, first_year_run)

    for history, end in zip(journeys, ends, strict=True):
        assert _moved_once(_task_builds(history), "build-1", "build-2"), _task_builds(history)
        assert _patch_markers(history, CLOSING_MEMO) == 1
        described = await client.get_workflow_handle(history.workflow_id).describe()
        assert await described.memo() == {"closed_as": end.stage.value}

    # Pinned, each run ran on one build; without its continue-as-new asking to start on the
    # current build, the second run would have inherited build 1.
    assert [set(_task_builds(run)) for run in year_runs] == [{"build-1"}, {"build-2"}]
    assert _patch_markers(year_runs[0], MOVE_TO_CURRENT_BUILD) == 1

    # Build 2's code replays every history: the committed corpus, and these journeys, whose
    # first tasks build 1 ran. Build 1's code cannot replay a journey past the patched change:
    # rolling back after it is not safe for the journeys that went through it.
    assert await _replay(NEXT_WORKFLOWS, load_corpus()) == []
    assert await _replay(NEXT_WORKFLOWS, [*journeys, *year_runs]) == []
    assert len(await _replay(WORKFLOWS, journeys)) == len(journeys)
