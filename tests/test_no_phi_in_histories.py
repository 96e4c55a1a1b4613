"""Sentinel PHI goes in through the form and the records; no history or attribute holds it."""

from datetime import timedelta
from pathlib import Path

import asyncpg
import pytest
from temporalio.api.sdk.v1 import WorkflowMetadata
from temporalio.testing import WorkflowEnvironment

from audit.timeline import journey_histories
from domain.stages import Stage
from tests.helpers import read_mailbox, text_of
from tests.journeys import JourneyDriver, assert_no_needles

pytestmark = pytest.mark.usefixtures("worker")

SENTINELS = {
    "full_name": "Zephyrine Quillfeather",
    "email": "zq.sentinel@example.org",
    "phone": "+34 699 000 111",
    "medical_history": "SENTINEL-HISTORY-7731 spasticity grade 3 since the fall",
}
RECORD_NOTES = "SENTINEL-RECORD-NOTE-4410"


def _needles() -> list[bytes]:
    values = [*SENTINELS.values(), "+34699000111", "Quillfeather", RECORD_NOTES]
    return [v.encode() for v in values]


async def test_no_phi_in_any_history_attribute_or_detail(
    temporal_env: WorkflowEnvironment,
    pool: asyncpg.Pool,
    mail_dir: Path,
    driver: JourneyDriver,
) -> None:
    j = await driver.start(**SENTINELS)
    await j.approve()
    await j.hold_consult(notes=RECORD_NOTES)
    await j.accept_plan()
    await j.send_travel()
    await j.sleep(timedelta(days=31))
    await j.treat(notes=RECORD_NOTES)
    await j.follow_up_year(notes=RECORD_NOTES, checkin_weeks=4)
    assert (await j.result()).stage is Stage.COMPLETED

    # The records hold the PHI: the test would prove nothing if it never went in.
    assert await pool.fetchval("SELECT full_name FROM patients") == SENTINELS["full_name"]
    assert (
        await pool.fetchval(
            "SELECT count(*) FROM follow_up_outcomes WHERE notes = $1", RECORD_NOTES
        )
        == 5
    )
    assert any("Quillfeather" in m["To"] + text_of(m) for m in read_mailbox(mail_dir))

    assert len(await journey_histories(temporal_env.client, j.journey_id)) >= 3, (
        "the parent and at least two runs of the follow-up child"
    )
    await assert_no_needles(
        temporal_env.client,
        j.journey_id,
        [*SENTINELS.values(), "+34699000111", "Quillfeather", RECORD_NOTES],
    )
    # The current details are not in the descriptions: the UI asks each run for them.
    for history in await journey_histories(temporal_env.client, j.journey_id):
        metadata = await temporal_env.client.get_workflow_handle(
            history.workflow_id, run_id=history.run_id
        ).query("__temporal_workflow_metadata", result_type=WorkflowMetadata)
        for needle in _needles():
            assert needle not in metadata.SerializeToString(), (history.workflow_id, needle)
    final = await j.handle.query("__temporal_workflow_metadata", result_type=WorkflowMetadata)
    assert final.current_details.startswith("**COMPLETED**"), "the details were read"
