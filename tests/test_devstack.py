"""`journeys dev` as a person runs it: start, submit the form, find the journey, Ctrl-C, again."""

import json
import socket
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import httpx
import psutil
import pytest
from pydantic import SecretStr

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
