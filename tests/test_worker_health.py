"""`journeys worker --check`, the worker container's health check, against real servers:
healthy while a worker of this host polls and PostgreSQL and the SMTP relay answer."""

import asyncio
import os
import socket
import subprocess
import uuid
from pathlib import Path
from typing import Any

import pytest
from temporalio.testing import WorkflowEnvironment
from temporalio.worker import Worker

from devstack.mailbox import start_mailbox
from devstack.ports import free_port
from devstack.postgres import start_postgres
from integrations.temporal_client import connect_temporal
from settings import Settings
from tests.helpers import eventually, journeys_command
from workflows.registry import WORKFLOWS, workflow_runner


def _check(**journeys: str) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("JOURNEYS_")}
    env |= {f"JOURNEYS_{k.upper()}": v for k, v in journeys.items()}
    return journeys_command("worker", "--check", env=env)


@pytest.fixture
def dependencies(database_url: str, mailbox_server: tuple[int, Path]) -> dict[str, str]:
    """PostgreSQL and the SMTP relay, answering."""
    return {
        "database_url": database_url,
        "smtp_host": "127.0.0.1",
        "smtp_port": str(mailbox_server[0]),
    }


async def test_healthy_only_while_a_worker_of_this_host_polls(
    dev_env: WorkflowEnvironment, dependencies: dict[str, str]
) -> None:
    queue = f"check-{uuid.uuid4().hex[:8]}"
    target = dev_env.client.service_client.config.target_host
    # The check runs in production, as in the container, and needs no secrets.
    idle = await asyncio.to_thread(
        _check, temporal_address=target, task_queue=queue, **dependencies
    )
    assert idle.returncode == 1, idle.stdout + idle.stderr
    assert "no worker of this host" in idle.stderr
    assert "PostgreSQL: ok" in idle.stdout and ": ok" in idle.stdout

    def check() -> "asyncio.Future[subprocess.CompletedProcess[str]]":
        return asyncio.ensure_future(
            asyncio.to_thread(_check, temporal_address=target, task_queue=queue, **dependencies)
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
            check, until=lambda done: "1 poller(s)" in done.stderr, what="the other poller"
        )
        assert elsewhere.returncode == 1, elsewhere.stdout
        async with Worker(dev_env.client, **options):
            here = await eventually(
                check, until=lambda done: done.returncode == 0, what="this host's poller"
            )
    assert f"@{socket.gethostname()}" in here.stdout
    assert here.stderr == ""
    lines = here.stdout.splitlines()
    assert len(lines) == 3 and all(line.endswith(("ok", "in all)")) for line in lines), lines


async def test_unhealthy_while_postgresql_or_the_smtp_relay_is_stopped(
    dev_env: WorkflowEnvironment, dependencies: dict[str, str], tmp_path: Path
) -> None:
    """A worker of this host polls; each dependency stopped in turn fails the check."""
    queue = f"check-{uuid.uuid4().hex[:8]}"
    target = dev_env.client.service_client.config.target_host
    postgres = start_postgres(tmp_path / "pgdata")
    relay_port = free_port()
    relay = start_mailbox(tmp_path / "mail", port=relay_port)
    own = dependencies | {"database_url": postgres.get_uri(), "smtp_port": str(relay_port)}

    def check(**changes: str) -> "asyncio.Future[subprocess.CompletedProcess[str]]":
        return asyncio.ensure_future(
            asyncio.to_thread(_check, temporal_address=target, task_queue=queue, **(own | changes))
        )

    try:
        async with Worker(
            dev_env.client, task_queue=queue, workflows=WORKFLOWS, workflow_runner=workflow_runner()
        ):
            await eventually(check, until=lambda done: done.returncode == 0, what="healthy")
            relay.stop()
            no_relay = await check()
            postgres.cleanup()
            neither = await check()
            relay_back = await check(smtp_port=dependencies["smtp_port"])
    finally:
        postgres.cleanup()
    assert no_relay.returncode == 1
    assert f"SMTP at 127.0.0.1:{relay_port}: unavailable: " in no_relay.stderr
    assert "PostgreSQL: ok" in no_relay.stdout
    assert neither.returncode == 1
    assert "PostgreSQL: unavailable: " in neither.stderr
    assert "SMTP at" in neither.stderr
    assert relay_back.returncode == 1, "PostgreSQL is still stopped"
    assert "PostgreSQL: unavailable: " in relay_back.stderr
    assert "polling" in relay_back.stdout, "Temporal: this host's worker polls all along"


def test_unhealthy_when_temporal_does_not_answer(dependencies: dict[str, str]) -> None:
    # Bound and not listening: connections are refused, and no other process takes the port.
    with socket.socket() as closed:
        closed.bind(("127.0.0.1", 0))
        address = f"127.0.0.1:{closed.getsockname()[1]}"
        done = _check(temporal_address=address, **dependencies)
    assert done.returncode == 1
    assert f"Temporal at {address}: unavailable: " in done.stderr
    assert "PostgreSQL: ok" in done.stdout


def test_unhealthy_when_the_smtp_relay_never_answers(dependencies: dict[str, str]) -> None:
    """A relay that takes the connection and says nothing fails within the check's deadline
    (the container's health check gives it 10 s)."""
    with socket.socket() as silent, socket.socket() as closed:
        silent.bind(("127.0.0.1", 0))
        silent.listen(4)
        closed.bind(("127.0.0.1", 0))
        port = silent.getsockname()[1]
        done = _check(
            temporal_address=f"127.0.0.1:{closed.getsockname()[1]}",
            **dependencies | {"smtp_port": str(port)},
        )
    assert done.returncode == 1
    assert f"SMTP at 127.0.0.1:{port}: unavailable: TimeoutError" in done.stderr
