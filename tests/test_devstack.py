"""`journeys dev` as a person runs it: start, submit the form, find the journey, Ctrl-C, again."""

import asyncio
import json
import os
import socket
import stat
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import asyncpg
import httpx
import psutil
import pytest
from dotenv import dotenv_values
from pydantic import SecretStr

from command_settings import DEV_ENV_FILE
from db.erasure import ErasureRepository
from devstack.payload_key import KEY_FILE
from devstack.temporal_server import temporal_cli
from domain.journey import JourneyStatus
from domain.names import journey_workflow_id
from domain.stages import Stage
from integrations.temporal_client import connect_temporal
from settings import Settings
from tests.dev_process import Dev, dev_env, dev_ports
from tests.helpers import eventually, valid_form
from tests.metrics_scrape import scrape

pytestmark = pytest.mark.e2e


@pytest.fixture
def ports() -> dict[str, int]:
    return dev_ports()


@pytest.fixture
def dev_runs(tmp_path: Path, ports: dict[str, int]) -> Iterator[list[Dev]]:
    runs: list[Dev] = []
    yield runs
    for run in runs:  # a failed test still leaves nothing behind
        if run.process.poll() is None:
            run.interrupt()


def _list_validation(temporal_port: int) -> list[str]:
    out = subprocess.run(
        [
            temporal_cli(),
            "workflow",
            "list",
            "--address",
            f"127.0.0.1:{temporal_port}",
            "--query",
            "JourneyStage='VALIDATION'",
            "--output",
            "json",
        ],
        capture_output=True,
        text=True,
        check=True,
        timeout=30,
    ).stdout
    return [w["execution"]["workflowId"] for w in json.loads(out or "[]")]


async def test_dev_stack_runs_a_journey_and_stops_cleanly(
    tmp_path: Path, ports: dict[str, int], dev_runs: list[Dev]
) -> None:
    state = tmp_path / "state"
    dev = Dev(state, ports)
    dev_runs.append(dev)
    dev.wait_ready()
    printed = "".join(dev.output)
    assert f"http://127.0.0.1:{ports['api']}/" in printed
    assert f"http://127.0.0.1:{ports['ui']}" in printed
    assert f"http://127.0.0.1:{ports['api']}/staff/" in printed
    # The coordinators' ready-made lists, each a link into the UI with its query.
    assert "Open incidents" in printed
    assert f"http://127.0.0.1:{ports['ui']}/namespaces/default/workflows?query=Incident" in printed
    started = dev.started()
    assert len(started) >= 5, "Temporal, PostgreSQL, CalDAV, worker and API"

    async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{ports['api']}") as http:
        assert (await http.get("/")).status_code == 200
        answer = await http.post("/api/v1/inquiries", json=valid_form())
    assert answer.status_code == 202, answer.text
    journey_id = answer.json()["journey_id"]
    workflow_id = journey_workflow_id(journey_id)

    async def listed() -> list[str]:
        return _list_validation(ports["temporal"])

    await eventually(listed, until=lambda ids: workflow_id in ids, within=30, what="listed")

    async def mails() -> list[Path]:
        return list((state / "mail").glob("*.eml"))

    eml = await eventually(mails, until=lambda m: len(m) == 2, within=30, what="two emails")
    assert any(b"Ana Garc" in p.read_bytes() for p in eml)

    # Each metrics endpoint, on the line that names it.
    lines = printed.splitlines()
    worker_url = f"http://127.0.0.1:{ports['worker_metrics']}/metrics"
    api_url = f"http://127.0.0.1:{ports['api_metrics']}/metrics"
    assert any("Worker metrics" in line and worker_url in line for line in lines), printed
    assert any("API metrics" in line and api_url in line for line in lines), printed
    worker_metrics = await scrape(ports["worker_metrics"])
    assert worker_metrics.value("journeys_emails_total", outcome="sent") == 2
    assert worker_metrics.has("temporal_worker_task_slots_available")
    api_metrics = await scrape(ports["api_metrics"])
    assert api_metrics.value("journeys_in_stage", stage="VALIDATION") == 1
    # The worker and the API write JSON lines, the journey's id on the worker's.
    for child in ("worker", "api"):
        logged = [json.loads(line) for line in (state / "logs" / f"{child}.log").open()]
        assert logged and all(line["service"] == child for line in logged)
    worker_log = (state / "logs" / "worker.log").read_text()
    assert f'"journey_id": "{journey_id}"' in worker_log
    # The UI sends the payloads it shows to its own origin, which passes them to the API's
    # codec server (tests/test_ui_codec.py); the API grants that origin to callers elsewhere.
    ui = f"http://127.0.0.1:{ports['ui']}"
    async with httpx.AsyncClient() as http:
        ui_settings = (await http.get(f"{ui}/api/v1/settings")).json()
        assert ui_settings["Codec"]["Endpoint"] == f"{ui}/codec"
        codec = f"http://127.0.0.1:{ports['api']}/codec"
        preflight = await http.options(
            f"{codec}/decode",
            headers={
                "Origin": ui,
                "Access-Control-Request-Method": "POST",
                "Access-Control-Request-Headers": "content-type,x-namespace",
            },
        )
    assert preflight.status_code == 204
    assert preflight.headers["access-control-allow-origin"] == ui

    assert dev.interrupt() == 0, "".join(dev.output)
    _, alive = psutil.wait_procs(started, timeout=10)
    assert alive == [], f"left behind: {[p.cmdline() for p in alive]}"
    assert "Stopped." in "".join(dev.output)

    # Started again, it resumes the journey in flight from its persisted state.
    again = Dev(state, ports)
    dev_runs.append(again)
    again.wait_ready()
    # The key made at the first start, which the second reused: the journey (its history
    # encrypted under that key) still answers, read with the key from the state folder.
    key_file = state / KEY_FILE
    assert key_file.stat().st_mode & 0o777 == 0o600
    client = await connect_temporal(
        Settings(payload_keys=SecretStr(key_file.read_text().strip())),
        address=f"127.0.0.1:{ports['temporal']}",
    )
    status = await client.get_workflow_handle(workflow_id).query(
        "status", result_type=JourneyStatus
    )
    assert status.stage is Stage.VALIDATION
    assert _list_validation(ports["temporal"]) == [workflow_id]
    assert again.interrupt() == 0


