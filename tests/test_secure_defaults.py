"""Production unless told otherwise, and production refuses the development secrets.

The refusals must come before the API or the worker touches anything: the tests point them at
ports that record whether anyone connected.
"""

import asyncio
import os
import secrets
import socket
from collections.abc import Iterator
from typing import Any

import pytest
from pydantic import ValidationError

from api.app import create_app
from settings import (
    MAX_LINK_TTL_DAYS,
    MIN_SECRET_LENGTH,
    NEW_SECRET_COMMAND,
    PRODUCTION_SECRETS,
    InsecureSettings,
    Settings,
    env_name,
)
from tests.helpers import PRODUCTION_READY, journeys_command
from worker import run_worker

STRONG = {name: secrets.token_urlsafe(48) for name in PRODUCTION_SECRETS}


def production(**overrides: Any) -> Settings:
    """Production settings with strong secrets, Temporal over TLS and the rest production
    asks, but for what `overrides` says."""
    return Settings.model_validate(
        {"environment": "production", "temporal_tls": True} | PRODUCTION_READY | STRONG | overrides
    )


class Listener:
    """A loopback port that notes whether anything connected to it."""

    def __init__(self) -> None:
        self.sock = socket.socket()
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen(16)
        self.sock.setblocking(False)
        self.port = self.sock.getsockname()[1]

    @property
    def was_connected(self) -> bool:
        # The kernel completes a handshake without accept(), so a client that came and went
        # is still waiting in the backlog.
        try:
            conn, _ = self.sock.accept()
        except BlockingIOError:
            return False
        conn.close()
        return True


@pytest.fixture
def temporal_port() -> Iterator[Listener]:
    listener = Listener()
    yield listener
    listener.sock.close()


@pytest.fixture
def postgres_port() -> Iterator[Listener]:
    listener = Listener()
    yield listener
    listener.sock.close()


def _addresses(temporal: Listener, postgres: Listener) -> dict[str, str]:
    return {
        "temporal_address": f"127.0.0.1:{temporal.port}",
        "database_url": f"postgresql://journeys:journeys@127.0.0.1:{postgres.port}/journeys",
    }


def _unsafe_production(temporal: Listener, postgres: Listener) -> Settings:
    """Production on the development secrets, its services at these listeners."""
    return Settings.model_validate({"environment": "production"} | _addresses(temporal, postgres))


