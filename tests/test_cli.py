"""The `journeys` command as a person types it."""

import asyncio
import os
import subprocess
import sys
from pathlib import Path

import pytest
from pydantic import SecretStr
from temporalio.testing import WorkflowEnvironment

from api.tokens import TokenError, TokenVerifier
from domain.actors import Role
from settings import Settings
from tests.helpers import journeys_command

ROOT = Path(__file__).resolve().parent.parent


def _environment(**journeys: str) -> dict[str, str]:
    """This process's environment with no JOURNEYS_ variable but `journeys` and the tests'
    state folder, where no `journeys dev` runs (conftest.py)."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("JOURNEYS_")}
    env["JOURNEYS_STATE_DIR"] = os.environ["JOURNEYS_STATE_DIR"]
    return env | {f"JOURNEYS_{k.upper()}": v for k, v in journeys.items()}


def _signed_with(token: str, secret: str) -> bool:
    try:
        TokenVerifier(Settings(jwt_secret=SecretStr(secret))).verify(token)
    except TokenError:
        return False
    return True


def test_token_prints_a_staff_token_the_api_accepts() -> None:
    result = journeys_command("token", "--role", "reviewer", "--name", "Omar Haddad")
    assert result.returncode == 0, result.stderr
    principal = TokenVerifier(Settings()).verify(result.stdout.strip())
    assert principal.actor.role is Role.REVIEWER
    assert principal.actor.id == "omar-haddad"
    assert principal.name == "Omar Haddad"


def test_token_refuses_an_unknown_role() -> None:
    result = journeys_command("token", "--role", "janitor", "--name", "X")
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
        return journeys_command("audit", "verify", env=env)

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


def test_an_env_file_gives_what_the_environment_lacks_and_the_environment_wins(
    tmp_path: Path,
) -> None:
    in_file, in_environment = "secret-of-the-file-" + "f" * 32, "secret-of-the-shell-" + "e" * 32
    env_file = tmp_path / "journeys.env"
    env_file.write_text(
        f"# a development machine's settings\nJOURNEYS_ENVIRONMENT=development\n"
        f"JOURNEYS_JWT_SECRET='{in_file}'\n"
    )
    token = ("token", "--role", "reviewer", "--name", "Omar Haddad")

    from_file = journeys_command("--env-file", str(env_file), *token, env=_environment())
    assert from_file.returncode == 0, from_file.stderr
    assert _signed_with(from_file.stdout.strip(), in_file)

    shell = journeys_command(
        "--env-file", str(env_file), *token, env=_environment(jwt_secret=in_environment)
    )
    assert shell.returncode == 0, shell.stderr
    assert _signed_with(shell.stdout.strip(), in_environment)
    assert not _signed_with(shell.stdout.strip(), in_file)

    production = journeys_command(
        "--env-file", str(env_file), *token, env=_environment(environment="production")
    )
    assert production.returncode == 2 and production.stdout == ""
    assert "refuses in production" in production.stderr

    without = journeys_command(*token, env=_environment())
    assert without.returncode == 2 and "refuses in production" in without.stderr


def test_a_missing_env_file_or_setting_is_one_line_naming_it(tmp_path: Path) -> None:
    missing = journeys_command(
        "--env-file", str(tmp_path / "nowhere.env"), "migrate", env=_environment()
    )
    assert missing.returncode == 2
    assert missing.stderr == f"--env-file {tmp_path / 'nowhere.env'}: no such file\n"

    unset = journeys_command("audit", "verify", env=_environment(environment="development"))
    assert unset.returncode == 2 and unset.stdout == ""
    assert len(unset.stderr.splitlines()) == 1
    assert unset.stderr.startswith("JOURNEYS_DATABASE_URL is not set: set it, give --env-file")

    invalid = journeys_command("migrate", env=_environment(api_port="eighty"))
    assert invalid.returncode == 2
    assert len(invalid.stderr.splitlines()) == 1
    assert invalid.stderr.startswith("JOURNEYS_API_PORT: Input should be a valid integer")


BOOM = """
import sys

import cli


@cli.app.command("boom")
def boom() -> None:
    raise LookupError("the thing that was not there")


sys.argv = ["journeys", *sys.argv[1:]]
cli.main()
"""


@pytest.mark.parametrize(
    ("args", "log_level", "traceback"),
    [
        ((), "INFO", False),
        (("--debug",), "INFO", True),
        ((), "DEBUG", True),
    ],
)
def test_an_unexpected_error_is_one_line_unless_its_traceback_is_asked_for(
    args: tuple[str, ...], log_level: str, traceback: bool
) -> None:
    result = subprocess.run(
        [sys.executable, "-c", BOOM, *args, "boom"],
        cwd=ROOT,
        env=_environment(log_level=log_level),
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 1
    if traceback:
        assert "Traceback" in result.stderr
        assert "LookupError: the thing that was not there" in result.stderr
    else:
        assert result.stderr == (
            "journeys failed: LookupError: the thing that was not there "
            "(--debug or JOURNEYS_LOG_LEVEL=DEBUG shows the traceback)\n"
        )
