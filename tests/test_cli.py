"""The `journeys` command as a person types it."""

import asyncio
import subprocess
import sys
from pathlib import Path

from temporalio.testing import WorkflowEnvironment

from api.tokens import TokenVerifier
from domain.actors import Role
from settings import Settings

ROOT = Path(__file__).resolve().parent.parent


def _journeys(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "cli", *args], cwd=ROOT, capture_output=True, text=True, timeout=60
    )


def test_token_prints_a_staff_token_the_api_accepts() -> None:
    result = _journeys("token", "--role", "reviewer", "--name", "Omar Haddad")
    assert result.returncode == 0, result.stderr
    principal = TokenVerifier(Settings()).verify(result.stdout.strip())
    assert principal.actor.role is Role.REVIEWER
    assert principal.actor.id == "omar-haddad"
    assert principal.name == "Omar Haddad"


def test_token_refuses_an_unknown_role() -> None:
    result = _journeys("token", "--role", "janitor", "--name", "X")
    assert result.returncode == 2
    assert "unknown staff role" in result.stderr


async def test_audit_verify_passes_then_names_the_tampered_row(
    database_url: str, settings: Settings
) -> None:
    import asyncio
    import os

    import asyncpg

    from audit.log import AuditLog

    key = settings.audit_key.get_secret_value().encode()
    conn = await asyncpg.connect(database_url)
    try:
        for n in range(3):
            await AuditLog(conn, key).append(
                actor_id=f"a{n}", actor_role="coordinator", action="GET /api/v1/journeys"
            )
    finally:
        await conn.close()
    env = {**os.environ, "JOURNEYS_DATABASE_URL": database_url}

    def verify() -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [sys.executable, "-m", "cli", "audit", "verify"],
            env=env,
            capture_output=True,
            text=True,
            timeout=60,
        )

    intact = await asyncio.to_thread(verify)
    assert intact.returncode == 0, intact.stderr
    assert "3 rows verified" in intact.stdout
    conn = await asyncpg.connect(database_url)
    try:
        await conn.execute("ALTER TABLE audit_log DISABLE TRIGGER USER")
        await conn.execute("UPDATE audit_log SET actor_id = 'someone-else' WHERE seq = 2")
    finally:
        await conn.close()
    broken = await asyncio.to_thread(verify)
    assert broken.returncode == 1
    assert "broken at seq 2 (altered)" in broken.stdout


async def test_every_run_exits_with_the_status_its_help_promises(
    dev_env: WorkflowEnvironment,
) -> None:
    """The Temporal client's native threads never turn an exit into an abort (status 134).

    They could, about one run in twenty, as the interpreter finalized (temporalio/sdk-python
    #300); an unknown journey, answered 2 after a failed call, was where it showed most.
    """
    target = dev_env.client.service_client.config.target_host
    at_once = asyncio.Semaphore(4)

    async def run() -> tuple[int | None, str]:
        async with at_once:
            process = await asyncio.create_subprocess_exec(
                *(sys.executable, "-m", "cli", "timeline", "no-such-journey", "--address", target),
                cwd=ROOT,
                stdout=asyncio.subprocess.DEVNULL,
                stderr=asyncio.subprocess.PIPE,
            )
            _, stderr = await asyncio.wait_for(process.communicate(), 60)
        return process.returncode, stderr.decode()

    results = await asyncio.gather(*(run() for _ in range(40)))
    wrong = [
        (status, stderr)
        for status, stderr in results
        if status != 2
        or "Fatal Python error" in stderr
        or "no journey no-such-journey on the Temporal server" not in stderr
    ]
    assert not wrong, f"{len(wrong)} of {len(results)} runs: {wrong[:3]}"


def test_the_exit_still_runs_the_exit_handlers() -> None:
    # `journeys dev` stops the embedded PostgreSQL from one, the worker removes a folder.
    script = (
        "import atexit, sys, cli\n"
        "atexit.register(print, 'exit handler ran')\n"
        "sys.argv = ['journeys', 'token', '--role', 'janitor', '--name', 'X']\n"
        "cli.main()\n"
    )
    result = subprocess.run(
        [sys.executable, "-c", script], cwd=ROOT, capture_output=True, text=True, timeout=60
    )
    assert result.returncode == 2
    assert "unknown staff role" in result.stderr
    assert result.stdout == "exit handler ran\n"