def test_the_environment_is_production_unless_set(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("JOURNEYS_ENVIRONMENT", raising=False)
    assert Settings().environment == "production"
    monkeypatch.setenv("JOURNEYS_ENVIRONMENT", "development")
    assert Settings().environment == "development"


def test_the_defaults_are_refused_in_production(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("JOURNEYS_ENVIRONMENT", raising=False)
    with pytest.raises(InsecureSettings) as refused:
        Settings().check_secrets()
    message = str(refused.value)
    for name in PRODUCTION_SECRETS:
        assert env_name(name) in message
    assert NEW_SECRET_COMMAND in message


@pytest.mark.parametrize("name", PRODUCTION_SECRETS)
def test_each_development_secret_is_refused_by_its_variable(name: str) -> None:
    unset = Settings.model_validate(
        {"environment": "production", "temporal_tls": True}
        | PRODUCTION_READY
        | {o: STRONG[o] for o in PRODUCTION_SECRETS if o != name}
    )
    assert unset.production_problems() == [
        f"{env_name(name)} is unset or has its development value"
    ]
    development_value = Settings.model_fields[name].default.get_secret_value()
    assert production(**{name: development_value}).production_problems() == [
        f"{env_name(name)} is unset or has its development value"
    ]
    with pytest.raises(InsecureSettings, match=env_name(name)) as refused:
        unset.check_secrets()
    assert NEW_SECRET_COMMAND in str(refused.value)
    for other in PRODUCTION_SECRETS:
        if other != name:
            assert env_name(other) not in str(refused.value)


@pytest.mark.parametrize("name", PRODUCTION_SECRETS)
@pytest.mark.parametrize(
    ("value", "problem"),
    [
        ("", "is empty"),
        ("   ", "is empty"),
        ("x" * (MIN_SECRET_LENGTH - 1), f"at least {MIN_SECRET_LENGTH} are needed"),
    ],
)
def test_empty_and_short_secrets_are_refused(name: str, value: str, problem: str) -> None:
    (found,) = production(**{name: value}).production_problems()
    assert found.startswith(env_name(name)) and problem in found


def test_strong_secrets_pass() -> None:
    assert production().production_problems() == []
    production().check_secrets()
    assert (
        production(**{name: "x" * MIN_SECRET_LENGTH for name in STRONG}).production_problems() == []
    )


def test_production_needs_no_staff_token_secret() -> None:
    # Production verifies staff tokens against the OIDC issuer's key set alone and refuses any
    # HS256 token (tests/test_oidc_tokens.py), so the development secret signs nothing it takes.
    assert "jwt_secret" not in PRODUCTION_SECRETS
    assert (
        production(jwt_secret=Settings.model_fields["jwt_secret"].default).production_problems()
        == []
    )


@pytest.mark.parametrize(
    ("overrides", "problem"),
    [
        ({"public_base_url": "http://journeys.example.org"}, "JOURNEYS_PUBLIC_BASE_URL is http://"),
        ({"public_base_url": "http://127.0.0.1:8000"}, "JOURNEYS_PUBLIC_BASE_URL is http://127"),
        (
            {"smtp_host": "relay.example.org", "smtp_security": "none"},
            "JOURNEYS_SMTP_SECURITY is none, so emails (patients' names and links) would reach "
            "relay.example.org in the clear",
        ),
        ({"oidc_jwks_url": None}, "JOURNEYS_OIDC_JWKS_URL unset: production accepts only"),
        ({"oidc_issuer": ""}, "JOURNEYS_OIDC_ISSUER unset"),
        (
            {"oidc_issuer": None, "oidc_audience": None},
            "JOURNEYS_OIDC_ISSUER, JOURNEYS_OIDC_AUDIENCE unset",
        ),
        ({"caldav_password": "journeys"}, "JOURNEYS_CALDAV_PASSWORD is unset or has its"),
        ({"caldav_password": " "}, "JOURNEYS_CALDAV_PASSWORD is empty"),
        (
            {"database_url": "postgresql://journeys_app:@db.internal:5432/journeys"},
            "JOURNEYS_DATABASE_URL has an empty password",
        ),
        (
            {"database_url": "postgresql://journeys_app:CHANGE-ME@db.internal/journeys"},
            "JOURNEYS_DATABASE_URL has a well-known password",
        ),
        (
            {"database_owner_url": "postgresql://owner@db.internal/journeys?password=postgres"},
            "JOURNEYS_DATABASE_OWNER_URL has a well-known password",
        ),
    ],
)
def test_production_refuses_plaintext_and_guessable_connections(
    overrides: dict[str, Any], problem: str
) -> None:
    (found,) = production(**overrides).production_problems()
    assert found.startswith(problem), found
    assert "CHANGE-ME" not in found


@pytest.mark.parametrize(
    "overrides",
    [
        # A relay on this host: the emails do not cross the network.
        {"smtp_host": "127.0.0.1", "smtp_security": "none"},
        {"smtp_host": "localhost", "smtp_security": "none"},
        {"smtp_host": "relay.example.org", "smtp_security": "starttls"},
        # Over a Unix socket PostgreSQL may know the user from the system (peer).
        {"database_url": "postgresql://journeys_app:@/journeys?host=/run/postgresql"},
        # No password at all: libpq's password file, PGPASSWORD or a client certificate.
        {"database_url": "postgresql://journeys_app@db.internal/journeys?sslmode=verify-full"},
        {"database_url": "postgresql://journeys_app:a-long-password-of-its-own@db.internal/j"},
    ],
)
def test_production_takes_connections_that_keep_data_private(overrides: dict[str, Any]) -> None:
    assert production(**overrides).production_problems() == []


def test_development_accepts_the_development_secrets() -> None:
    development = Settings(environment="development")
    assert development.production_problems() == []
    development.check_secrets()


async def test_the_api_refuses_to_start_in_production_before_connecting(
    temporal_port: Listener, postgres_port: Listener
) -> None:
    app = create_app(_unsafe_production(temporal_port, postgres_port))
    with pytest.raises(InsecureSettings, match="JOURNEYS_AUDIT_KEY"):
        async with app.router.lifespan_context(app):
            pass
    assert not postgres_port.was_connected
    assert not temporal_port.was_connected


async def test_the_worker_refuses_to_start_in_production_before_connecting(
    temporal_port: Listener, postgres_port: Listener
) -> None:
    with pytest.raises(InsecureSettings, match="JOURNEYS_LINK_SECRET"):
        await run_worker(_unsafe_production(temporal_port, postgres_port))
    assert not postgres_port.was_connected
    assert not temporal_port.was_connected


def _unset_environment(**journeys: str) -> dict[str, str]:
    """This process's environment without any JOURNEYS_ variable but `journeys` and the
    state folder (conftest.py: no `journeys dev` runs there to fill in the rest)."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("JOURNEYS_")}
    env["JOURNEYS_STATE_DIR"] = os.environ["JOURNEYS_STATE_DIR"]
    return env | {f"JOURNEYS_{k.upper()}": v for k, v in journeys.items()}


@pytest.mark.parametrize("command", [["worker"], ["api"], ["patient-link", "some-journey"]])
async def test_the_commands_exit_2_with_the_message_in_production(
    command: list[str], temporal_port: Listener, postgres_port: Listener
) -> None:
    env = _unset_environment(**_addresses(temporal_port, postgres_port))
    done = await asyncio.to_thread(journeys_command, *command, env=env)
    assert done.returncode == 2, done.stdout + done.stderr
    assert "Traceback" not in done.stderr
    assert "refusing to start in production" in done.stderr
    for name in PRODUCTION_SECRETS:
        assert env_name(name) in done.stderr
    assert NEW_SECRET_COMMAND in done.stderr
    assert not postgres_port.was_connected
    assert not temporal_port.was_connected


async def test_token_refuses_in_production_even_with_strong_secrets() -> None:
    env = _unset_environment(**STRONG)
    done = await asyncio.to_thread(
        journeys_command, "token", "--role", "coordinator", "--name", "Eve", env=env
    )
    assert done.returncode == 2
    assert done.stdout == ""
    assert "refuses in production" in done.stderr
    assert "JOURNEYS_ENVIRONMENT=development" in done.stderr


@pytest.mark.parametrize("days", [0, MAX_LINK_TTL_DAYS + 1, 3650])
def test_a_patient_link_lives_at_most_half_a_year(days: int) -> None:
    with pytest.raises(ValidationError, match="link_ttl_days"):
        Settings(environment="development", link_ttl_days=days)
    assert Settings(environment="development", link_ttl_days=MAX_LINK_TTL_DAYS).link_ttl_days == (
        MAX_LINK_TTL_DAYS
    )
