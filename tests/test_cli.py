"""The `journeys` command as a person types it."""

import subprocess
import sys

from api.tokens import TokenVerifier
from domain.actors import Role
from settings import Settings


def _journeys(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "cli", *args], capture_output=True, text=True, timeout=60
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
