"""`journeys replay` tells an auditor which histories today's code can no longer run, and where.

The corpus in `tests/histories/` must replay; a deliberately non-deterministic copy of the
journey must not, with the diverging event named; and histories in the Temporal CLI's own
JSON (what `temporal workflow show --output json` and the UI download write) replay too.
"""

import asyncio
import base64
import importlib
import json
import os
import subprocess
import uuid
from pathlib import Path
from typing import Any

import asyncpg
import pytest
from temporalio.client import WorkflowHistory
from temporalio.testing import WorkflowEnvironment

from audit.replay import (
    HistoryFileError,
    default_query,
    history_files,
    load_history_file,
    replay_histories,
)
from devstack.temporal_server import installed_command
from domain.names import journey_workflow_id
from domain.steps import RejectionReason
from settings import Settings
from tests.helpers import eventually, journeys_command
from tests.journeys import rejected_on_own_queue
from workflows.journey import PatientJourney
from workflows.registry import WORKFLOWS

ROOT = Path(__file__).resolve().parent.parent
CORPUS = ROOT / "tests" / "histories"
ACKNOWLEDGEMENT = '    await m.notify("acknowledgement", NotificationKind.ACKNOWLEDGEMENT)\n'
INTAKE_IMPORT = "from workflows.stages.intake import "


def _corpus() -> list[WorkflowHistory]:
    return [h for path in history_files(CORPUS) for h in load_history_file(path)]


def _scheduled(events: list[dict[str, Any]], activity: str) -> list[dict[str, Any]]:
    return [
        e
        for e in events
        if e["eventType"] == "EVENT_TYPE_ACTIVITY_TASK_SCHEDULED"
        and e["activityTaskScheduledEventAttributes"]["activityType"]["name"] == activity
    ]


def test_the_committed_corpus_replays_through_the_cli() -> None:
    result = journeys_command("replay", "--path", str(CORPUS), "--json")
    assert result.returncode == 0, result.stdout + result.stderr
    report = json.loads(result.stdout)
    files = list(CORPUS.glob("*.json"))
    assert report["replayed"] == report["passed"] == len(files)
    assert report["failed"] == 0
    assert {r["workflow_type"] for r in report["results"]} == {
        "PatientJourney",
        "FollowUp",
        "JourneyErasure",
        "RetentionSweep",
    }
    assert all(
        r["workflow_id"].startswith("journey-")
        for r in report["results"]
        if r["workflow_type"] in ("PatientJourney", "FollowUp")
    )


def test_files_in_every_format_load_and_bad_ones_are_refused(tmp_path: Path) -> None:
    stored = json.loads((CORPUS / "rejection.answer-after-move.journey.json").read_text())
    (tmp_path / "corpus.json").write_text(json.dumps(stored))
    # The CLI's and the UI's shape: the events alone; this server left out the workflow id.
    (tmp_path / "journey-from-ui.json").write_text(json.dumps(stored["history"]))
    (tmp_path / "bare-list.json").write_text(json.dumps(stored["history"]["events"]))
    named = json.loads(json.dumps(stored["history"]))
    named["events"][0]["workflowExecutionStartedEventAttributes"]["workflowId"] = "journey-x"
    (tmp_path / "named.json").write_text(json.dumps(named))
    (tmp_path / "broken.json").write_text('{"neither": "format"}')

    def loaded(name: str) -> WorkflowHistory:
        [history] = load_history_file(tmp_path / name)
        return history

    assert loaded("corpus.json").workflow_id == stored["workflow_id"]
    assert loaded("journey-from-ui.json").workflow_id == "journey-from-ui"
    assert loaded("bare-list.json").workflow_id == "bare-list"
    assert loaded("named.json").workflow_id == "journey-x"
    assert len(loaded("corpus.json").events) == len(stored["history"]["events"])
    with pytest.raises(HistoryFileError):
        load_history_file(tmp_path / "broken.json")

    result = journeys_command("replay", "--path", str(tmp_path), "--json")
    report = json.loads(result.stdout)
    assert result.returncode == 1, "an unreadable file is a failure, not a pass"
    assert (report["passed"], report["failed"]) == (4, 1)
    [unreadable] = [r for r in report["results"] if not r["ok"]]
    assert unreadable["workflow_id"] == "broken.json"

    # An empty corpus is a wrong path, not a pass.
    (tmp_path / "empty").mkdir()
    empty = journeys_command("replay", "--path", str(tmp_path / "empty"))
    assert empty.returncode == 2 and "no .json files" in empty.stderr


