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
