"""Committed histories replay against today's workflow code.

`tests/histories/` holds the JSON histories of complete journeys. After a change to workflow
code, record them again only for new shapes (old ones must keep replaying, behind
`workflow.patched`):

    JOURNEYS_RECORD_HISTORIES=1 JOURNEYS_HISTORY_LABEL=<newest-patch> \
        .venv/bin/pytest tests/test_replay.py -k record
"""

import json
import os
from collections.abc import AsyncIterator
from datetime import timedelta
from pathlib import Path

import pytest
from temporalio.client import WorkflowHistory
from temporalio.testing import WorkflowEnvironment
from temporalio.worker import Replayer

from audit.timeline import journey_histories
from domain.stages import Stage
from domain.steps import NoShow, Withdrawal
from integrations.data_converter import build_data_converter
from settings import Settings
from tests.journeys import COORDINATOR, SPECIALIST, JourneyDriver
from workflows.journey import PatientJourney
from workflows.registry import WORKFLOWS, workflow_runner

CORPUS = Path(__file__).resolve().parent / "histories"
SCENARIOS = ("happy-path", "rejection", "withdrawal-mid-travel", "lost-contact", "no-shows")
END_OF = {
    "happy-path": Stage.COMPLETED,
    "rejection": Stage.NOT_ELIGIBLE,
    "withdrawal-mid-travel": Stage.WITHDRAWN,
    "lost-contact": Stage.LOST_CONTACT,
    "no-shows": Stage.LOST_CONTACT,
}


def load_corpus() -> list[WorkflowHistory]:
    histories = []
    for path in sorted(CORPUS.glob("*.json")):
        data = json.loads(path.read_text())
        histories.append(WorkflowHistory.from_json(data["workflow_id"], data["history"]))
    return histories


async def test_committed_histories_replay() -> None:
    names = {p.name.split(".")[0] for p in CORPUS.glob("*.json")}
    assert set(SCENARIOS) <= names, f"corpus lacks {set(SCENARIOS) - names}"
    # The project's converter, codec included: the corpus was recorded unencrypted, and
    # payloads without the codec's marker pass through it unchanged.
    replayer = Replayer(
        workflows=WORKFLOWS,
        data_converter=build_data_converter(Settings()),
        workflow_runner=workflow_runner(reimport_workflows=True),
    )

    async def corpus() -> AsyncIterator[WorkflowHistory]:
        for history in load_corpus():
            yield history

    results = await replayer.replay_workflows(corpus(), raise_on_replay_failure=False)
    assert {run_id: str(err) for run_id, err in results.replay_failures.items()} == {}
    assert len(load_corpus()) >= len(SCENARIOS) + 2, "follow-up child runs are in the corpus"


@pytest.mark.skipif(
    os.environ.get("JOURNEYS_RECORD_HISTORIES") != "1",
    reason="records the corpus only when JOURNEYS_RECORD_HISTORIES=1",
)
@pytest.mark.usefixtures("worker")
@pytest.mark.parametrize("scenario", SCENARIOS)
async def test_record_histories(
    scenario: str,
    temporal_env: WorkflowEnvironment,
    driver: JourneyDriver,
) -> None:
    j = await driver.start()
    if scenario == "rejection":
        from domain.steps import RejectionReason

        await j.reject(RejectionReason.INJURY_TOO_RECENT)
    elif scenario == "lost-contact":
        await j.approve()
        await j.sleep(timedelta(days=22))
    elif scenario == "no-shows":
        await j.approve()
        for _ in range(2):
            starts_at = await j.book_first_slot()
            await j.sleep(starts_at - await j.now() + timedelta(minutes=10))
            await j.handle.execute_update(PatientJourney.consult_no_show, NoShow(actor=SPECIALIST))
    else:
        await j.book_the_trip()
        if scenario == "withdrawal-mid-travel":
            await j.handle.execute_update(PatientJourney.withdraw, Withdrawal(actor=COORDINATOR))
        else:
            await j.sleep(timedelta(days=31))
            await j.treat()
            await j.follow_up_year(checkin_weeks=3)
    outcome = await j.result()
    assert outcome.stage is END_OF[scenario]
    CORPUS.mkdir(exist_ok=True)
    # Older shapes stay: a label (the newest patch, say) keeps the new files beside them.
    label = os.environ.get("JOURNEYS_HISTORY_LABEL", "current")
    for old in CORPUS.glob(f"{scenario}.{label}.*.json"):
        old.unlink()
    for n, history in enumerate(await journey_histories(temporal_env.client, j.journey_id)):
        name = "journey" if n == 0 else f"follow-up-{n}"
        (CORPUS / f"{scenario}.{label}.{name}.json").write_text(
            json.dumps(
                {"workflow_id": history.workflow_id, "history": json.loads(history.to_json())},
                indent=1,
            )
        )
