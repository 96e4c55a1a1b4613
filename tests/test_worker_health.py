"""`journeys worker --check`, the worker container's health check, against a real server."""

import asyncio
import os
import socket
import subprocess
import sys
import uuid
from typing import Any

from temporalio.testing import WorkflowEnvironment
from temporalio.worker import Worker

from integrations.temporal_client import connect_temporal
from settings import Settings
from tests.helpers import eventually
from workflows.registry import WORKFLOWS, workflow_runner


def _check(**journeys: str) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("JOURNEYS_")}
    env |= {f"JOURNEYS_{k.upper()}": v for k, v in journeys.items()}
    return subprocess.run(
        [sys.executable, "-m", "cli", "worker", "--check"],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )


async def test_healthy_only_while_a_worker_of_this_host_polls(
    dev_env: WorkflowEnvironment,
) -> None:
    queue = f"check-{uuid.uuid4().hex[:8]}"
    target = dev_env.client.service_client.config.target_host
    # The check runs in production, as in the container, and needs no secrets.
    idle = await asyncio.to_thread(_check, temporal_address=target, task_queue=queue)
    assert idle.returncode == 1, idle.stdout + idle.stderr
    assert "no worker of this host" in idle.stdout

    def check() -> "asyncio.Future[subprocess.CompletedProcess[str]]":
        return asyncio.ensure_future(
            asyncio.to_thread(_check, temporal_address=target, task_queue=queue)
        )

    options: dict[str, Any] = {
        "task_queue": queue,
        "workflows": WORKFLOWS,
        "workflow_runner": workflow_runner(),
    }
    # A worker of another container polling the same queue does not make this one healthy.
    # (On a client of its own: one client refuses two workers of the same task queue.)
    another = await connect_temporal(Settings(), address=target)
    async with Worker(another, identity="1@another-container", **options):
        elsewhere = await eventually(
            check, until=lambda done: "1 poller(s)" in done.stdout, what="the other poller"
        )
        assert elsewhere.returncode == 1, elsewhere.stdout
        async with Worker(dev_env.client, **options):
            here = await eventually(
                check, until=lambda done: done.returncode == 0, what="this host's poller"
            )
    assert f"@{socket.gethostname()}" in here.stdout


def test_unhealthy_when_temporal_does_not_answer() -> None:
    # Bound and not listening: connections are refused, and no other process takes the port.
    with socket.socket() as closed:
        closed.bind(("127.0.0.1", 0))
        done = _check(temporal_address=f"127.0.0.1:{closed.getsockname()[1]}")
    assert done.returncode == 1
    assert "cannot ask Temporal" in done.stderr
