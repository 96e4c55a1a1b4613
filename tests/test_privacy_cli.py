"""The `journeys` command's privacy: each command that shows or acts on a patient's data
writes its audit row first (and shows nothing when it cannot); erase and legal holds."""

import asyncio
import base64
import getpass
import json
import os
import uuid
from pathlib import Path

import asyncpg
import pytest
from temporalio.testing import WorkflowEnvironment

from db.erasure import ErasureRepository
from db.staff import StaffRepository
from domain.stages import Stage
from settings import Settings
from tests.helpers import journeys_command
from tests.journey_rows import store_inquiry
from tests.journeys import JourneyDriver, seed_staff
from tests.privacy_checks import chain_intact


def _env(settings: Settings, temporal_env: WorkflowEnvironment | None = None) -> dict[str, str]:
    env = os.environ | {"JOURNEYS_DATABASE_URL": settings.require_database_url()}
    if temporal_env is not None:
        env["JOURNEYS_TEMPORAL_ADDRESS"] = temporal_env.client.service_client.config.target_host
        env["JOURNEYS_TASK_QUEUE"] = settings.task_queue
    return env


async def _rows(pool: asyncpg.Pool, action: str) -> list[tuple[str, str, str | None]]:
    rows = await pool.fetch(
        "SELECT actor_id, actor_role, journey_id FROM audit_log WHERE action = $1 ORDER BY seq",
        action,
    )
    return [
        (r["actor_id"], r["actor_role"], str(r["journey_id"]) if r["journey_id"] else None)
        for r in rows
    ]


async def test_a_patient_link_is_written_down_before_it_is_printed(
    settings: Settings, pool: asyncpg.Pool
) -> None:
    async with pool.acquire() as conn:
        stored = await store_inquiry(conn)
        await StaffRepository(conn).add(
            staff_id="coord-1", full_name="Sofía Navarro", email="s@x.test", role="coordinator"
        )
    jid = stored.journey_id
    env = _env(settings)

    printed = await asyncio.to_thread(journeys_command, "patient-link", jid, env=env)
    assert printed.returncode == 0, printed.stderr
    assert printed.stdout.count(".") == 2, "a JWT"
    assert await _rows(pool, "cli.patient_link") == [(f"os:{getpass.getuser()}", "operator", jid)]

    as_staff = await asyncio.to_thread(
        journeys_command, "patient-link", jid, "--as", "coord-1", env=env
    )
    assert as_staff.returncode == 0, as_staff.stderr
    assert (await _rows(pool, "cli.patient_link"))[-1] == ("coord-1", "coordinator", jid)

    nobody = await asyncio.to_thread(
        journeys_command, "patient-link", jid, "--as", "nobody", env=env
    )
    assert nobody.returncode == 2 and nobody.stdout == ""
    assert "no active member of staff 'nobody'" in nobody.stderr
    assert len(await _rows(pool, "cli.patient_link")) == 2, "no row, no link"

    listed = await asyncio.to_thread(
        journeys_command, "audit", "accesses", "--journey", jid, "--json", env=env
    )
    assert listed.returncode == 0, listed.stderr
    actions = [a["action"] for a in json.loads(listed.stdout)["accesses"]]
    assert actions == ["cli.patient_link", "cli.patient_link", "cli.audit_accesses"]
    assert await chain_intact(pool, settings)