def test_a_taken_port_is_named_without_a_traceback(tmp_path: Path, ports: dict[str, int]) -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", ports["api"]))
        taken.listen()
        result = subprocess.run(
            [sys.executable, "-m", "cli", "dev"],
            env=dev_env(tmp_path / "state", ports),
            capture_output=True,
            text=True,
            timeout=60,
        )
    assert result.returncode == 2
    assert f"port {ports['api']}" in result.stderr
    assert "the API" in result.stderr
    assert "Traceback" not in result.stderr + result.stdout


@pytest.mark.parametrize(
    ("setting", "value", "host"),
    [
        ("JOURNEYS_API_HOST", "0.0.0.0", "0.0.0.0"),
        ("JOURNEYS_API_HOST", "::", "::"),
        ("JOURNEYS_API_HOST", "journeys.example.org", "journeys.example.org"),
        ("JOURNEYS_API_METRICS_ADDRESS", "0.0.0.0:9465", "0.0.0.0"),
    ],
)
def test_development_mode_refuses_to_listen_beyond_loopback(
    tmp_path: Path, ports: dict[str, int], setting: str, value: str, host: str
) -> None:
    result = subprocess.run(
        [sys.executable, "-m", "cli", "dev"],
        env=dev_env(tmp_path / "state", ports) | {setting: value},
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 2
    (line,) = result.stderr.splitlines()
    assert line.startswith(f"Cannot start: {setting}={host} is not a loopback address")
    assert result.stdout == ""
    assert not (tmp_path / "state").exists(), "nothing was started"


async def test_commands_beside_a_running_stack_need_nothing_exported(
    tmp_path: Path, ports: dict[str, int], dev_runs: list[Dev]
) -> None:
    """A second terminal in the project's folder, beside `make dev`: no JOURNEYS_ variable."""
    project, elsewhere = tmp_path / "project", tmp_path / "elsewhere"
    project.mkdir()
    elsewhere.mkdir()
    dev = Dev(project / ".journeys", ports, cwd=project)
    dev_runs.append(dev)
    dev.wait_ready()
    dev_env = project / ".journeys" / DEV_ENV_FILE
    assert stat.S_IMODE(dev_env.stat().st_mode) == 0o600
    assert str(dev_env) in "".join(dev.output)
    written = {k: v or "" for k, v in dotenv_values(dev_env).items()}
    clean = {k: v for k, v in os.environ.items() if not k.startswith("JOURNEYS_")}

    def journeys(
        *args: str, env: dict[str, str] | None = None, cwd: Path = project
    ) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [sys.executable, "-m", "cli", *args],
            cwd=cwd,
            env=clean | (env or {}),
            capture_output=True,
            text=True,
            timeout=180,
        )

    def one_line(result: subprocess.CompletedProcess[str]) -> str:
        assert result.returncode == 2, result.stdout + result.stderr
        assert result.stdout == "" and len(result.stderr.splitlines()) == 1, result.stderr
        return result.stderr.rstrip("\n")

    async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{ports['api']}") as http:
        answer = await http.post("/api/v1/inquiries", json=valid_form())
    assert answer.status_code == 202, answer.text
    journey_id = answer.json()["journey_id"]
    workflow_id = journey_workflow_id(journey_id)
    await eventually(
        lambda: asyncio.to_thread(_list_validation, ports["temporal"]),
        until=lambda ids: workflow_id in ids,
        within=30,
        what="the journey in VALIDATION",
    )

    # Temporal, the payload key and PostgreSQL, all from the stack's file.
    timeline = await asyncio.to_thread(journeys, "timeline", journey_id, "--json")
    assert timeline.returncode == 0, timeline.stderr
    assert json.loads(timeline.stdout)["entries"]
    verified = await asyncio.to_thread(journeys, "audit", "verify")
    assert verified.returncode == 0, verified.stderr
    assert verified.stdout.startswith("audit log intact")

    # Elsewhere the same settings come with --env-file, and without it nothing is set.
    named = await asyncio.to_thread(
        journeys, "--env-file", str(dev_env), "audit", "verify", cwd=elsewhere
    )
    assert named.returncode == 0, named.stderr
    unset = one_line(await asyncio.to_thread(journeys, "migrate", cwd=elsewhere))
    assert unset.startswith("JOURNEYS_DATABASE_URL is not set: set it, give --env-file")

    # The environment wins over the file, and production in it shuts the file out.
    namespace = one_line(
        await asyncio.to_thread(
            journeys, "timeline", journey_id, env={"JOURNEYS_TEMPORAL_NAMESPACE": "elsewhere"}
        )
    )
    assert namespace == (
        f"JOURNEYS_TEMPORAL_NAMESPACE: Temporal at 127.0.0.1:{ports['temporal']} has no "
        "namespace 'elsewhere'"
    )
    production = one_line(
        await asyncio.to_thread(journeys, "migrate", env={"JOURNEYS_ENVIRONMENT": "production"})
    )
    assert production == (
        "JOURNEYS_DATABASE_URL is not set: set it, or give --env-file (.journeys/dev.env is not "
        "read: the environment sets JOURNEYS_ENVIRONMENT=production)"
    )

    # Erasing withdraws the journey first: a setting it lacks stops it before that.
    without_keys = tmp_path / "without-keys.env"
    without_keys.write_text(
        "".join(line for line in dev_env.open() if not line.startswith("JOURNEYS_PAYLOAD_KEYS="))
    )
    no_keys = one_line(
        await asyncio.to_thread(
            journeys, "--env-file", str(without_keys), "erase", journey_id, "--reason", "asked"
        )
    )
    assert no_keys.startswith(
        f"JOURNEYS_PAYLOAD_KEYS is unset: journey {journey_id}'s history is encrypted under "
        "the key id 'dev-"
    )
    no_worker = one_line(
        await asyncio.to_thread(
            journeys,
            "erase",
            journey_id,
            "--reason",
            "asked",
            env={"JOURNEYS_TASK_QUEUE": "nobody-polls-this"},
        )
    )
    assert no_worker.startswith(
        "JOURNEYS_TASK_QUEUE: no worker polls task queue 'nobody-polls-this'"
    )
    client = await connect_temporal(
        Settings(payload_keys=SecretStr(written["JOURNEYS_PAYLOAD_KEYS"])),
        address=f"127.0.0.1:{ports['temporal']}",
    )
    status = await client.get_workflow_handle(workflow_id).query(
        "status", result_type=JourneyStatus
    )
    assert status.stage is Stage.VALIDATION, "not withdrawn"
    conn = await asyncpg.connect(written["JOURNEYS_DATABASE_URL"])
    try:
        check = await ErasureRepository(conn).check(journey_id=journey_id)
        assert check.exists and check.running and check.erased is None, "records intact"
        assert await conn.fetchval("SELECT count(*) FROM audit_log WHERE action = 'cli.erase'") == 0

        # With nothing exported, the erasure that stopped half-way before goes through.
        erased = await asyncio.to_thread(
            journeys, "erase", journey_id, "--reason", "the patient's email"
        )
        assert erased.returncode == 0, erased.stdout + erased.stderr
        assert erased.stdout.startswith(f"erased journey {journey_id}")
        assert (await ErasureRepository(conn).check(journey_id=journey_id)).erased is not None
    finally:
        await conn.close()

    # Stopped, the stack takes its file away, and a command says that none runs here.
    assert dev.interrupt() == 0, "".join(dev.output)
    assert not dev_env.exists()
    stopped = one_line(await asyncio.to_thread(journeys, "migrate"))
    assert stopped.endswith("(no .journeys/dev.env here: none runs in this folder)")