async def test_a_non_deterministic_change_is_caught_with_the_event_named(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    stage = (ROOT / "workflows" / "stages" / "intake.py").read_text()
    journey = (ROOT / "workflows" / "journey.py").read_text()
    assert stage.count(ACKNOWLEDGEMENT) == 1 and journey.count(INTAKE_IMPORT) == 1
    # The same workflow (same name, "PatientJourney"), with a timer before its first email.
    suffix = uuid.uuid4().hex[:8]
    (tmp_path / f"changed_intake_{suffix}.py").write_text(
        stage.replace(ACKNOWLEDGEMENT, "    await workflow.sleep(1)\n" + ACKNOWLEDGEMENT)
    )
    (tmp_path / f"changed_journey_{suffix}.py").write_text(
        journey.replace(INTAKE_IMPORT, f"from changed_intake_{suffix} import ")
    )
    monkeypatch.syspath_prepend(str(tmp_path))
    changed = importlib.import_module(f"changed_journey_{suffix}")

    corpus = _corpus()
    seen: list[str] = []
    report = await replay_histories(
        corpus,
        workflows=[changed.PatientJourney if w is PatientJourney else w for w in WORKFLOWS],
        on_progress=lambda r: seen.append(r.run_id),
    )

    assert seen == [r.run_id for r in report.results] and len(seen) == len(corpus)
    by_run = {h.run_id: h for h in corpus}
    journeys = [r for r in report.results if r.workflow_type == "PatientJourney"]
    assert journeys and report.failed == len(journeys)
    assert all(r.ok for r in report.results if r.workflow_type != "PatientJourney")
    for failure in journeys:
        history = json.loads(by_run[failure.run_id].to_json())
        acknowledgement = next(
            e
            for e in _scheduled(history["events"], "send_notification")
            if _input(e)["step"] == "acknowledgement"
        )
        assert failure.error_type == "NondeterminismError"
        assert failure.event_id == int(acknowledgement["eventId"]), failure.error
        assert failure.event_type == "ActivityTaskScheduled"
        assert failure.event_detail == "activity 'send_notification'"
        assert failure.command == "StartTimer"
        assert f"HistoryEvent(id: {failure.event_id}, ActivityTaskScheduled)" in (
            failure.error or ""
        )


def _input(event: dict[str, Any]) -> Any:
    payload = event["activityTaskScheduledEventAttributes"]["input"]["payloads"][0]
    return json.loads(base64.b64decode(payload["data"]))


def test_the_cli_fails_a_history_the_code_disagrees_with(tmp_path: Path) -> None:
    stored = json.loads((CORPUS / "rejection.answer-after-move.journey.json").read_text())
    (tmp_path / "good.json").write_text(json.dumps(stored))
    # As if an older build had called the email activity by another name.
    first_email = _scheduled(stored["history"]["events"], "send_notification")[0]
    first_email["activityTaskScheduledEventAttributes"]["activityType"]["name"] = "send_email_v0"
    (tmp_path / "renamed.json").write_text(json.dumps(stored))

    result = journeys_command("replay", "--path", str(tmp_path), "--json")
    assert result.returncode == 1, result.stdout + result.stderr
    report = json.loads(result.stdout)
    assert (report["replayed"], report["passed"], report["failed"]) == (2, 1, 1)
    [failure] = [r for r in report["results"] if not r["ok"]]
    assert failure["event_id"] == int(first_email["eventId"])
    assert failure["event_type"] == "ActivityTaskScheduled"
    assert failure["command"] == "ScheduleActivityTask 'send_notification'"
    assert "send_email_v0" in failure["error"]

    human = journeys_command("replay", "--path", str(tmp_path))
    assert human.returncode == 1
    assert human.stdout.splitlines()[-1] == "replayed 2 histories: 1 passed, 1 failed"
    assert f"event {first_email['eventId']} ActivityTaskScheduled" in human.stdout
    assert "code issued ScheduleActivityTask 'send_notification'" in human.stdout


@pytest.mark.e2e
async def test_histories_from_the_temporal_cli_and_the_server_replay(
    dev_env: WorkflowEnvironment,
    pool: asyncpg.Pool,
    settings: Settings,
    mail_dir: Path,
    tmp_path: Path,
) -> None:
    j = await rejected_on_own_queue(
        dev_env, pool, settings, mail_dir, name="audit", reason=RejectionReason.INJURY_TOO_RECENT
    )

    workflow_id = journey_workflow_id(j.journey_id)
    target = dev_env.client.service_client.config.target_host
    temporal = installed_command("temporal")
    assert temporal
    # In a thread: the dev server answers while the test waits for the CLI.
    shown = await asyncio.to_thread(
        subprocess.run,
        [temporal, "workflow", "show", "--address", target, "-w", workflow_id, "--output", "json"],
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    )
    show_file = tmp_path / "shown.json"
    show_file.write_text(shown.stdout)

    result = await asyncio.to_thread(journeys_command, "replay", "--path", str(show_file), "--json")
    assert result.returncode == 0, result.stdout + result.stderr
    report = json.loads(result.stdout)
    assert (report["replayed"], report["passed"]) == (1, 1)
    assert report["results"][0]["workflow_id"] == workflow_id, "read from the started event"

    # Visibility catches up a moment after the close.
    await eventually(
        lambda: dev_env.client.count_workflows(default_query()),
        until=lambda c: c.count >= 1,
        what="the closed journey is visible",
    )
    by_id = f"WorkflowId = '{workflow_id}'"
    # The export writes its row in the audit log first, so it needs the database.
    exported = await asyncio.to_thread(
        journeys_command,
        "export",
        "--address",
        target,
        "--query",
        by_id,
        "--out",
        str(tmp_path / "c"),
        env=os.environ | {"JOURNEYS_DATABASE_URL": settings.require_database_url()},
    )
    assert exported.returncode == 0, exported.stderr
    assert exported.stdout.strip() == f"exported 1 history to {tmp_path / 'c'}"
    [written] = (tmp_path / "c").glob("*.json")
    assert (
        await pool.fetchval("SELECT detail->>'query' FROM audit_log WHERE action = 'cli.export'")
        == by_id
    )
    assert written.name.startswith(f"{workflow_id}.")
    replayed = await asyncio.to_thread(journeys_command, "replay", "--path", str(tmp_path / "c"))
    assert replayed.returncode == 0, replayed.stdout + replayed.stderr

    from_server = await asyncio.to_thread(journeys_command, "replay", "--address", target)
    assert from_server.returncode == 0, from_server.stdout + from_server.stderr
    assert from_server.stdout.splitlines()[-1] == "replayed 1 history: 1 passed, 0 failed"