@pytest.mark.usefixtures("worker")
async def test_erase_and_legal_holds_from_the_command(
    temporal_env: WorkflowEnvironment, settings: Settings, pool: asyncpg.Pool, mail_dir: Path
) -> None:
    await seed_staff(pool)
    async with pool.acquire() as conn:
        await StaffRepository(conn).add(
            staff_id="dpo-1", full_name="Amara Okafor", email="a@x.test", role="privacy_officer"
        )
    j = JourneyDriver(temporal_env, pool, settings.task_queue, mail_dir)
    await j.start()
    await j.reach(Stage.VALIDATION)
    env = _env(settings, temporal_env)
    jid = j.journey_id

    held = await asyncio.to_thread(
        journeys_command,
        "legal-hold",
        "place",
        jid,
        "--reason",
        "tax audit 2026",
        "--as",
        "dpo-1",
        env=env,
    )
    assert held.returncode == 0, held.stderr
    refused = await asyncio.to_thread(journeys_command, "erase", jid, "--reason", "asked", env=env)
    assert refused.returncode == 1
    assert "legal hold" in refused.stderr and "tax audit 2026" in refused.stderr
    assert (await j.status()).stage is Stage.VALIDATION, "nothing changed"

    not_an_officer = await asyncio.to_thread(
        journeys_command, "legal-hold", "lift", jid, "--reason", "done", "--as", "spec-1", env=env
    )
    assert not_an_officer.returncode == 2 and "privacy_officer" in not_an_officer.stderr
    lifted = await asyncio.to_thread(
        journeys_command, "legal-hold", "lift", jid, "--reason", "audit closed", env=env
    )
    assert lifted.returncode == 0, lifted.stderr

    erased = await asyncio.to_thread(
        journeys_command, "erase", jid, "--reason", "the patient's email of 2026-11-20", env=env
    )
    assert erased.returncode == 0, erased.stderr
    assert erased.stdout.startswith(f"erased journey {jid}")
    assert (await j.result()).stage is Stage.WITHDRAWN
    tombstone = await pool.fetchrow("SELECT * FROM erasures WHERE journey_id = $1", jid)
    assert tombstone["erased_by"] == f"os:{getpass.getuser()}"
    assert tombstone["erased_role"] == "privacy_officer"
    again = await asyncio.to_thread(journeys_command, "erase", jid, "--reason", "again", env=env)
    assert again.returncode == 1 and "already erased" in again.stderr
    unknown = await asyncio.to_thread(
        journeys_command, "erase", str(uuid.uuid4()), "--reason", "asked", env=env
    )
    assert unknown.returncode == 1 and "no such journey" in unknown.stderr
    assert [a for a, *_ in await _rows(pool, "cli.erase")] == [f"os:{getpass.getuser()}"] * 3 + [
        f"os:{getpass.getuser()}"
    ]
    assert await chain_intact(pool, settings)


@pytest.mark.usefixtures("worker")
async def test_erase_checks_every_setting_it_needs_before_it_withdraws_the_journey(
    temporal_env: WorkflowEnvironment,
    settings: Settings,
    pool: asyncpg.Pool,
    driver: JourneyDriver,
) -> None:
    j = await driver.start()
    await j.reach(Stage.VALIDATION)
    env = _env(settings, temporal_env)
    jid = j.journey_id
    # A row for the audit key to be checked against.
    listed = await asyncio.to_thread(
        journeys_command, "audit", "accesses", "--journey", jid, env=env
    )
    assert listed.returncode == 0, listed.stderr
    rows = await pool.fetchval("SELECT count(*) FROM audit_log")
    other_key = "other-2026:" + base64.b64encode(b"another payload key of 32 bytes!").decode()

    wrong = {
        "JOURNEYS_DATABASE_URL": ("", "JOURNEYS_DATABASE_URL is not set: "),
        "JOURNEYS_PAYLOAD_KEYS": (
            "",
            f"JOURNEYS_PAYLOAD_KEYS is unset: journey {jid}'s history is encrypted under the "
            "key id 'test-2026'",
        ),
        "JOURNEYS_AUDIT_KEY": (
            "another-audit-key-" + "a" * 32,
            "JOURNEYS_AUDIT_KEY does not seal the audit log's last row",
        ),
    }
    for name, (value, line) in wrong.items():
        refused = await asyncio.to_thread(
            journeys_command, "erase", jid, "--reason", "asked", env=env | {name: value}
        )
        assert refused.returncode == 2, (name, refused.stderr)
        assert refused.stdout == ""
        assert len(refused.stderr.splitlines()) == 1, refused.stderr
        assert refused.stderr.startswith(line), refused.stderr
    # A key under the right id that is another key.
    imposter = "test-2026:" + base64.b64encode(b"not the suite's payload key!!!!!").decode()
    for keys, line in (
        (other_key, "JOURNEYS_PAYLOAD_KEYS lacks the key id 'test-2026'"),
        (imposter, "JOURNEYS_PAYLOAD_KEYS holds another key under the id 'test-2026'"),
    ):
        refused = await asyncio.to_thread(
            journeys_command,
            "erase",
            jid,
            "--reason",
            "asked",
            env=env | {"JOURNEYS_PAYLOAD_KEYS": keys},
        )
        assert refused.returncode == 2 and refused.stderr.startswith(line), refused.stderr

    assert (await j.status()).stage is Stage.VALIDATION, "not withdrawn"
    async with pool.acquire() as conn:
        check = await ErasureRepository(conn).check(journey_id=jid)
    assert check.exists and check.erased is None and check.running, "records intact"
    assert await pool.fetchval("SELECT count(*) FROM audit_log") == rows, "not even a row"
    assert await chain_intact(pool, settings)
