"""The Temporal CLI reads a journey through the codec server, as the UI does, over real HTTP.

`temporal workflow show --codec-endpoint … --codec-auth 'Bearer …'` against the dev server:
the coordinator's token shows the decision, an auditor's and no codec at all do not.
"""

import asyncio
import contextlib
import subprocess
from collections.abc import AsyncIterator
from pathlib import Path

import asyncpg
import uvicorn
from temporalio.testing import WorkflowEnvironment

from api.app import create_app
from api.tokens import mint_staff_token
from devstack.ports import free_port
from devstack.temporal_server import temporal_cli
from domain.actors import Role
from domain.names import journey_workflow_id
from domain.steps import RejectionReason
from settings import Settings
from tests.journeys import rejected_on_own_queue


@contextlib.asynccontextmanager
async def _serving(settings: Settings) -> AsyncIterator[str]:
    """The real app under uvicorn on loopback, in this event loop."""
    port = free_port()
    server = uvicorn.Server(
        uvicorn.Config(
            create_app(settings), host="127.0.0.1", port=port, log_level="warning", lifespan="on"
        )
    )
    serving = asyncio.create_task(server.serve())
    try:
        for _ in range(400):
            if server.started or serving.done():
                break
            await asyncio.sleep(0.05)
        assert server.started, "the API did not start"
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        await serving


def _show(target: str, workflow_id: str, *codec: str) -> str:
    return subprocess.run(
        [
            temporal_cli(),
            "workflow",
            "show",
            "--detailed",
            "--address",
            target,
            "-w",
            workflow_id,
            *codec,
        ],
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    ).stdout


async def test_the_cli_decodes_for_a_coordinator_only(
    dev_env: WorkflowEnvironment,
    pool: asyncpg.Pool,
    settings: Settings,
    mail_dir: Path,
) -> None:
    j = await rejected_on_own_queue(
        dev_env, pool, settings, mail_dir, name="codec", reason=RejectionReason.CONTRAINDICATION
    )

    target = dev_env.client.service_client.config.target_host
    workflow_id = journey_workflow_id(j.journey_id)
    app_settings = settings.model_copy(update={"temporal_address": target})

    def token(role: Role) -> str:
        return mint_staff_token(app_settings, subject=f"{role.value}-1", name="x", role=role)

    async with _serving(app_settings) as url:
        codec = ["--codec-endpoint", f"{url}/codec", "--codec-auth"]
        coordinator = await asyncio.to_thread(
            _show, target, workflow_id, *codec, f"Bearer {token(Role.COORDINATOR)}"
        )
        auditor = await asyncio.to_thread(
            _show, target, workflow_id, *codec, f"Bearer {token(Role.AUDITOR)}"
        )
    bare = await asyncio.to_thread(_show, target, workflow_id)

    assert "contraindication" in coordinator, coordinator
    assert "contraindication" not in auditor
    assert "contraindication" not in bare
    rows = await pool.fetch(
        "SELECT actor_role, detail FROM audit_log WHERE action = 'codec.decode'"
    )
    assert {r["actor_role"] for r in rows} == {"coordinator", "auditor"}
